"""Column metrics as Spark aggregations: profiles, shared-grid KS for numbers, TVD for categories.

Both sides are stacked into one DataFrame (`stack_sides`: a `__side` column, 0 real, 1 synthetic,
2 holdout, and the compared columns renamed c0, c1, ... as double or string) so that each
statistic needs one pass over both tables:

1. `profile_aggs` / `parse_profile`: grouped by side, row and null counts, mean, std, min, max
   and `percentile_approx` quantiles (min and max included); the grid is both sides' quantiles.
2. `frequency_frame` / `parse_frequencies`: one grouped count per (column, bin or category) with
   both sides' counts in one aggregation; only bounded rows reach the driver.

The KS statistic is computed from the two CDFs on a shared grid: the distinct values e_0 < ... <
e_m-1 of both sides' quantiles. Every row falls either exactly on an edge (an atom, counted
exactly) or in the open interval between two edges. At every edge both CDFs are exact, so the
statistic there, D_grid, is a lower bound of the exact two-sample statistic D, and
D <= D_grid + bound, where the bound is the largest CDF gap a non-empty open interval can hide (at
most the largest interval mass on either side). Columns whose values are all grid edges (few
distinct values) therefore get the exact statistic with bound 0.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pyspark_synth.validation.kinds import ColumnKind, category_expr, numeric_expr

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame

__all__ = [
    "QUANTILES",
    "grid_positions",
    "frequency_frame",
    "ks_from_counts",
    "ks_pvalue",
    "parse_frequencies",
    "parse_profile",
    "profile_aggs",
    "stack_sides",
    "tvd_from_counts",
]

SIDE = "__side"
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def ref(i: int) -> str:
    """The stacked frame's name for the i-th compared column."""
    return f"c{i}"


def stack_sides(frames: list[DataFrame | None], cols: list[ColumnKind]) -> DataFrame:
    """Stack real (0), synthetic (1) and optionally holdout (2) with the compared columns as c0, c1, ...

    Numerical and datetime columns become doubles (NaN as null), categorical and boolean columns
    strings, so sides whose Spark types differ (int vs double) still line up.
    """
    from pyspark.sql import functions as F

    out = None
    for side, df in enumerate(frames):
        if df is None:
            continue
        exprs = [F.lit(side).alias(SIDE)]
        exprs += [
            (F.nanvl(numeric_expr(c), F.lit(None).cast("double")) if c.is_numeric else category_expr(c)).alias(ref(i))
            for i, c in enumerate(cols)
        ]
        part = df.select(*exprs)
        out = part if out is None else out.unionByName(part)
    if out is None:
        raise ValueError("stack_sides needs at least one DataFrame")
    return out


def profile_aggs(cols: list[ColumnKind], *, bins: int = 200, accuracy: int = 10000) -> list[SparkColumn]:
    """Aggregate expressions of the one-pass profile, grouped by side (see `parse_profile`).

    Each numerical column gets its count, mean, std, min, max and `bins`-quantiles (min and max
    included) per side; the grid is the union of both sides' quantiles.
    """
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("n")]
    probs = [k / bins for k in range(bins + 1)]
    for i, c in enumerate(cols):
        x = F.col(ref(i))
        aggs.append(F.count(x).alias(f"nn_{i}"))
        if c.is_numeric:
            aggs += [
                F.mean(x).alias(f"mean_{i}"),
                F.stddev_samp(x).alias(f"std_{i}"),
                F.min(x).alias(f"min_{i}"),
                F.max(x).alias(f"max_{i}"),
                F.percentile_approx(x, probs, accuracy).alias(f"grid_{i}"),
            ]
    return aggs


