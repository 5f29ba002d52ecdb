"""Column-pair trends as Spark aggregations: Pearson for numerical pairs, contingency tables otherwise.

Numerical pairs: both sides' Pearson correlations come from `corr` aggregates that run inside the
one-pass profile (`pearson_aggs`). Pairs with a categorical column: each column is coded into a
small number of codes (its top-k categories + "other" + null; a numerical column into 10
equal-width bins over the real range, as SDMetrics' quality report does), every row emits one
long per pair encoding (pair, code a, code b), and one grouped count gives all contingency tables
of both sides (`contingency_frame`). From them: the contingency similarity (1 - TVD of the joint
frequencies, SDMetrics' ContingencySimilarity) and Cramér's V of each side.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import TYPE_CHECKING, Any

from pyspark_synth.validation.kinds import ColumnKind
from pyspark_synth.validation.metrics import SIDE, ref

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame

__all__ = ["NUM_BINS", "contingency_frame", "cramers_v", "pair_list", "parse_contingency", "pearson_aggs"]

NUM_BINS = 10
_CODE_SPACE = 64  # codes per column are < 64, so a cell is pair * 64^2 + a * 64 + b


def pair_list(cols: list[ColumnKind], max_columns: int) -> list[tuple[int, int]]:
    """All pairs (i, j), i < j, of the first `max_columns` compared columns."""
    return list(combinations(range(min(len(cols), max_columns)), 2))


def pearson_aggs(cols: list[ColumnKind], pairs: list[tuple[int, int]]) -> list[SparkColumn]:
    """`corr` aggregates of the numerical pairs (pairwise complete rows), for the per-side profile."""
    from pyspark.sql import functions as F

    return [
        F.corr(F.col(ref(i)), F.col(ref(j))).alias(f"corr_{i}_{j}")
        for i, j in pairs
        if cols[i].is_numeric and cols[j].is_numeric
    ]


def _codes(i: int, col: ColumnKind, prof: dict[str, Any], freq: dict[str, Any], k: int) -> tuple[SparkColumn, int]:
    """The column coded as 0..n-1 (null gets the last code); returns (expression, number of codes)."""
    from pyspark.sql import functions as F

    x = F.col(ref(i))
    if col.is_numeric:
        lo, hi = prof["min"][0], prof["max"][0]
        if lo is None or hi is None or hi <= lo:
            code = F.when(x.isNotNull(), F.lit(1))
        else:
            width = (hi - lo) / NUM_BINS  # np.digitize over np.histogram_bin_edges: 0 below, 11 at/above max
            code = F.least(F.greatest(F.floor((x - F.lit(lo)) / F.lit(width)) + 1, F.lit(0)), F.lit(NUM_BINS + 1))
        return F.coalesce(code.cast("int"), F.lit(NUM_BINS + 2)), NUM_BINS + 3
    top = [v for v, nr, _ in freq.get("categories", []) if v is not None and nr > 0][:k]
    if not top:
        return F.when(x.isNull(), F.lit(1)).otherwise(F.lit(0)), 2
    args = []
    for n, v in enumerate(top):
        args += [F.lit(v), F.lit(n)]
    mapping = F.create_map(*args)
    code = F.when(x.isNull(), F.lit(len(top) + 1)).otherwise(F.coalesce(mapping[x], F.lit(len(top))))
    return code.cast("int"), len(top) + 2


def contingency_frame(
    stacked: DataFrame,
    cols: list[ColumnKind],
    pairs: list[tuple[int, int]],
    profile: dict[str, Any],
    freqs: list[dict[str, Any]],
    *,
    top_k: int = 20,
) -> tuple[DataFrame | None, list[tuple[int, int]], list[list[str]]]:
    """All contingency tables of the pairs with a categorical column, both sides, in one grouped count.

    Returns:
        (frame of (cell, real count, synthetic count) or None when no such pair,
         the contingency pairs in cell order, each column's code labels)
    """
    from pyspark.sql import functions as F

    top_k = min(top_k, _CODE_SPACE - 3)
    cont = [(i, j) for i, j in pairs if not (cols[i].is_numeric and cols[j].is_numeric)]
    labels: list[list[str]] = []
    exprs: dict[int, SparkColumn] = {}
    for i, c in enumerate(cols):
        expr, n = _codes(i, c, profile["columns"][i], freqs[i], top_k)
        exprs[i] = expr
        if c.is_numeric:
            labels.append([f"bin {b}" for b in range(NUM_BINS + 2)] + ["null"])
        else:
            top = [v for v, nr, _ in freqs[i].get("categories", []) if v is not None and nr > 0][:top_k]
            labels.append([str(v) for v in top][: n - 2] + ["(other)", "(null)"])
    if not cont:
        return None, cont, labels
    used = sorted({i for p in cont for i in p})
    coded = stacked.where(F.col(SIDE) < 2).select(F.col(SIDE), *[exprs[i].alias(f"k{i}") for i in used])
    cells = [
        (F.lit(p * _CODE_SPACE * _CODE_SPACE) + F.col(f"k{i}") * _CODE_SPACE + F.col(f"k{j}")).cast("long")
        for p, (i, j) in enumerate(cont)
    ]
    frame = (
        coded.select(F.col(SIDE), F.explode(F.array(*cells)).alias("cell"))
        .groupBy("cell")
        .agg(
            F.sum(F.when(F.col(SIDE) == 0, 1).otherwise(0)).alias("nr"),
            F.sum(F.when(F.col(SIDE) == 1, 1).otherwise(0)).alias("ns"),
        )
    )
    return frame, cont, labels


def cramers_v(table: dict[tuple[int, int], float]) -> float:
    """Cramér's V of a contingency table given as {(a, b): count} (0 for a degenerate table)."""
    n = sum(table.values())
    if n <= 0:
        return float("nan")
    rows: dict[int, float] = {}
    cols: dict[int, float] = {}
    for (a, b), v in table.items():
        rows[a] = rows.get(a, 0) + v
        cols[b] = cols.get(b, 0) + v
    rows = {a: v for a, v in rows.items() if v > 0}
    cols = {b: v for b, v in cols.items() if v > 0}
    k = min(len(rows), len(cols))
    if k < 2:
        return 0.0
    chi2 = 0.0
    for a, ra in rows.items():
        for b, cb in cols.items():
            e = ra * cb / n
            chi2 += (table.get((a, b), 0) - e) ** 2 / e
    return math.sqrt(chi2 / (n * (k - 1)))


def parse_contingency(rows: list[Any], cont: list[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
    """Per contingency pair: both sides' tables, the contingency similarity and both Cramér's V."""
    tables: dict[int, tuple[dict, dict]] = {p: ({}, {}) for p in range(len(cont))}
    space = _CODE_SPACE * _CODE_SPACE
    for r in rows:
        cell = int(r["cell"])
        p, rest = divmod(cell, space)
        a, b = divmod(rest, _CODE_SPACE)
        if p in tables:
            if r["nr"]:
                tables[p][0][(a, b)] = int(r["nr"])
            if r["ns"]:
                tables[p][1][(a, b)] = int(r["ns"])
    out = {}
    for p, pair in enumerate(cont):
        real, synth = tables[p]
        tr, ts = sum(real.values()), sum(synth.values())
        if tr and ts:
            keys = set(real) | set(synth)
            tvd = 0.5 * sum(abs(real.get(k, 0) / tr - synth.get(k, 0) / ts) for k in keys)
        else:
            tvd = float("nan")
        out[pair] = {"similarity": 1 - tvd, "v_real": cramers_v(real), "v_synthetic": cramers_v(synth)}
    return out
