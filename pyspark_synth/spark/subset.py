"""A consistent subset of a database to fit on: the large tables sampled, their descendants kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError
from pyspark_synth.relational.plan import Plan
from pyspark_synth.seeds import derive_seed

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["relational_sample"]

_log = get_logger("subset")
_MIN_SAMPLED_ROWS = 1000


def _sample_points(plan: Plan, counts: dict[str, int], f: float) -> list[str]:
    """Tables to sample directly: for each big table, the top-most ancestor on its driving chain
    that still keeps enough rows at fraction f (small lookup parents above it are kept whole, so a
    fact table under a few parents is not wiped out)."""
    points: list[str] = []
    covered: set[str] = set()
    # big enough to sample: keeps 1,000 rows, or (in a small database) a tenth of the largest sample
    floor = max(1.0, min(_MIN_SAMPLED_ROWS, max(counts.values()) * f / 10))
    for name in sorted(plan.order, key=lambda t: -counts[t]):
        if counts[name] * f < floor:
            continue  # small tables (lookups) are kept whole
        chain = [name]
        while plan.tables[chain[-1]].driving is not None and plan.tables[chain[-1]].driving.parent_table not in chain:
            chain.append(plan.tables[chain[-1]].driving.parent_table)
        if covered & set(chain):
            continue
        big = [t for t in chain if counts[t] * f >= floor]
        points.append(big[-1])
        covered.add(big[-1])
    return points


def _bernoulli(df: DataFrame, f: float, *, seed: int, stratify_by: str | None) -> DataFrame:
    """Each row kept with probability `f`, decided by a keyed hash of its values (so the subset does
    not depend on partitioning). With `stratify_by`, every value of that column also keeps at
    least one row (its row with the smallest number), so no stratum is lost by chance."""
    from pyspark.sql import functions as F

    from pyspark_synth.spark.fit_table import _row_uniform

    u = _row_uniform(df, seed)
    if not stratify_by or stratify_by not in df.columns:
        return df.where(u < F.lit(f))
    marked = df.select("*", u.alias("__u"))
    first = marked.groupBy(F.col(f"`{stratify_by}`").alias("__stratum")).agg(F.min("__u").alias("__first"))
    joined = marked.join(first, on=F.col(f"`{stratify_by}`").eqNullSafe(F.col("__stratum")), how="left")
    return joined.where((F.col("__u") < F.lit(f)) | (F.col("__u") == F.col("__first"))).drop("__u", "__stratum", "__first")


def relational_sample(
    plan: Plan,
    frames: dict[str, DataFrame],
    sample_size: int,
    *,
    stratify_by: str | None = None,
    seed: int = 0,
) -> dict[str, DataFrame]:
    """A consistent subset of the database of about `sample_size` rows in all.

    With f = sample_size / (rows of all tables): for each big table, the top-most ancestor on its
    driving-parent chain that keeps at least 1,000 rows at fraction f (in small databases: a tenth
    of the largest table's sampled size) is sampled; smaller tables are kept whole (a root in a
    classic hierarchy; the fact table's nearest big parent in a star schema). Tables above the
    sampled ones are kept whole. Every table below keeps all rows whose foreign keys point at kept
    parent rows (left-semi joins following every FK path of the DAG, parents first), so each kept
    parent keeps all its children (child counts stay true) and every kept key resolves.

    Args:
        plan: The generation plan (parents-first order).
        frames: `{table: DataFrame}`.
        sample_size: Target total rows.
        stratify_by: A column of the sampled tables: each of its values keeps about the fraction
            f of its rows and at least one, so rare strata are not lost by chance.
        seed: Sampling seed.
    """
    from pyspark.sql import functions as F

    if sample_size <= 0:
        raise DataError(f"sample_size must be positive, got {sample_size}")
    counts = {name: frames[name].count() for name in plan.order}
    total = sum(counts.values())
    if total <= sample_size:
        return dict(frames)
    f = sample_size / total
    points = set(_sample_points(plan, counts, f))
    out = dict(frames)
    reduced: set[str] = set()
    for name in plan.order:
        t = plan.tables[name].table
        df = frames[name]
        for fk in t.foreign_keys:
            if fk.parent_table not in reduced or fk.parent_table == name:
                continue
            keys = out[fk.parent_table].select(*[F.col(f"`{p}`").alias(f"__pk{i}") for i, p in enumerate(fk.parent_columns)])
            cond = None
            for i, c in enumerate(fk.columns):
                e = df["`" + c.replace("`", "``") + "`"] == keys[f"__pk{i}"]
                cond = e if cond is None else cond & e
            nulls = df.where(" OR ".join(f"`{c}` IS NULL" for c in fk.columns))
            df = df.join(keys, on=cond, how="left_semi").unionByName(nulls)
            reduced.add(name)
        if name in points:
            df = _bernoulli(df, f, seed=derive_seed(seed, name), stratify_by=stratify_by)
            reduced.add(name)
        out[name] = df
    _log.info("relational sample", fraction=f, sampled=sorted(points), reduced=sorted(reduced))
    return out
