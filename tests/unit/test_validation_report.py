"""The report without Spark: chart layout (ticks, margins, legends), n/a and lookup statuses, privacy and
detection maths on the driver."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.validation.detection import DetectionFeature, encode_sample, stratified_folds
from pyspark_synth.validation.plots import (
    HOLDOUT,
    REAL,
    SYNTH,
    hbars_svg,
    heatmap_svg,
    hist_svg,
    vbars_svg,
)
from pyspark_synth.validation.privacy_metrics import closer_share, membership_auc
from pyspark_synth.validation.report import render_html
from pyspark_synth.validation.result import MetricRow, Thresholds, ValidationResult
from pyspark_synth.validation.svg_text import fit_text, nice_ticks, text_width, tick_label

_TEXT = re.compile(r'<text([^>]*)>([^<]*)')


def _texts(svg: str) -> list[tuple[dict[str, str], str]]:
    out = []
    for attrs, text in _TEXT.findall(svg):
        out.append((dict(re.findall(r'([\w-]+)="([^"]*)"', attrs)), text))
    return out


def _extent(attrs: dict[str, str], text: str) -> tuple[float, float]:
    """Horizontal extent of a text element from its x, anchor and estimated width."""
    x, w = float(attrs["x"]), text_width(text)
    anchor = attrs.get("text-anchor", "start")
    return {"start": (x, x + w), "middle": (x - w / 2, x + w / 2), "end": (x - w, x)}[anchor]


# ------------------------------------------------------------------------------ layout
def test_nice_ticks_and_compact_labels_on_a_wide_range():
    ticks, step = nice_ticks(3.97e6, 6.29e6, 5)
    assert step == 500_000 and ticks == [4.0e6, 4.5e6, 5.0e6, 5.5e6, 6.0e6]
    assert [tick_label(v, step) for v in ticks] == ["4.0M", "4.5M", "5.0M", "5.5M", "6.0M"]
    assert tick_label(2e6, 1e6) == "2M" and tick_label(-0.25, 0.25) == "-0.25" and tick_label(0.0, 0.5) == "0"
    assert tick_label(12_500, 2_500) == "12.5k" and tick_label(3e-5, 1e-5) == "3.0e-05"
    assert tick_label(86400 * 365, 86400 * 30, "datetime") == "1971-01-01"
    assert tick_label(1990, 5) == "1990" and tick_label(2.5, 2.5) == "2.5"


def test_fit_text_cuts_with_an_ellipsis_to_the_width():
    long = "International Business Machines Corporation"
    cut = fit_text(long, 100)
    assert cut.endswith("…") and long.startswith(cut[:-1]) and text_width(cut) <= 100
    assert fit_text("short", 100) == "short"
    assert text_width("ラベル") > text_width("abc")  # wide characters count one em


@pytest.mark.parametrize("lo, hi", [(3.97e6, 6.29e6), (0.0, 1.0), (-3.2, 2.9), (1e-6, 9e-6), (1.0, 1.0 + 1e-9)])
def test_histogram_ticks_never_overlap_and_stay_inside(lo, hi):
    edges = list(np.linspace(lo, hi, 31))
    svg = hist_svg(edges, [1 / 30] * 30, [1 / 30] * 30, width=360)
    ticks = [(a, t) for a, t in _texts(svg) if a.get("class") == "tick"]
    assert ticks
    spans = sorted(_extent(a, t) for a, t in ticks)
    assert spans[0][0] >= 0 and spans[-1][1] <= 360
    assert all(b[0] - a[1] >= 8 - 1e-9 for a, b in zip(spans, spans[1:], strict=False))
    assert not any("e+06" in t for _, t in ticks)


def test_datetime_ticks_are_dates_that_do_not_overlap():
    lo, hi = 1.5e9, 1.5e9 + 3 * 365 * 86400  # three years, in seconds
    svg = hist_svg(list(np.linspace(lo, hi, 31)), [1 / 30] * 30, [1 / 30] * 30, kind="datetime")
    ticks = [(a, t) for a, t in _texts(svg) if a.get("class") == "tick"]
    assert len(ticks) >= 2 and all(re.fullmatch(r"\d{4}-\d\d-\d\d", t) for _, t in ticks)
    spans = sorted(_extent(a, t) for a, t in ticks)
    assert all(b[0] - a[1] >= 8 - 1e-9 for a, b in zip(spans, spans[1:], strict=False))


def test_vbars_thin_their_labels_to_fit():
    labels = [*range(24), "≥24"]
    svg = vbars_svg(labels, [1 / 25] * 25, [1 / 25] * 25)
    ticks = [(a, t) for a, t in _texts(svg) if a.get("class") == "tick"]
    assert 3 <= len(ticks) < 25
    spans = sorted(_extent(a, t) for a, t in ticks)
    assert spans[0][0] >= 0 and spans[-1][1] <= 360
    assert all(b[0] - a[1] >= 0 for a, b in zip(spans, spans[1:], strict=False))


def test_every_chart_text_fits_its_svg():
    labels = ["International Business Machines Corporation", "Short", "(null)", "x" * 300]
    for svg in (hbars_svg(labels, [0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]),
                heatmap_svg(["a_really_long_column_name_for_the_heatmap_rows", "b", "c"],
                            [[1, None, None], [0.5, 1, None], [0.1, 0.2, 1]],
                            [[1, None, None], [0.4, 1, None], [0.3, 0.1, 1]],
                            [["", "", ""], ["pearson", "", ""], ["cramers_v", "pearson", ""]]),
                hist_svg([0, 1, 2], [0.5, 0.5], [0.2, 0.8])):
        width = float(re.search(r'viewBox="0 0 (\d+)', svg).group(1))
        for attrs, text in _texts(svg):
            if not text or "transform" in attrs:
                continue
            left, right = _extent(attrs, text)
            assert left >= 0 and right <= width, (text, left, right, width)


def test_hbars_margin_grows_with_the_labels():
    short = hbars_svg(["a", "b"], [0.5, 0.5], [0.5, 0.5])
    long = hbars_svg(["a fairly long category name", "b"], [0.5, 0.5], [0.5, 0.5])
    x = [float(a["x"]) for a, _ in _texts(short) if a.get("class") == "label"]
    y = [float(a["x"]) for a, _ in _texts(long) if a.get("class") == "label"]
    assert y[0] > x[0] and y[0] >= text_width("a fairly long category name")


def test_dcr_legend_colours_are_the_colours_of_the_bars():
    with_holdout = hist_svg([0, 1, 2], [0.5, 0.5], [0.2, 0.8], first="holdout", first_color=HOLDOUT,
                            second="synthetic", color=SYNTH)
    legend = re.findall(r'<rect x="[^"]*" y="[^"]*" width="10" height="10" rx="2" fill="([^"]+)"/>'
                        r'<text class="legend"[^>]*>([^<]+)', with_holdout)
    assert legend == [(HOLDOUT, "holdout"), (SYNTH, "synthetic")]
    assert f'fill="{HOLDOUT}" fill-opacity' in with_holdout and f'stroke="{SYNTH}"' in with_holdout
    alone = hist_svg([0, 1, 2], [0.5, 0.5], None, first="synthetic", first_color=SYNTH)
    legend = re.findall(r'fill="([^"]+)"/><text class="legend"[^>]*>([^<]+)', alone)
    assert legend == [(SYNTH, "synthetic")]
    assert f'fill="{SYNTH}" fill-opacity' in alone and REAL not in alone and "<path" not in alone


# ----------------------------------------------------------------- statuses in the report
def _result() -> ValidationResult:
    rows = [
        MetricRow("t", "pair", "a × c", "corr", real=0.1, synthetic=0.6, value=0.5, detail="cramers_v"),
        MetricRow("t", "pair", "a × c", "contingency", value=0.05, threshold=0.15, passed=True, score=0.95),
        MetricRow("t", "column", "a", "ks", value=float("nan"), threshold=0.1, passed=None, score=None),
        MetricRow("codes", "privacy", "*", "exact_copy_rate", value=1.0, real=None, synthetic=1.0,
                  detail="lookup table (5 rows (at most 100), every one referenced by t): copied by design, ..."),
        MetricRow("t", "fk", "p_id -> p.id", "child_count_ks", value=float("nan"), threshold=0.1, passed=None),
    ]
    tables = {
        "t": {"rows": {"real": 10, "synthetic": 10}, "score": 0.95, "columns": {}, "lookup": None,
              "pairs": {"columns": ["a", "c"], "real": [[1, 0.1], [0.1, 1]], "synthetic": [[1, 0.6], [0.6, 1]],
                        "method": [["", "cramers_v"], ["cramers_v", ""]]}},
        "codes": {"rows": {"real": 5, "synthetic": 5}, "score": 1.0, "columns": {}, "lookup": "5 rows",
                  "privacy": {"lookup": "5 rows", "exact_copies": {"rate_synthetic": 1.0},
                              "dcr_synthetic": {"n": 5, "median": 0.0}, "sample_real": 5}},
    }
    rels = [{"table": "t", "parent": "p", "fk": "p_id -> p.id", "ks": float("nan"), "tvd": float("nan"),
             "mean": [None, None], "zero_share": [None, None], "real": {}, "synthetic": {},
             "orphans": {"orphan_rows": 0}}]
    return ValidationResult(rows=rows, thresholds=Thresholds(), tables=tables, relationships=rels)


def test_checks_without_a_verdict_show_na_never_fail():
    page = render_html(_result())
    assert "pill fail" not in page
    cramer = page[page.index('<td class="name">a × c</td><td>|Δ correlation|'):].split("</tr>")[0]
    assert 'class="pill na"' in cramer and "contingency TVD" in cramer
    ks = page[page.index("Children-per-parent KS"):].split("</tr>")[0]
    assert 'class="pill na"' in ks
    card = page[page.index("<h4>t.p_id -&gt; p.id</h4>"):].split("</div>")[0]
    assert "KS –" in card and 'class="pill na"' in card


def test_lookup_rows_show_lookup():
    page = render_html(_result())
    row = page[page.index("Exact-copy rate"):].split("</tr>")[0]
    assert 'class="pill lookup"' in row
    assert "lookup table</span>" in page


# ------------------------------------------------------------------- privacy maths
def test_closer_share_counts_ties_half():
    assert closer_share(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0, 1.0])) == pytest.approx(0.375)
    assert closer_share(np.zeros(0), np.zeros(0)) is None


def test_membership_auc_is_the_mann_whitney_statistic():
    members, others = np.array([0.0, 0.1, 0.2]), np.array([0.5, 0.6, 0.7])
    assert membership_auc(members, others) == pytest.approx(1.0)
    assert membership_auc(others, members) == pytest.approx(0.0)
    assert membership_auc(np.ones(4), np.ones(5)) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 400), rng.normal(0.5, 1, 300)
    expected = np.mean(a[:, None] < b[None, :]) + 0.5 * np.mean(a[:, None] == b[None, :])
    assert membership_auc(a, b) == pytest.approx(expected)


# ---------------------------------------------------------------- detection, driver side
def test_encode_sample_codes_categories_and_flags_nulls():
    sample = pd.DataFrame({"f0": [1.0, None, 3.0, 5.0], "f1": ["a", "b", None, "a"], "f2": [1.0, 2.0, 3.0, 4.0]})
    feats = [DetectionFeature("f0", "x", True), DetectionFeature("f1", "k", False), DetectionFeature("f2", "n", True)]
    x, names, nominal = encode_sample(sample, feats, top_k=1)
    assert names == ["x", "x is null", "k", "n"]
    assert nominal == [0, 0, 3, 0]
    assert x[:, 0].tolist() == [1.0, -4.0, 3.0, 5.0]  # null: one range below the minimum
    assert x[:, 1].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert x[:, 2].tolist() == [0.0, 1.0, 2.0, 0.0]  # a (top 1) = 0, other = 1, null = 2
    assert not np.isnan(x).any()


def test_stratified_folds_are_balanced():
    labels = np.array([0] * 50 + [1] * 50)
    folds = stratified_folds(labels, 5, seed=3)
    for k in range(5):
        assert (folds[labels == 0] == k).sum() == 10 and (folds[labels == 1] == k).sum() == 10
    assert (stratified_folds(labels, 5, seed=3) == folds).all()
    assert math.isclose(folds.mean(), 2.0)
