"""The validation report: one self-contained HTML file (inline CSS and SVG, no script, nothing fetched).

Every name and value from the data is HTML-escaped (`plots.esc`), in text and attributes alike,
and a Content-Security-Policy forbids scripts as a second line of defence.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pyspark_synth._version import __version__
from pyspark_synth.validation.plots import (
    HOLDOUT,
    SYNTH,
    esc,
    fmt,
    gauge_svg,
    hbars_svg,
    heatmap_svg,
    hist_svg,
    pct,
    short,
    vbars_svg,
)
from pyspark_synth.validation.report_method import method_section

if TYPE_CHECKING:
    from pyspark_synth.validation.result import MetricRow, ValidationResult

__all__ = ["render_html"]

_METRIC_NAMES = {
    "ks": "KS statistic",
    "tvd": "Total variation (nulls left out)",
    "null_share": "Null share |Δ|",
    "corr": "|Δ correlation|",
    "contingency": "Contingency TVD",
    "child_count_ks": "Children-per-parent KS",
    "orphans": "Orphan rows",
    "null_keys": "Null keys (real never null)",
    "duplicate_keys": "Duplicate keys",
    "exact_copy_rate": "Exact-copy rate",
    "dcr_median_ratio": "DCR median ratio",
    "dcr_median": "DCR median",
    "dcr_share": "DCR share (closer to training)",
    "membership_auc": "Membership inference AUC",
    "detection_accuracy": "Detection accuracy",
    "present": "Present",
}

_CSS = """
:root{--bg:#f5f7fa;--card:#fff;--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--good:#20bf6b;--warn:#f7b731;
--bad:#eb3b5a;--real:#3867d6;--synth:#f0932b}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 24px 60px}
h1{font-size:26px;margin:0 0 4px;letter-spacing:-.01em}
h2{font-size:20px;margin:0;letter-spacing:-.01em}
h3{font-size:15px;margin:22px 0 10px;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
.hero{display:flex;gap:28px;align-items:center;background:var(--card);border-radius:16px;padding:22px 28px;
box-shadow:0 1px 3px rgba(15,23,42,.08)}
.hero .gauge{width:148px;flex:none}
.hero .lead{flex:1;min-width:0}
.sub{color:var(--muted);margin:2px 0 12px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:12px;margin-top:10px}
.kpi{background:var(--bg);border-radius:10px;padding:10px 12px}
.kpi b{display:block;font-size:20px}
.kpi span{color:var(--muted);font-size:12px}
.pill{display:inline-block;border-radius:999px;padding:2px 10px;font-size:12px;font-weight:600;vertical-align:middle}
.pass{background:#e3f9ee;color:#0f7a45}.fail{background:#fde8ec;color:#b3123a}.info{background:#eef1f4;color:#52606d}
.na{background:#f3f4f6;color:#7b8794}.lookup{background:#e8effd;color:#234a9c}
.card{background:var(--card);border-radius:14px;padding:18px 22px;margin-top:20px;box-shadow:0 1px 3px rgba(15,23,42,.08)}
.head{display:flex;align-items:baseline;gap:12px;flex-wrap:wrap}
.head .meta{color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:6px 8px;white-space:nowrap}
td{border-bottom:1px solid var(--line);padding:6px 8px;vertical-align:middle}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{max-width:300px;overflow-wrap:anywhere;font-weight:500}
tr.bad td{background:#fff7f8}
.bar{position:relative;height:8px;width:110px;background:#edf0f3;border-radius:4px;overflow:hidden;display:inline-block;
vertical-align:middle}
.bar i{position:absolute;left:0;top:0;bottom:0;border-radius:4px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:16px}
.plot{border:1px solid var(--line);border-radius:12px;padding:12px 14px;background:#fff}
.plot.bad{border-color:#f5b5c2}
.plot h4{margin:0;font-size:14px;overflow-wrap:anywhere}
.plot .row{display:flex;justify-content:space-between;align-items:center;gap:8px;margin-bottom:6px}
.plot .note{color:var(--muted);font-size:12px;margin-top:4px;overflow-wrap:anywhere}
.chip{display:inline-block;background:#eef1f4;color:#52606d;border-radius:6px;padding:0 6px;font-size:11px;margin-left:6px;
font-weight:500}
.tag{display:inline-block;border-radius:6px;padding:0 6px;margin:1px 2px;font-size:12px}
.tag.miss{background:#e8effd;color:#234a9c}.tag.inv{background:#fff1e3;color:#9c4f0a}
nav{margin-top:14px;display:flex;gap:8px;flex-wrap:wrap}
nav a{background:var(--card);border-radius:999px;padding:4px 12px;color:var(--ink);text-decoration:none;font-size:13px;
box-shadow:0 1px 2px rgba(15,23,42,.08)}
.legend{display:inline-flex;gap:14px;color:var(--muted);font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.heat{max-width:760px}
.two{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:20px;align-items:start}
.method{color:var(--muted);font-size:13px}
.method li{margin:4px 0}
details summary{cursor:pointer;color:var(--muted);margin-top:10px}
footer{color:var(--muted);font-size:12px;margin-top:30px;text-align:center}
.imp{display:grid;grid-template-columns:minmax(0,1fr) 130px 52px;gap:4px 10px;align-items:center;font-size:13px}
.imp span{overflow-wrap:anywhere}
@media (max-width:800px){.hero{flex-direction:column}.kpis{grid-template-columns:repeat(2,1fr)}.two{grid-template-columns:1fr}}
"""


def _score_color(s: float | None) -> str:
    if s is None:
        return "#cbd2d9"
    return "#20bf6b" if s >= 0.9 else "#f7b731" if s >= 0.75 else "#eb3b5a"


def _bar(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return '<span class="chip">n/a</span>'
    w = max(0.0, min(1.0, s)) * 100
    return (
        f'<span class="bar"><i style="width:{w:.1f}%;background:{_score_color(s)}"></i></span> '
        f'<span class="num">{100 * s:.1f}</span>'
    )


_INFO_METRICS = {"dcr_median"}  # shown for information, never judged
_NA_WHY = {
    "cramers_v": "not judged: a pair with a categorical column is judged and scored by its contingency TVD",
}


def _status(passed: bool | None, *, judged: bool = False, lookup: bool = False, why: str = "") -> str:
    """The status pill: pass or fail; "n/a" for a check without a verdict (its value could not be
    computed, or another row judges it), "lookup" for a lookup table's excused check, "info" for a
    value that is never judged."""
    if passed is None:
        if lookup:
            return '<span class="pill lookup" title="a lookup table is copied by design">lookup</span>'
        if judged:
            why = why or "nothing to compare: the value could not be computed"
            return f'<span class="pill na" title="{esc(why)}">n/a</span>'
        return '<span class="pill info">info</span>'
    return '<span class="pill pass">pass</span>' if passed else '<span class="pill fail">fail</span>'


def _row_status(r: MetricRow) -> str:
    lookup = r.passed is None and (r.detail or "").startswith("lookup table")
    return _status(r.passed, judged=r.metric not in _INFO_METRICS, lookup=lookup, why=_NA_WHY.get(r.detail or "", ""))


def _val(v: float | None, metric: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if metric in ("orphans", "null_keys", "duplicate_keys", "present"):
        return f"{v:,.0f}"
    if metric in ("exact_copy_rate", "dcr_share", "null_share_pct"):
        return pct(v)
    return f"{v:.3f}"


def _order(r: MetricRow) -> tuple:
    return (r.passed is not False, r.score if r.score is not None else 1.0)


def _checks_table(rows: list[MetricRow], *, show_table: bool) -> str:
    head = "<tr>" + ("<th>Table</th>" if show_table else "") + (
        "<th>Check</th><th>Metric</th><th>Value</th><th>Limit</th><th>Score</th><th>Status</th></tr>"
    )
    body = []
    for r in rows:
        limit = "–" if r.threshold is None else ("≥ " if r.metric == "dcr_median_ratio" else "< " if r.metric in (
            "ks", "tvd", "corr", "contingency", "child_count_ks", "null_share", "dcr_share", "membership_auc",
            "detection_accuracy") else "≤ ") + _val(r.threshold, r.metric)
        body.append(
            f'<tr class="{"bad" if r.passed is False else ""}">'
            + (f'<td class="name">{esc(r.table)}</td>' if show_table else "")
            + f'<td class="name">{esc(r.name)}</td><td>{esc(_METRIC_NAMES.get(r.metric, r.metric))}</td>'
            f'<td class="num">{esc(_val(r.value, r.metric))}</td><td class="num">{esc(limit)}</td>'
            f"<td>{_bar(r.score)}</td><td>{_row_status(r)}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _column_plot(name: str, info: dict[str, Any]) -> str:
    plot = info.get("plot") or {}
    kind = info.get("kind", "numerical")
    label = f"real vs synthetic distribution of {name}"
    if plot.get("type") == "hist":
        return hist_svg(plot["edges"], plot["real"], plot["synthetic"], kind=kind, label=label)
    if plot.get("type") == "bars" and kind in ("numerical", "datetime"):
        return vbars_svg(plot["labels"], plot["real"], plot["synthetic"], kind=kind, label=label)
    if plot.get("type") == "bars":
        return hbars_svg(plot["labels"], plot["real"], plot["synthetic"], label=label)
    return '<p class="note">no values to plot</p>'


def _tags(values: list[Any], cls: str, total: int) -> str:
    shown = "".join(f'<span class="tag {cls}">{esc(short(v, 30))}</span>' for v in values[:8])
    more = total - min(len(values), 8)
    return shown + (f" <span>+{more} more</span>" if more > 0 else "")


def _column_card(name: str, info: dict[str, Any]) -> str:
    kind = info.get("kind", "")
    metric = info.get("metric", "")
    notes = []
    if metric == "ks":
        st = info.get("stats", {})
        mean, std = st.get("mean", [None, None]), st.get("std", [None, None])
        notes.append(
            f"mean {esc(fmt(mean[0], kind))} → {esc(fmt(mean[1], kind))} · "
            f"std {esc(fmt(std[0], 'numerical' if kind == 'datetime' else kind))} → "
            f"{esc(fmt(std[1], 'numerical' if kind == 'datetime' else kind))}"
        )
        q = info.get("quantiles", {}).get("q50", [None, None])
        bound = f"{info.get('error_bound') or 0:.4f}"
        notes.append(
            f"median {esc(fmt(q[0], kind))} → {esc(fmt(q[1], kind))} · KS ± {esc(bound)}"
            f" · p = {esc(fmt(info.get('p_value')))}"
        )
    else:
        if info.get("n_missing"):
            notes.append("missing from synthetic: " + _tags(info.get("missing", []), "miss", info["n_missing"]))
        if info.get("n_invented"):
            notes.append("invented by synthetic: " + _tags(info.get("invented", []), "inv", info["n_invented"]))
        if not notes:
            notes.append(f"{info.get('n_categories', 0)} categories, none missing or invented")
    nr, ns = info.get("null_share", [None, None])
    check = info.get("null_check") or {}
    if nr or ns:
        notes.append(
            f"nulls {esc(pct(nr))} → {esc(pct(ns))} · null share |Δ| {esc(_val(check.get('value')))} "
            f"{_status(check.get('passed'), judged=True)} (checked apart: the {'KS' if metric == 'ks' else 'TVD'} "
            "above leaves nulls out)"
        )
    label = "KS" if metric == "ks" else "TVD"
    value = info.get("value")
    bad = info.get("passed") is False or check.get("passed") is False
    return (
        f'<div class="plot{" bad" if bad else ""}">'
        f'<div class="row"><h4>{esc(name)}<span class="chip">{esc(kind)}</span></h4>'
        f'<span>{esc(label)} {esc(_val(value))} {_status(info.get("passed"), judged=True)}</span></div>'
        f"{_column_plot(name, info)}"
        + "".join(f'<div class="note">{n}</div>' for n in notes)
        + "</div>"
    )


def _privacy_block(pv: dict[str, Any], rows: list[MetricRow]) -> str:
    ex = pv.get("exact_copies", {})
    syn = pv.get("dcr_synthetic") or {}
    hol = pv.get("dcr_holdout") or {}
    share = pv.get("dcr_share") or {}
    mia = pv.get("membership") or {}
    parts = [_checks_table(rows, show_table=False)]
    facts = []
    if pv.get("lookup"):
        facts.append(f'<span class="pill lookup">lookup table</span> {esc(pv["lookup"])}: its rows are copied by '
                     "design, so its privacy checks are shown but not judged")
    facts += [
        f"Exact copies of real rows: <b>{esc(pct(ex.get('rate_synthetic')))}</b> of synthetic rows"
        + (f" (holdout: {esc(pct(ex.get('rate_holdout')))})" if ex.get("rate_holdout") is not None else ""),
        f"Median distance to closest real record: synthetic <b>{esc(fmt(syn.get('median')))}</b>"
        + (f", holdout <b>{esc(fmt(hol.get('median')))}</b>" if hol else " (no holdout given)"),
    ]
    if share.get("share") is not None:
        facts.append(f"DCR share: <b>{esc(pct(share['share']))}</b> of synthetic rows are closer to a training row "
                     f"than to a holdout row ({esc(share.get('n_each'))} of each; 50% is ideal)")
    if mia.get("auc") is not None:
        facts.append(f"Membership inference: AUC <b>{esc(_val(mia['auc']))}</b> for guessing which of "
                     f"{esc(mia.get('n_members'))} training and {esc(mia.get('n_non_members'))} holdout rows were "
                     "trained on from their distance to the synthetic rows (0.5: cannot be told)")
    if not hol:
        facts.append("Pass <code>holdout=</code> (real rows not used for training) for the DCR share and the "
                     "membership-inference check")
    facts.append(f"Sample: {esc(syn.get('n', 0))} synthetic, {esc(pv.get('sample_real', 0))} real"
                 + (f", {esc(hol.get('n', 0))} holdout rows" if hol else ""))
    plot = ""
    if pv.get("hist_edges") and pv.get("hist_synthetic"):
        edges = pv["hist_edges"]
        s = pv["hist_synthetic"]
        h = pv.get("hist_holdout")
        ts = sum(s) or 1
        if h:
            th = sum(h) or 1
            plot = hist_svg(edges, [v / th for v in h], [v / ts for v in s], first="holdout", first_color=HOLDOUT,
                            second="synthetic", color=SYNTH, label="distance to closest real record")
        else:
            plot = hist_svg(edges, [v / ts for v in s], None, first="synthetic", first_color=SYNTH,
                            label="distance to closest real record")
    return (
        '<div class="two"><div>' + "".join(parts) + '<ul class="method">'
        + "".join(f"<li>{f}</li>" for f in facts) + "</ul></div>"
        + (f'<div class="plot"><h4>Distance to closest real record</h4>{plot}</div>' if plot else "")
        + "</div>"
    )


def _detection_block(det: dict[str, Any], rows: list[MetricRow]) -> str:
    if det.get("accuracy") is None:
        return f'<p class="method">Not measured: {esc(det.get("reason", "no features"))}</p>'
    feats = det.get("features") or []
    top = max([f["importance"] for f in feats] + [1e-12])
    bars = "".join(
        f'<span>{esc(f["name"])}</span><span class="bar" style="width:130px"><i style="width:'
        f'{100 * f["importance"] / top:.1f}%;background:var(--synth)"></i></span>'
        f'<span class="num">{100 * f["importance"]:.1f}%</span>'
        for f in feats
    )
    folds = ", ".join(f"{a:.3f}" for a in det.get("folds", []))
    children = det.get("children") or []
    return (
        '<div class="two"><div>' + _checks_table(rows, show_table=False) + '<ul class="method">'
        f"<li>Mean held-out accuracy <b>{esc(_val(det['accuracy']))}</b> of telling synthetic rows from real "
        f"ones (0.5: indistinguishable); folds {esc(folds)}</li>"
        f"<li>{esc(det.get('rows_per_side'))} rows of each side, {esc(det.get('n_features'))} features"
        + (f" including the children's counts and means of {esc(', '.join(children))}" if children else "")
        + f"; {esc(det.get('model', ''))}</li></ul></div>"
        + ('<div class="plot"><h4>What gives the rows away</h4><div class="note">mean feature importance</div>'
           f'<div class="imp">{bars}</div></div>' if bars else "")
        + "</div>"
    )


def _null_table(rows: list[MetricRow]) -> str:
    body = "".join(
        f'<tr class="{"bad" if r.passed is False else ""}"><td class="name">{esc(r.name)}</td>'
        f'<td class="num">{esc(pct(r.real))}</td><td class="num">{esc(pct(r.synthetic))}</td>'
        f'<td class="num">{esc(_val(r.value))}</td><td class="num">&lt; {esc(_val(r.threshold))}</td>'
        f"<td>{_bar(r.score)}</td><td>{_row_status(r)}</td></tr>"
        for r in rows
    )
    return ("<table><tr><th>Column</th><th>Real nulls</th><th>Synthetic nulls</th><th>|Δ|</th><th>Limit</th>"
            f"<th>Score</th><th>Status</th></tr>{body}</table>")


def _table_section(k: int, name: str, info: dict[str, Any], rows: list[MetricRow]) -> str:
    mine = [r for r in rows if r.table == name]
    judged = [r for r in mine if r.passed is not None]
    failed = sum(r.passed is False for r in judged)
    rc = info.get("rows", {})
    meta = f"{rc.get('real', 0):,} real rows · {rc.get('synthetic', 0):,} synthetic rows"
    if "holdout" in rc:
        meta += f" · {rc['holdout']:,} holdout rows"
    meta += f" · {len(judged) - failed} of {len(judged)} checks passed"
    out = [
        f'<section class="card" id="t{k}"><div class="head"><h2>{esc(name)}</h2>'
        f'<span class="pill {"pass" if failed == 0 else "fail"}">{100 * (info.get("score") or 0):.1f}</span>'
        f'<span class="meta">{esc(meta)}</span>'
        + (f'<span class="pill lookup" title="{esc(info["lookup"])}">lookup table</span>' if info.get("lookup") else "")
        + "</div>"
    ]
    skipped = info.get("skipped_columns") or []
    if skipped:
        out.append(f'<p class="method">Not compared (keys, ids, text or unsupported types): '
                   f'{esc(", ".join(skipped))}</p>')
    col_rows = sorted(
        [r for r in mine if r.kind == "column" and r.metric in ("ks", "tvd", "present")], key=_order
    )
    if col_rows:
        shapes = info.get("column_shapes")
        out.append(f"<h3>Column shapes · {esc(_val(shapes))}</h3>")
        out.append('<p class="method">Values only, nulls left out (as SDMetrics\' KSComplement and TVComplement); '
                   "the share of nulls is checked apart, below.</p>")
        out.append(_checks_table(col_rows, show_table=False))
        nulls = sorted([r for r in mine if r.kind == "column" and r.metric == "null_share"], key=_order)
        with_nulls = [r for r in nulls if (r.real or 0) > 0 or (r.synthetic or 0) > 0]
        if nulls:
            avg = sum(r.score for r in nulls if r.score is not None) / max(len(nulls), 1)
            out.append(f"<h3>Null shares · {esc(_val(avg))}</h3>")
            if with_nulls:
                out.append(_null_table(with_nulls))
            rest = len(nulls) - len(with_nulls)
            if rest:
                out.append(f'<p class="method">{rest} column{"s" if rest != 1 else ""} without nulls on either '
                           "side (pass).</p>")
        cols = info.get("columns", {})
        order = [r.name for r in col_rows if r.name in cols]
        out.append(
            '<h3>Distributions</h3><p class="legend"><span><i style="background:var(--real)"></i>real</span>'
            '<span><i style="background:var(--synth)"></i>synthetic</span><span>worst first</span></p>'
        )
        out.append('<div class="grid">' + "".join(_column_card(c, cols[c]) for c in order) + "</div>")
    pinfo = info.get("pairs")
    if pinfo and pinfo.get("columns"):
        out.append(f"<h3>Column pairs · {esc(_val(info.get('pair_trends')))}</h3>")
        heat = heatmap_svg(pinfo["columns"], pinfo["real"], pinfo["synthetic"], pinfo["method"],
                           label=f"correlation difference of {name}")
        worst = [r for r in mine if r.kind == "pair"]
        worst.sort(key=_order)
        out.append(
            '<div class="plot heat"><h4>Association difference (synthetic − real)</h4>'
            '<div class="note">Pearson for two numerical columns, Cramér\'s V otherwise; hover a cell for both '
            f"values.</div>{heat}</div><h3>Worst pairs</h3>{_checks_table(worst[:12], show_table=False)}"
            + (f"<details><summary>all {len(worst)} pair checks</summary>"
               f"{_checks_table(worst, show_table=False)}</details>" if len(worst) > 12 else "")
        )
    pv = info.get("privacy")
    if pv:
        out.append("<h3>Privacy</h3>")
        out.append(_privacy_block(pv, [r for r in mine if r.kind == "privacy" and r.metric != "dcr_p05"]))
    det = info.get("detection")
    if det:
        acc = det.get("accuracy")
        out.append(f"<h3>Detection · {esc(_val(acc)) if acc is not None else 'n/a'}</h3>")
        out.append(_detection_block(det, [r for r in mine if r.kind == "detection"]))
    out.append("</section>")
    return "".join(out)


def _relations_section(result: ValidationResult) -> str:
    if not result.relationships and not any(r.metric == "duplicate_keys" for r in result.rows):
        return ""
    rows = sorted(
        [r for r in result.rows if r.kind == "fk" and r.threshold is not None]
        + [r for r in result.rows if r.metric == "duplicate_keys"],
        key=_order,
    )
    cards = []
    for rel in result.relationships:
        hr = {int(k): v for k, v in rel.get("real", {}).items()}
        hs = {int(k): v for k, v in rel.get("synthetic", {}).items()}
        keys = sorted(set(hr) | set(hs))
        tr, ts = sum(hr.values()) or 1, sum(hs.values()) or 1
        cap = 24
        labels: list[Any] = [k for k in keys if k < cap]
        real = [hr.get(k, 0) / tr for k in labels]
        syn = [hs.get(k, 0) / ts for k in labels]
        if any(k >= cap for k in keys):
            labels.append(f"≥{cap}")
            real.append(sum(v for k, v in hr.items() if k >= cap) / tr)
            syn.append(sum(v for k, v in hs.items() if k >= cap) / ts)
        ks = rel.get("ks")
        ks_ok = ks < result.thresholds.child_count_ks if ks is not None and math.isfinite(ks) else None
        ok = ks_ok is not False and rel["orphans"]["orphan_rows"] <= result.thresholds.orphans \
            and rel["orphans"].get("null_failures", 0) <= result.thresholds.orphans
        mr, ms = rel.get("mean", [None, None])
        zr, zs = rel.get("zero_share", [None, None])
        cards.append(
            f'<div class="plot{"" if ok else " bad"}"><div class="row"><h4>{esc(rel["table"])}.{esc(rel["fk"])}</h4>'
            f'<span>KS {esc(_val(ks))} {_status(ks_ok, judged=True)}</span></div>'
            + vbars_svg(labels, real, syn, label=f"children per parent of {rel['fk']}")
            + f'<div class="note">children per {esc(rel["parent"])} row: mean {esc(fmt(mr))} → {esc(fmt(ms))} · '
            f"childless parents {esc(pct(zr))} → {esc(pct(zs))} · orphans {esc(rel['orphans']['orphan_rows'])}</div>"
            "</div>"
        )
    return (
        '<section class="card" id="relations"><div class="head"><h2>Relationships</h2>'
        f'<span class="meta">{len(result.relationships)} foreign keys</span></div>'
        + _checks_table(rows, show_table=True)
        + ('<h3>Children per parent</h3><div class="grid">' + "".join(cards) + "</div>" if cards else "")
        + "</section>"
    )


def render_html(result: ValidationResult, *, title: str = "Synthetic data validation") -> str:
    """The report as one self-contained HTML document."""
    judged = [r for r in result.rows if r.passed is not None]
    failed = [r for r in judged if r.passed is False]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ncols = sum(len(t.get("columns", {})) for t in result.tables.values())
    kpis = [
        ("Column shapes", _val(result.column_shapes)),
        ("Pair trends", _val(result.pair_trends)),
        ("Cardinality", _val(result.cardinality)),
        ("Null shares", _val(result.null_shares)),
        ("Detection", _val(result.detection)),
        ("Checks passed", f"{len(judged) - len(failed)} / {len(judged)}"),
    ]
    verdict = (
        '<span class="pill pass">all checks passed</span>'
        if not failed
        else f'<span class="pill fail">{len(failed)} check{"s" if len(failed) != 1 else ""} failed</span>'
    )
    nav = "".join(
        f'<a href="#t{k}">{esc(short(name, 30))} · {100 * (t.get("score") or 0):.0f}</a>'
        for k, name, t in ((k, n, result.tables[n]) for k, n in enumerate(result.tables))
    )
    if result.relationships:
        nav += '<a href="#relations">Relationships</a>'
    worst = [r for r in result.worst(15) if r.passed is False]
    attention = (
        '<section class="card"><div class="head"><h2>Needs attention</h2>'
        f'<span class="meta">worst {len(worst)} of {len(failed)} failed checks</span></div>'
        + _checks_table(worst, show_table=True)
        + "</section>"
        if worst
        else '<section class="card"><div class="head"><h2>Needs attention</h2>'
        '<span class="pill pass">nothing: every check passed</span></div></section>'
    )
    body = [
        '<header class="hero">',
        f'<div class="gauge">{gauge_svg(result.score, passed=result.passed)}</div>',
        f'<div class="lead"><h1>{esc(title)}</h1>',
        f'<p class="sub">{verdict} · {len(result.tables)} table{"s" if len(result.tables) != 1 else ""} · '
        f"{ncols} columns compared · generated {esc(now)}</p>",
        '<div class="kpis">'
        + "".join(f'<div class="kpi"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in kpis)
        + "</div></div></header>",
        f"<nav>{nav}</nav>",
        attention,
    ]
    for k, name in enumerate(result.tables):
        body.append(_table_section(k, name, result.tables[name], result.rows))
    body.append(_relations_section(result))
    missing_tables = [r for r in result.rows if r.kind == "table" and r.metric == "present"]
    if missing_tables:
        body.append('<section class="card"><h2>Missing tables</h2>' + _checks_table(missing_tables, show_table=True)
                    + "</section>")
    body.append(method_section(result))
    body.append(f"<footer>pyspark-synth {esc(__version__)} · a self-contained report: no script, nothing loaded "
                "from the network</footer>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body><main>"
        + "".join(body)
        + "</main></body></html>\n"
    )