def parse_profile(rows: list[Any], cols: list[ColumnKind]) -> dict[str, Any]:
    """The profile rows (one per side) as {"n": [real, synthetic, holdout rows], "columns": [...]}."""
    by_side = {int(r[SIDE]): r for r in rows}

    def get(side: int, key: str) -> Any:
        r = by_side.get(side)
        return None if r is None else r[key]

    out: dict[str, Any] = {"n": [int(get(s, "n") or 0) for s in (0, 1, 2)], "columns": []}
    for i, c in enumerate(cols):
        d: dict[str, Any] = {"non_null": [int(get(s, f"nn_{i}") or 0) for s in (0, 1)]}
        if c.is_numeric:
            for stat in ("mean", "std", "min", "max"):
                d[stat] = [_num(get(s, f"{stat}_{i}")) for s in (0, 1)]
            grid = set()
            for s in (0, 1):
                grid.update(float(v) for v in (get(s, f"grid_{i}") or []) if v is not None and math.isfinite(v))
            d["grid"] = sorted(grid)
        out["columns"].append(d)
    return out


def _num(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def grid_positions(df: DataFrame, columns: dict[str, list[float]]) -> DataFrame:
    """Add `<name>__pos` for each column: its position on its sorted grid `edges`.

    Positions alternate intervals and edges: 1 below the first edge, 2k + 2 on edge k, 2k + 3
    strictly between edge k and edge k+1; null when the value is null. The bucket comes from
    Spark ML's Bucketizer (a binary search in the JVM), the edge test from one array lookup.
    """
    from pyspark.ml.feature import Bucketizer
    from pyspark.sql import functions as F

    if not columns:
        return df
    names = list(columns)
    splits = [[float("-inf"), *columns[n], float("inf")] for n in names]
    bucketed = Bucketizer(
        splitsArray=splits, inputCols=names, outputCols=[f"{n}__b" for n in names], handleInvalid="keep"
    ).transform(df)
    out = []
    for n in names:
        b = F.col(f"{n}__b").cast("int")
        edges = F.expr("array(" + ", ".join(f"{e!r}D" for e in columns[n]) + ")")
        on_edge = (b >= 1) & (F.element_at(edges, F.greatest(b, F.lit(1))) == F.col(n))
        out.append(F.when(F.col(n).isNotNull(), F.when(on_edge, 2 * b).otherwise(2 * b + 1)).alias(f"{n}__pos"))
    return bucketed.select(*df.columns, *out)


def frequency_frame(
    stacked: DataFrame,
    cols: list[ColumnKind],
    profile: dict[str, Any],
    *,
    max_categories: int = 50,
    list_limit: int = 20,
) -> tuple[DataFrame, list[str]]:
    """One grouped count per (column, grid position or category) with both sides' counts, bounded for the driver.

    Numerical columns are counted per position on their union grid (see `grid_positions`), so at most
    2 * bins + 1 rows each; categorical columns per category (nulls are counted in the profile). Each
    categorical column's TVD (over non-null values, and with null as a category), its numbers of
    missing and invented categories are
    computed in Spark (window sums), so only the top `max_categories` categories and up to
    `list_limit` missing and invented ones per column are returned.

    Returns:
        The frame to collect, and each column's mode ("grid" or "category").
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    n_r, n_s = max(profile["n"][0], 1), max(profile["n"][1], 1)
    modes: list[str] = []
    entries = []
    grids = {ref(i): profile["columns"][i].get("grid") or [] for i, c in enumerate(cols) if c.is_numeric}
    grids = {k: g for k, g in grids.items() if g}
    positioned = grid_positions(stacked.where(F.col(SIDE) < 2), grids)
    for i, c in enumerate(cols):
        x = F.col(ref(i))
        if not c.is_numeric:
            mode, v = "category", x
        elif ref(i) in grids:
            mode, v = "grid", F.col(f"{ref(i)}__pos").cast("string")
        else:
            mode, v = "grid", F.lit(None).cast("string")
        modes.append(mode)
        entries.append(F.struct(F.lit(i).alias("c"), F.when(x.isNotNull(), v).alias("v")))
    exploded = positioned.select(F.col(SIDE), F.explode(F.array(*entries)).alias("e"))
    counts = (
        exploded.where(F.col("e.v").isNotNull())
        .groupBy(F.col("e.c").alias("c"), F.col("e.v").alias("v"))
        .agg(
            F.sum(F.when(F.col(SIDE) == 0, 1).otherwise(0)).alias("nr"),
            F.sum(F.when(F.col(SIDE) == 1, 1).otherwise(0)).alias("ns"),
        )
    )
    whole = Window.partitionBy("c")
    diff = F.abs(F.col("nr") / F.lit(float(n_r)) - F.col("ns") / F.lit(float(n_s)))
    # shares among the column's non-null values (SDMetrics' TVComplement drops nulls)
    non_null = [[float(max(profile["columns"][i]["non_null"][s], 1)) for i in range(len(cols))] for s in (0, 1)]
    nn_r = F.element_at(F.array(*[F.lit(v) for v in non_null[0]]), F.col("c") + 1)
    nn_s = F.element_at(F.array(*[F.lit(v) for v in non_null[1]]), F.col("c") + 1)
    diff_nn = F.abs(F.col("nr") / nn_r - F.col("ns") / nn_s)
    share = F.greatest(F.col("nr") / F.lit(float(n_r)), F.col("ns") / F.lit(float(n_s)))
    cat_ids = [i for i, m in enumerate(modes) if m == "category"]
    ranked = counts.select(
        "c",
        "v",
        "nr",
        "ns",
        F.sum(diff).over(whole).alias("tvd_part"),
        F.sum(diff_nn).over(whole).alias("tvd_part_nn"),
        F.sum(F.when(F.col("ns") == 0, 1).otherwise(0)).over(whole).alias("n_missing"),
        F.sum(F.when(F.col("nr") == 0, 1).otherwise(0)).over(whole).alias("n_invented"),
        F.count(F.lit(1)).over(whole).alias("n_cats"),
        F.row_number().over(whole.orderBy(share.desc(), F.col("v"))).alias("rk"),
        F.row_number()
        .over(whole.orderBy((F.col("ns") == 0).desc(), F.col("nr").desc(), F.col("v")))
        .alias("rk_missing"),
        F.row_number()
        .over(whole.orderBy((F.col("nr") == 0).desc(), F.col("ns").desc(), F.col("v")))
        .alias("rk_invented"),
    )
    keep = (
        ~F.col("c").isin(cat_ids)
        | (F.col("rk") <= max_categories)
        | ((F.col("ns") == 0) & (F.col("rk_missing") <= list_limit))
        | ((F.col("nr") == 0) & (F.col("rk_invented") <= list_limit))
    )
    if not cat_ids:
        keep = F.lit(True)
    out = ranked.where(keep).select(
        "c", "v", "nr", "ns", "tvd_part", "tvd_part_nn", "n_missing", "n_invented", "n_cats", "rk"
    )
    return out, modes


def ks_from_counts(points: list[tuple[float, int, int, bool]]) -> tuple[float, float]:
    """The KS statistic and its error bound from counts of both sides along a shared grid.

    Args:
        points: (position, real count, synthetic count, is_atom) sorted by position; an atom is a
            single value, anything else an open interval whose inside is not resolved.

    Returns:
        (D evaluated at the grid, bound) with D <= exact KS <= D + bound.
    """
    nr = sum(p[1] for p in points)
    ns = sum(p[2] for p in points)
    if nr == 0 or ns == 0:
        return float("nan"), 0.0
    fr = fs = 0.0
    d_grid = d_upper = 0.0
    for _, r, s, atom in points:
        lo_r, lo_s = fr, fs
        fr += r / nr
        fs += s / ns
        d_grid = max(d_grid, abs(fr - fs))
        if not atom:
            d_upper = max(d_upper, fr - lo_s, fs - lo_r)
    return d_grid, max(d_upper - d_grid, 0.0)


def ks_pvalue(d: float, n: int, m: int) -> float:
    """Asymptotic p-value of a two-sample KS statistic (Kolmogorov distribution); not a pass criterion:
    at Spark sizes any visible difference is "significant"."""
    from scipy.special import kolmogorov

    if n == 0 or m == 0 or not math.isfinite(d):
        return float("nan")
    en = math.sqrt(n * m / (n + m))
    return float(kolmogorov((en + 0.12 + 0.11 / en) * d))


def quantile_from_points(points: list[tuple[int, int, int, bool]], grid: list[float], q: float, side: int) -> float | None:
    """Quantile `q` of one side (1 real, 2 synthetic) from its grid counts: exact on an edge, linear
    inside an interval (so within one interval of the exact value)."""
    total = sum(p[side] for p in points)
    if total == 0 or not grid:
        return None
    target = q * total
    cum = 0.0
    for p in points:
        pos, n = p[0], p[side]
        if n and cum + n >= target:
            if pos % 2 == 0:
                return grid[pos // 2 - 1]
            k = (pos - 1) // 2 - 1  # the interval (grid[k], grid[k+1])
            lo = grid[max(k, 0)]
            hi = grid[min(k + 1, len(grid) - 1)]
            return lo + (hi - lo) * (target - cum) / n
        cum += n
    return grid[-1]


def tvd_from_counts(real: dict[Any, float], synthetic: dict[Any, float]) -> float:
    """Total variation distance of two count tables (keys missing on one side count as 0)."""
    tr, ts = sum(real.values()), sum(synthetic.values())
    if tr == 0 or ts == 0:
        return float("nan")
    keys = set(real) | set(synthetic)
    return 0.5 * sum(abs(real.get(k, 0) / tr - synthetic.get(k, 0) / ts) for k in keys)


def parse_frequencies(
    rows: list[Any], cols: list[ColumnKind], modes: list[str], profile: dict[str, Any]
) -> list[dict[str, Any]]:
    """Turn the collected frequency rows into per-column results.

    Numerical columns get "ks", "ks_error_bound" and "points" [(position, real, synthetic, atom)];
    categorical columns get "tvd" over the non-null values (each side's shares among its non-null
    rows, as SDMetrics' TVComplement; NaN when a side has none), "tvd_with_nulls" (null as one more
    category, shares among all rows), "categories" (top ones by share),
    "missing" and "invented" (bounded lists, largest first) with their full counts.
    """
    n_r, n_s = profile["n"][0], profile["n"][1]
    by_col: dict[int, list[Any]] = {i: [] for i in range(len(cols))}
    for r in rows:
        by_col[int(r["c"])].append(r)
    out: list[dict[str, Any]] = []
    for i, c in enumerate(cols):
        rs = by_col[i]
        prof = profile["columns"][i]
        null_r, null_s = n_r - prof["non_null"][0], n_s - prof["non_null"][1]
        d: dict[str, Any] = {"mode": modes[i]}
        if c.is_numeric:
            pts = sorted((int(r["v"]), int(r["nr"]), int(r["ns"]), int(r["v"]) % 2 == 0) for r in rs)
            ks, bound = ks_from_counts(pts)
            d.update(ks=ks, ks_error_bound=bound, points=pts)
            grid = prof.get("grid") or []
            prof["quantiles"] = [[quantile_from_points(pts, grid, q, side) for q in QUANTILES] for side in (1, 2)]
        else:
            tvd_part = float(rs[0]["tvd_part"]) if rs else 0.0
            nulls = abs(null_r / max(n_r, 1) - null_s / max(n_s, 1))
            nn_r, nn_s = prof["non_null"]
            d["tvd"] = 0.5 * float(rs[0]["tvd_part_nn"]) if (rs and nn_r and nn_s) else float("nan")
            d["tvd_with_nulls"] = 0.5 * (tvd_part + nulls) if (n_r and n_s) else float("nan")
            d["n_categories"] = int(rs[0]["n_cats"]) if rs else 0
            d["n_missing"] = int(rs[0]["n_missing"]) if rs else 0
            d["n_invented"] = int(rs[0]["n_invented"]) if rs else 0
            top = sorted((r for r in rs if r["nr"] > 0 or r["ns"] > 0), key=lambda r: int(r["rk"]))
            d["categories"] = [(r["v"], int(r["nr"]), int(r["ns"])) for r in top]
            d["missing"] = [r["v"] for r in sorted((r for r in rs if r["ns"] == 0), key=lambda r: (-r["nr"], r["v"]))]
            d["invented"] = [r["v"] for r in sorted((r for r in rs if r["nr"] == 0), key=lambda r: (-r["ns"], r["v"]))]
            if null_r or null_s:
                d["categories"].append((None, null_r, null_s))
                if null_s == 0 and null_r:
                    d["missing"].append(None)
                    d["n_missing"] += 1
                if null_r == 0 and null_s:
                    d["invented"].append(None)
                    d["n_invented"] += 1
        out.append(d)
    return out
