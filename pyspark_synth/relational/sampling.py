"""Relational stratified sampling: sample the large roots, keep their descendants with semi-joins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError
from pyspark_synth.relational.plan import Plan

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["relational_sample"]

_log = get_logger("relational.sampling")
_MIN_SAMPLED_ROOT_ROWS = 100


def relational_sample(
    plan: Plan,
    frames: dict[str, DataFrame],
    sample_size: int,
    *,
    stratify_by: str | None = None,
    seed: int = 0,
) -> dict[str, DataFrame]:
    """A consistent subset of the database of about `sample_size` rows in all.

    The fraction f = sample_size / (rows of all tables) is applied to the root tables (tables
    without foreign keys) that are big enough to be sampled; small roots (lookup tables that would
    keep fewer than 100 rows) are kept whole. Every other table keeps only the rows whose foreign
    keys all point at kept parent rows (left-semi joins following every FK path of the DAG, in
    parents-first order), so every kept key still resolves.

    Args:
        plan: The generation plan (parents-first order).
        frames: `{table: DataFrame}`.
        sample_size: Target total rows.
        stratify_by: A column of the sampled roots: each of its values keeps the fraction f
            (Spark's `sampleBy`), so rare strata are not lost by chance.
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
    out = dict(frames)
    reduced: set[str] = set()
    for name in plan.order:
        t = plan.tables[name].table
        if not t.foreign_keys:
            if counts[name] * f < _MIN_SAMPLED_ROOT_ROWS:
                continue
            df = frames[name]
            if stratify_by and stratify_by in df.columns:
                values = [r[0] for r in df.select(stratify_by).distinct().limit(10_000).collect()]
                out[name] = df.sampleBy(stratify_by, {v: f for v in values}, seed=seed % 2**31)
            else:
                out[name] = df.sample(withReplacement=False, fraction=f, seed=seed % 2**31)
            reduced.add(name)
            continue
        df = frames[name]
        for fk in t.foreign_keys:
            if fk.parent_table not in reduced or fk.parent_table == name:
                continue
            keys = out[fk.parent_table].select(*[F.col(f"`{p}`").alias(f"__pk{i}") for i, p in enumerate(fk.parent_columns)])
            cond = None
            for i, c in enumerate(fk.columns):
                e = df[c] == keys[f"__pk{i}"]
                cond = e if cond is None else cond & e
            nulls = df.where(" OR ".join(f"`{c}` IS NULL" for c in fk.columns))
            df = df.join(keys, on=cond, how="left_semi").unionByName(nulls)
            reduced.add(name)
        out[name] = df
    _log.info("relational sample", fraction=f, sampled=sorted(reduced))
    return out
