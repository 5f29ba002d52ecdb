"""Relational checks: children-per-parent distributions, orphans and duplicate keys of the synthetic data.

The children-per-parent distribution of a foreign key counts, for every parent row, how many child
rows reference it, zero-child parents included (a grouped count of the child keys, left-joined to
the parent keys). Both sides are computed in one job by stacking them; only the histogram of the
counts (capped at `max_count`) reaches the driver. Orphans and duplicate keys reuse
`integrity.check_foreign_key` (left-anti join) and `integrity.duplicate_key_count`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark_synth.validation.integrity import (
    check_foreign_key,
    duplicate_key_count,
    null_key_failures,
    null_key_rows,
)
from pyspark_synth.validation.kinds import quoted
from pyspark_synth.validation.metrics import ks_from_counts, tvd_from_counts

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pyspark_synth.metadata import ForeignKey

__all__ = ["check_synthetic_keys", "child_count_histograms", "compare_child_counts", "duplicate_keys"]


def child_count_histograms(
    real: tuple[DataFrame, DataFrame], synthetic: tuple[DataFrame, DataFrame], fk: ForeignKey, *, max_count: int = 10000
) -> tuple[dict[int, int], dict[int, int]]:
    """{children per parent: number of parents} of both sides for one foreign key.

    Args:
        real: (parent, child) DataFrames of the real data.
        synthetic: (parent, child) DataFrames of the synthetic data.
        fk: The child's foreign key.
        max_count: Counts above this are reported as `max_count` (keeps the result bounded).
    """
    from pyspark.sql import functions as F

    keys = [f"k{i}" for i in range(len(fk.columns))]
    parents = None
    children = None
    for side, (parent, child) in enumerate((real, synthetic)):
        p = parent.select(F.lit(side).alias("side"), *[quoted(c).alias(k) for c, k in zip(fk.parent_columns, keys, strict=False)])
        not_null = F.lit(True)
        for c in fk.columns:
            not_null = not_null & quoted(c).isNotNull()
        ch = (
            child.where(not_null)
            .select(F.lit(side).alias("side"), *[quoted(c).alias(k) for c, k in zip(fk.columns, keys, strict=False)])
            .groupBy("side", *keys)
            .agg(F.count(F.lit(1)).alias("n"))
        )
        parents = p if parents is None else parents.unionByName(p)
        children = ch if children is None else children.unionByName(ch)
    rows = (
        parents.join(children, on=["side", *keys], how="left")
        .select("side", F.least(F.coalesce(F.col("n"), F.lit(0)), F.lit(max_count)).alias("n"))
        .groupBy("side", "n")
        .count()
        .collect()
    )
    out: tuple[dict[int, int], dict[int, int]] = ({}, {})
    for r in rows:
        out[int(r["side"])][int(r["n"])] = int(r["count"])
    return out


def compare_child_counts(real: dict[int, int], synthetic: dict[int, int]) -> dict[str, Any]:
    """KS and TVD of two children-per-parent histograms, with both means and zero-child shares."""
    values = sorted(set(real) | set(synthetic))
    ks, _ = ks_from_counts([(v, real.get(v, 0), synthetic.get(v, 0), True) for v in values])

    def mean(h: dict[int, int]) -> float | None:
        n = sum(h.values())
        return sum(k * v for k, v in h.items()) / n if n else None

    def zero(h: dict[int, int]) -> float | None:
        n = sum(h.values())
        return h.get(0, 0) / n if n else None

    return {
        "ks": ks,
        "tvd": tvd_from_counts(real, synthetic),
        "mean": [mean(real), mean(synthetic)],
        "zero_share": [zero(real), zero(synthetic)],
        "real": {str(k): v for k, v in sorted(real.items())},
        "synthetic": {str(k): v for k, v in sorted(synthetic.items())},
    }


def check_synthetic_keys(table: str, child: DataFrame, parent: DataFrame, fk: ForeignKey,
                         real_child: DataFrame | None = None) -> dict[str, Any]:
    """Orphans of one synthetic foreign key (left-anti join), as a plain dict; with the real child
    table also its null check: `null_failures`, the synthetic rows whose key is null where no real
    row's is (see `integrity.null_key_failures`), and `real_null_rows`."""
    check = check_foreign_key(table, child, parent, fk)
    out = check.to_dict()
    if real_child is not None:
        real_nulls = null_key_rows(real_child, fk.columns)
        out["real_null_rows"] = real_nulls
        out["null_failures"] = null_key_failures(real_nulls, check)
    return out


def duplicate_keys(df: DataFrame, key: tuple[str, ...]) -> int:
    """Rows of `df` whose primary key value repeats."""
    return duplicate_key_count(df, list(key))
