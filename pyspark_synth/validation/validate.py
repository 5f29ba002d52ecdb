"""`validate`: compare synthetic tables with real ones at Spark scale and judge them against thresholds.

Per table, a handful of Spark jobs over both sides stacked together (see metrics.py): one
profile aggregation (counts, moments, quantiles, the union quantile grid and all Pearson
correlations), one grouped count of bins and categories, one grouped count of all contingency
tables, and for privacy one bounded sample and one hash semi-join. Per foreign key one job for the
children-per-parent distributions and the integrity checks of integrity.py. Detection (detection.py)
adds one sampling job per table (its children's aggregates joined in) and k small Spark ML fits on
that sample. Only aggregates and bounded samples reach the driver.

Lookup tables (lookups.py) are copied by design: their privacy checks are reported, not judged.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError
from pyspark_synth.validation import detection as _detection
from pyspark_synth.validation import pairs as _pairs
from pyspark_synth.validation import relational as _rel
from pyspark_synth.validation.kinds import ColumnKind, column_kinds
from pyspark_synth.validation.lookups import find_lookups, named_lookups
from pyspark_synth.validation.metrics import (
    QUANTILES,
    SIDE,
    frequency_frame,
    ks_pvalue,
    parse_frequencies,
    parse_profile,
    profile_aggs,
    stack_sides,
)
from pyspark_synth.validation.privacy_rows import privacy_rows
from pyspark_synth.validation.result import MetricRow, Thresholds, ValidationResult, mean_or_none

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pyspark_synth.metadata import Metadata, Table

__all__ = ["validate"]

_log = get_logger("validation")
_PLOT_BINS = 30
_PLOT_CATEGORIES = 12
_LIST_LIMIT = 20


def validate(
    real: DataFrame | Mapping[str, DataFrame],
    synthetic: DataFrame | Mapping[str, DataFrame],
    metadata: Metadata | None = None,
    *,
    thresholds: Thresholds | Mapping[str, float] | None = None,
    holdout: DataFrame | Mapping[str, DataFrame] | None = None,
    sample_rows: int = 5000,
    bins: int = 200,
    max_categories: int = 20,
    max_pair_columns: int = 30,
    pairs: bool = True,
    privacy: bool = True,
    seed: int = 0,
    cache: bool = True,
    lookup_tables: Iterable[str] | None = None,
    lookup_max_rows: int = 100,
    detection: bool = False,
    detection_rows: int = 2000,
    detection_folds: int = 5,
    detection_trees: int = 10,
) -> ValidationResult:
    """Compare synthetic data with real data: column shapes, pair trends, relations and privacy.

    Args:
        real: The real table as a DataFrame, or `{table: DataFrame}`.
        synthetic: The synthetic data, in the same form as `real`.
        metadata: Column types, keys and foreign keys; optional for single tables (numbers are
            then numerical, strings categorical, dates/timestamps datetime, booleans boolean).
            With it, id and text columns and key columns are not compared as distributions.
        thresholds: A Thresholds or a dict overriding some defaults (see Thresholds).
        holdout: Real rows not used for training, in the same form as `real`: the baseline of the
            privacy metrics (the holdout's own exact-copy rate and distances, the DCR share and
            the membership-inference attack). Without it, distances are reported but only exact
            copies are judged.
        sample_rows: Rows per side for the distance-to-closest-record sample.
        bins: Quantile bins of the shared grid the KS statistic is computed on (the error bound
            is at most about 2 / bins).
        max_categories: Categories per column kept as such in pair tables and privacy features
            (the rest are "other").
        max_pair_columns: Only pairs among the first this many compared columns are measured.
        pairs: Measure column-pair trends.
        privacy: Measure exact copies and distances to closest records (with a holdout also the
            DCR share and a membership-inference attack).
        seed: Seed of the privacy sample.
        cache: Persist each table's compared columns (both sides, memory and disk) while its
            checks run, so an input that is expensive to compute (a lazily generated synthetic
            table, a join) is computed once rather than once per check.
        lookup_tables: Tables to treat as lookup tables (copied by design: their privacy
            checks are reported, not judged), in addition to those found automatically.
        lookup_max_rows: Most real rows of an automatically found lookup table (a small code
            list in use: see the module docstring); 0 turns the automatic rule off.
        detection: Also measure how well a gradient-boosted classifier tells synthetic rows from
            real ones, per table (see detection.py). Off by default: with the defaults it costs
            about 200 small Spark jobs a table (seconds each table on an idle machine).
        detection_rows: Most rows per side in each table's detection sample.
        detection_folds: Folds of the detection's cross-validation (at least 2).
        detection_trees: Boosting iterations of each detection classifier.

    Returns:
        The ValidationResult (score, passed, rows, report data).

    Raises:
        DataError: The inputs are not both DataFrames or both dicts, or share no table, or
            `lookup_tables` names a table that is not in `real`.
        ValueError: A threshold name is unknown, or a size or count option is out of range.
    """
    th = Thresholds.of(dict(thresholds) if isinstance(thresholds, Mapping) else thresholds)
    for opt, value, least in (
        ("lookup_max_rows", lookup_max_rows, 0), ("detection_rows", detection_rows, 1),
        ("detection_folds", detection_folds, 2), ("detection_trees", detection_trees, 1),
    ):
        _check_count(opt, value, least)
    reals, synths, holds, single = _as_tables(real, synthetic, holdout, metadata)
    named = named_lookups(lookup_tables, reals)
    opts = {
        "sample_rows": int(sample_rows),
        "bins": int(bins),
        "max_categories": int(max_categories),
        "max_pair_columns": int(max_pair_columns),
        "pairs": bool(pairs),
        "privacy": bool(privacy),
        "seed": int(seed),
        "holdout": holds is not None,
        "cache": bool(cache),
        "lookup_max_rows": int(lookup_max_rows),
        "detection": bool(detection),
        "detection_rows": int(detection_rows),
        "detection_folds": int(detection_folds),
        "detection_trees": int(detection_trees),
    }
    lookups = find_lookups(reals, metadata, named, int(lookup_max_rows))
    rows: list[MetricRow] = []
    tables: dict[str, dict[str, Any]] = {}
    for name in reals:
        if name not in synths:
            rows.append(MetricRow(name, "table", name, "present", value=0.0, passed=False,
                                  detail="table is missing from the synthetic data"))
            continue
        md_table = metadata.tables.get(name) if metadata is not None else None
        hold = holds.get(name) if holds is not None else None
        _log.info("validating table", table=name)
        trows, info = _validate_table(name, reals[name], synths[name], hold, md_table, th,
                                      {**opts, "lookup": lookups.get(name)})
        info["lookup"] = lookups.get(name)
        rows += trows
        tables[name] = info
    if opts["detection"]:
        for name, info in tables.items():
            _log.info("detection", table=name)
            drows, dinfo = _detection.detection_rows(name, reals, synths, metadata, info, th, opts)
            rows += drows
            info["detection"] = dinfo
    relationships: list[dict[str, Any]] = []
    if metadata is not None and not single:
        rrows, relationships = _validate_relations(reals, synths, metadata, th)
        rows += rrows
    result = ValidationResult(rows=rows, thresholds=th, tables=tables, relationships=relationships, settings=opts)
    for name, info in tables.items():
        rows.append(MetricRow(name, "table", name, "score", value=info["score"], score=info["score"]))
    rows.append(MetricRow("*", "overall", "*", "score", value=result.score, score=result.score))
    return result


# ---------------------------------------------------------------------------- inputs
def _as_tables(
    real: Any, synthetic: Any, holdout: Any, metadata: Metadata | None
) -> tuple[dict[str, DataFrame], dict[str, DataFrame], dict[str, DataFrame] | None, bool]:
    if isinstance(real, Mapping) != isinstance(synthetic, Mapping):
        raise DataError(
            f"validate: real is a {type(real).__name__} but synthetic is a {type(synthetic).__name__}. "
            "Pass two DataFrames, or two dicts {table: DataFrame}."
        )
    if not isinstance(real, Mapping):
        name = next(iter(metadata.tables)) if metadata is not None and len(metadata.tables) == 1 else "table"
        if holdout is not None and isinstance(holdout, Mapping):
            raise DataError("validate: real is a single DataFrame, so holdout must be a DataFrame too, not a dict")
        return {name: real}, {name: synthetic}, ({name: holdout} if holdout is not None else None), True
    if holdout is not None and not isinstance(holdout, Mapping):
        raise DataError("validate: real is a dict of tables, so holdout must be a dict {table: DataFrame} too")
    if not set(real) & set(synthetic):
        raise DataError(
            f"validate: real and synthetic share no table. Real tables: {sorted(real)}; "
            f"synthetic tables: {sorted(synthetic)}"
        )
    return dict(real), dict(synthetic), (dict(holdout) if holdout is not None else None), False


def _check_count(name: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"validate: {name} must be an integer of at least {least}, got {value!r}")


# ------------------------------------------------------------------------- one table
def _below(value: float | None, limit: float) -> bool | None:
    if value is None or not math.isfinite(value):
        return None
    return value < limit


def _validate_table(
    name: str,
    real: DataFrame,
    synthetic: DataFrame,
    holdout: DataFrame | None,
    table: Table | None,
    th: Thresholds,
    opts: dict[str, Any],
) -> tuple[list[MetricRow], dict[str, Any]]:
    cols, skipped, missing = column_kinds(real, synthetic, table)
    pair_idx = _pairs.pair_list(cols, opts["max_pair_columns"]) if opts["pairs"] else []
    stacked = stack_sides([real, synthetic, holdout], cols)
    if opts["cache"]:
        from pyspark import StorageLevel

        stacked = stacked.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _table_checks(name, stacked, cols, missing, skipped, pair_idx, holdout is not None, th, opts)
    finally:
        if opts["cache"]:
            stacked.unpersist()


def _table_checks(
    name: str,
    stacked: DataFrame,
    cols: list[ColumnKind],
    missing: list[str],
    skipped: list[str],
    pair_idx: list[tuple[int, int]],
    has_holdout: bool,
    th: Thresholds,
    opts: dict[str, Any],
) -> tuple[list[MetricRow], dict[str, Any]]:
    rows: list[MetricRow] = []
    for m in missing:
        rows.append(MetricRow(name, "column", m, "present", value=0.0, passed=False,
                              detail="column is missing from the synthetic data"))
    aggs = profile_aggs(cols, bins=opts["bins"]) + _pairs.pearson_aggs(cols, pair_idx)
    prows = stacked.groupBy(SIDE).agg(*aggs).collect()
    profile = parse_profile(prows, cols)
    prow = {int(r[SIDE]): r for r in prows}
    n_r, n_s, n_h = profile["n"]
    info: dict[str, Any] = {
        "rows": {"real": n_r, "synthetic": n_s, **({"holdout": n_h} if has_holdout else {})},
        "skipped_columns": skipped,
        "missing_columns": missing,
        "columns": {},
    }
    rows.append(MetricRow(name, "table", name, "row_count", real=float(n_r), synthetic=float(n_s),
                          value=(n_s / n_r if n_r else None)))
    freqs: list[dict[str, Any]] = [{} for _ in cols]
    if cols:
        fdf, modes = frequency_frame(stacked, cols, profile, max_categories=max(opts["max_categories"], _PLOT_CATEGORIES),
                                     list_limit=_LIST_LIMIT)
        freqs = parse_frequencies(fdf.collect(), cols, modes, profile)
    for i, c in enumerate(cols):
        crows, cinfo = _column_rows(name, c, profile["columns"][i], profile["n"], freqs[i], th)
        rows += crows
        info["columns"][c.name] = cinfo
    if pair_idx:
        prows, pinfo = _pair_rows(name, cols, pair_idx, prow, stacked, profile, freqs, th, opts)
        rows += prows
        info["pairs"] = pinfo
    if opts["privacy"] and cols and n_r and n_s:
        prrows, prinfo = privacy_rows(name, cols, stacked, profile, freqs, th, opts, has_holdout)
        rows += prrows
        info["privacy"] = prinfo
    shapes = mean_or_none([r.score for r in rows if r.kind == "column" and r.metric in ("ks", "tvd")])
    trends = mean_or_none([r.score for r in rows if r.kind == "pair" and r.metric in ("corr", "contingency")])
    info["column_shapes"] = shapes
    info["pair_trends"] = trends
    info["score"] = mean_or_none([p for p in (shapes, trends) if p is not None])
    if info["score"] is None:
        info["score"] = 1.0 if not missing else 0.0
    return rows, info


def _column_rows(
    table: str, c: ColumnKind, prof: dict[str, Any], n: list[int], freq: dict[str, Any], th: Thresholds
) -> tuple[list[MetricRow], dict[str, Any]]:
    n_r, n_s = n[0], n[1]
    rows: list[MetricRow] = []
    null_r = 1 - prof["non_null"][0] / n_r if n_r else None
    null_s = 1 - prof["non_null"][1] / n_s if n_s else None
    info: dict[str, Any] = {"kind": c.kind, "spark_type": c.spark_type, "null_share": [null_r, null_s]}
    if c.is_numeric:
        ks, bound = freq.get("ks", float("nan")), freq.get("ks_error_bound", 0.0)
        p = ks_pvalue(ks, prof["non_null"][0], prof["non_null"][1])
        ok = _below(ks, th.ks)
        score = 1 - ks if math.isfinite(ks) else None
        detail = {"error_bound": bound, "p_value": p, "mode": freq.get("mode")}
        rows.append(MetricRow(table, "column", c.name, "ks", value=ks, threshold=th.ks, passed=ok, score=score,
                              detail=json.dumps(_finite(detail))))
        rows.append(MetricRow(table, "column", c.name, "ks_error_bound", value=bound))
        rows.append(MetricRow(table, "column", c.name, "ks_pvalue", value=p))
        for stat in ("mean", "std", "min", "max"):
            r, s = prof[stat]
            rows.append(MetricRow(table, "column", c.name, stat, real=r, synthetic=s,
                                  value=(s - r) if r is not None and s is not None else None))
        qr, qs = prof["quantiles"]
        for k, q in enumerate(QUANTILES):
            r = qr[k] if k < len(qr) else None
            s = qs[k] if k < len(qs) else None
            rows.append(MetricRow(table, "column", c.name, f"q{round(q * 100):02d}", real=r, synthetic=s,
                                  value=(s - r) if r is not None and s is not None else None))
        info.update(metric="ks", value=ks, score=score, passed=ok, error_bound=bound, p_value=p,
                    stats={st: prof[st] for st in ("mean", "std", "min", "max")},
                    quantiles={f"q{round(q * 100):02d}": [qr[k] if k < len(qr) else None, qs[k] if k < len(qs) else None]
                               for k, q in enumerate(QUANTILES)},
                    plot=_numeric_plot(freq, prof))
    else:
        tvd = freq.get("tvd", float("nan"))
        ok = _below(tvd, th.tvd)
        score = 1 - tvd if math.isfinite(tvd) else None
        missing = freq.get("missing", [])[:_LIST_LIMIT]
        invented = freq.get("invented", [])[:_LIST_LIMIT]
        detail = {"missing": missing, "invented": invented, "n_missing": freq.get("n_missing", 0),
                  "n_invented": freq.get("n_invented", 0), "nulls": "left out (as SDMetrics' TVComplement)"}
        with_nulls = freq.get("tvd_with_nulls", float("nan"))
        rows.append(MetricRow(table, "column", c.name, "tvd", value=tvd, threshold=th.tvd, passed=ok, score=score,
                              detail=json.dumps(detail)))
        rows.append(MetricRow(table, "column", c.name, "tvd_with_nulls", value=with_nulls,
                              detail="TVD with null as one more category (shares of all rows)"))
        rows.append(MetricRow(table, "column", c.name, "missing_categories", value=float(detail["n_missing"]),
                              detail=json.dumps(missing)))
        rows.append(MetricRow(table, "column", c.name, "invented_categories", value=float(detail["n_invented"]),
                              detail=json.dumps(invented)))
        info.update(metric="tvd", value=tvd, score=score, passed=ok, n_categories=freq.get("n_categories", 0),
                    tvd_with_nulls=with_nulls, **detail, plot=_category_plot(freq, n_r, n_s))
    if null_r is not None and null_s is not None:
        gap = abs(null_s - null_r)
        ok_null = _below(gap, th.null_share)
        rows.append(MetricRow(table, "column", c.name, "null_share", real=null_r, synthetic=null_s, value=gap,
                              threshold=th.null_share, passed=ok_null, score=1 - gap,
                              detail="|null share(synthetic) - null share(real)|; the column shape leaves nulls out"))
        info["null_check"] = {"value": gap, "passed": ok_null}
    return rows, info


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _numeric_plot(freq: dict[str, Any], prof: dict[str, Any]) -> dict[str, Any]:
    """Plot data: bars per value when all values are grid edges (few of them), else a histogram of
    shares per group of grid intervals (interval k is (edge k-1, edge k], the atom at edge k included)."""
    pts = freq.get("points") or []
    grid = prof.get("grid") or []
    tr = sum(p[1] for p in pts) or 1
    ts = sum(p[2] for p in pts) or 1
    if not pts or not grid:
        return {"type": "empty"}
    if all(p[3] for p in pts) and len(pts) <= _PLOT_BINS:
        return {"type": "bars", "labels": [grid[p[0] // 2 - 1] for p in pts], "real": [p[1] / tr for p in pts],
                "synthetic": [p[2] / ts for p in pts]}
    if len(grid) < 2:
        return {"type": "empty"}
    nb = len(grid) - 1  # intervals (grid[k-1], grid[k]] for k = 1..nb; the minimum joins the first
    real = [0.0] * nb
    synth = [0.0] * nb
    for pos, r, s, _ in pts:  # edge k is at 2k + 2, (edge k, edge k+1) at 2k + 3
        j = min(max((pos - 1) // 2 - 1, 0), nb - 1)
        real[j] += r / tr
        synth[j] += s / ts
    group = max(1, math.ceil(nb / _PLOT_BINS))
    edges = [grid[k] for k in range(0, nb, group)] + [grid[-1]]
    return {"type": "hist", "edges": edges, "real": [sum(real[k:k + group]) for k in range(0, nb, group)],
            "synthetic": [sum(synth[k:k + group]) for k in range(0, nb, group)]}


def _category_plot(freq: dict[str, Any], n_r: int, n_s: int) -> dict[str, Any]:
    cats = freq.get("categories") or []
    top = [c for c in cats if c[0] is not None][:_PLOT_CATEGORIES]
    null = [c for c in cats if c[0] is None]
    labels = [str(c[0]) for c in top]
    real = [c[1] / max(n_r, 1) for c in top]
    synth = [c[2] / max(n_s, 1) for c in top]
    shown = (sum(real) + sum(c[1] for c in null) / max(n_r, 1), sum(synth) + sum(c[2] for c in null) / max(n_s, 1))
    if len(cats) - len(null) > len(top) or freq.get("n_categories", 0) > len(top):
        other = (max(0.0, 1 - shown[0]), max(0.0, 1 - shown[1]))
        if other[0] > 1e-12 or other[1] > 1e-12:
            labels.append("(other)")
            real.append(other[0])
            synth.append(other[1])
    for c in null:
        labels.append("(null)")
        real.append(c[1] / max(n_r, 1))
        synth.append(c[2] / max(n_s, 1))
    return {"type": "bars", "labels": labels, "real": real, "synthetic": synth}


# ----------------------------------------------------------------------------- pairs
def _pair_rows(
    table: str,
    cols: list[ColumnKind],
    pair_idx: list[tuple[int, int]],
    prow: Any,
    stacked: DataFrame,
    profile: dict[str, Any],
    freqs: list[dict[str, Any]],
    th: Thresholds,
    opts: dict[str, Any],
) -> tuple[list[MetricRow], dict[str, Any]]:
    frame, cont, _labels = _pairs.contingency_frame(stacked, cols, pair_idx, profile, freqs, top_k=opts["max_categories"])
    cstats = _pairs.parse_contingency(frame.collect(), cont) if frame is not None else {}
    used = sorted({i for p in pair_idx for i in p})
    names = [cols[i].name for i in used]
    pos = {i: k for k, i in enumerate(used)}
    size = len(used)
    real_m = [[1.0 if a == b else None for b in range(size)] for a in range(size)]
    synth_m = [[1.0 if a == b else None for b in range(size)] for a in range(size)]
    method = [["" for _ in range(size)] for _ in range(size)]
    rows: list[MetricRow] = []
    for i, j in pair_idx:
        pname = f"{cols[i].name} × {cols[j].name}"
        if cols[i].is_numeric and cols[j].is_numeric:
            r, s = (_num(prow[side][f"corr_{i}_{j}"]) if side in prow else None for side in (0, 1))
            meth = "pearson"
            delta = abs(s - r) if r is not None and s is not None else None
            score = 1 - delta / 2 if delta is not None else None
            rows.append(MetricRow(table, "pair", pname, "corr", real=r, synthetic=s, value=delta, threshold=th.corr,
                                  passed=_below(delta, th.corr), score=score, detail=meth))
        else:
            st = cstats.get((i, j), {})
            r, s = _num(st.get("v_real")), _num(st.get("v_synthetic"))
            meth = "cramers_v"
            delta = abs(s - r) if r is not None and s is not None else None
            # reported, not judged: it has no score, and the pair is judged (and scored) by its
            # contingency similarity below, so a pass/fail here would judge the pair twice
            rows.append(MetricRow(table, "pair", pname, "corr", real=r, synthetic=s, value=delta, detail=meth))
            sim = _num(st.get("similarity"))
            rows.append(MetricRow(table, "pair", pname, "contingency", value=(1 - sim) if sim is not None else None,
                                  threshold=th.contingency,
                                  passed=_below(1 - sim, th.contingency) if sim is not None else None, score=sim))
        a, b = pos[i], pos[j]
        real_m[a][b] = real_m[b][a] = r
        synth_m[a][b] = synth_m[b][a] = s
        method[a][b] = method[b][a] = meth
    return rows, {"columns": names, "real": real_m, "synthetic": synth_m, "method": method}


def _num(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


# ------------------------------------------------------------------------- relations
def _validate_relations(
    reals: dict[str, DataFrame], synths: dict[str, DataFrame], metadata: Metadata, th: Thresholds
) -> tuple[list[MetricRow], list[dict[str, Any]]]:
    rows: list[MetricRow] = []
    rels: list[dict[str, Any]] = []
    for t in metadata.tables.values():
        if t.name not in synths:
            continue
        if t.primary_key:
            dups = _rel.duplicate_keys(synths[t.name], t.primary_key)
            rows.append(MetricRow(t.name, "table", ", ".join(t.primary_key), "duplicate_keys", value=float(dups),
                                  threshold=th.duplicate_keys, passed=dups <= th.duplicate_keys,
                                  detail="synthetic rows whose primary key value repeats"))
        for fk in t.foreign_keys:
            p = fk.parent_table
            if p not in synths or p not in reals or t.name not in reals:
                continue
            hist_r, hist_s = _rel.child_count_histograms((reals[p], reals[t.name]), (synths[p], synths[t.name]), fk)
            cmp = _rel.compare_child_counts(hist_r, hist_s)
            check = _rel.check_synthetic_keys(t.name, synths[t.name], synths[p], fk, real_child=reals[t.name])
            ks = cmp["ks"]
            rows.append(MetricRow(t.name, "fk", fk.label, "child_count_ks", value=ks, threshold=th.child_count_ks,
                                  passed=_below(ks, th.child_count_ks), score=1 - ks if math.isfinite(ks) else None))
            rows.append(MetricRow(t.name, "fk", fk.label, "child_count_tvd", value=cmp["tvd"]))
            mr, ms = cmp["mean"]
            rows.append(MetricRow(t.name, "fk", fk.label, "child_count_mean", real=mr, synthetic=ms,
                                  value=(ms - mr) if mr is not None and ms is not None else None))
            rows.append(MetricRow(t.name, "fk", fk.label, "orphans", value=float(check["orphan_rows"]),
                                  threshold=th.orphans, passed=check["orphan_rows"] <= th.orphans,
                                  detail=f"{check['orphan_distinct']} distinct orphan key values"))
            # a key null in every synthetic row has no orphan: where the real key is never null,
            # its nulls are failures of the same validity check
            rows.append(MetricRow(t.name, "fk", fk.label, "null_keys", value=float(check["null_failures"]),
                                  threshold=th.orphans, passed=check["null_failures"] <= th.orphans,
                                  real=float(check["real_null_rows"]), synthetic=float(check["null_rows"]),
                                  detail="synthetic rows with a null key where no real row has one"))
            rels.append({"table": t.name, "parent": p, "fk": fk.label, **cmp, "orphans": check})
    return rows, rels
