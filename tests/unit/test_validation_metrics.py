"""Pure-Python parts of validation: KS on a grid and its bound, TVD, Cramér's V, results and report escaping."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import ks_2samp

from pyspark_synth.validation.metrics import (
    ks_from_counts,
    ks_pvalue,
    quantile_from_points,
    tvd_from_counts,
)
from pyspark_synth.validation.pairs import cramers_v
from pyspark_synth.validation.report import render_html
from pyspark_synth.validation.result import MetricRow, Thresholds, ValidationResult


def _grid_points(real: np.ndarray, synth: np.ndarray, edges: np.ndarray) -> list[tuple[int, int, int, bool]]:
    """What the Spark job counts: position 2k+2 on edge k, 2k+3 between edge k and k+1, 1 below."""
    def pos(x: np.ndarray) -> np.ndarray:
        b = np.searchsorted(edges, x, side="right")  # number of edges <= x
        on = (b >= 1) & (edges[np.maximum(b - 1, 0)] == x)
        return np.where(on, 2 * b, 2 * b + 1)

    pr, ps = pos(real), pos(synth)
    keys = sorted(set(pr.tolist()) | set(ps.tolist()))
    return [(k, int((pr == k).sum()), int((ps == k).sum()), k % 2 == 0) for k in keys]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grid_ks_brackets_the_exact_statistic(seed):
    rng = np.random.default_rng(seed)
    real, synth = rng.normal(0, 1, 3000), rng.normal(0.15, 1.1, 2500)
    edges = np.unique(np.quantile(np.concatenate([real, synth]), np.linspace(0, 1, 51)))
    d, bound = ks_from_counts(_grid_points(real, synth, edges))
    exact = ks_2samp(real, synth).statistic
    assert d <= exact + 1e-12 <= d + bound + 2e-12
    assert 0 < bound <= 2 * 2 / 50  # at most the largest interval mass of either side


def test_grid_ks_is_exact_when_every_value_is_an_edge():
    rng = np.random.default_rng(3)
    real, synth = rng.integers(0, 8, 1000).astype(float), rng.integers(1, 9, 900).astype(float)
    edges = np.unique(np.concatenate([real, synth]))
    d, bound = ks_from_counts(_grid_points(real, synth, edges))
    assert bound == 0.0
    assert d == pytest.approx(ks_2samp(real, synth).statistic)


def test_ks_pvalue_is_small_for_a_shift_and_nan_without_rows():
    assert ks_pvalue(0.3, 1000, 1000) < 1e-10
    assert ks_pvalue(0.0, 1000, 1000) == pytest.approx(1.0)
    assert np.isnan(ks_pvalue(0.1, 0, 10))


def test_quantile_from_points_on_edges_and_inside_intervals():
    grid = [0.0, 10.0]
    # 50 real rows on edge 0 (pos 2), 50 inside (0, 10) (pos 3)
    pts = [(2, 50, 0, True), (3, 50, 100, False)]
    assert quantile_from_points(pts, grid, 0.25, 1) == 0.0
    assert quantile_from_points(pts, grid, 0.5, 2) == pytest.approx(5.0)


def test_tvd_and_cramers_v():
    assert tvd_from_counts({"a": 5, "b": 5}, {"a": 5, "b": 5}) == 0.0
    assert tvd_from_counts({"a": 10}, {"b": 3}) == 1.0
    assert cramers_v({(0, 0): 50, (1, 1): 50}) == pytest.approx(1.0)
    assert cramers_v({(0, 0): 25, (0, 1): 25, (1, 0): 25, (1, 1): 25}) == pytest.approx(0.0)


def test_thresholds_override_and_reject_unknown_names():
    assert Thresholds.of({"ks": 0.05}).ks == 0.05
    assert Thresholds.of(None).tvd == 0.1
    with pytest.raises(ValueError, match="Unknown validation threshold"):
        Thresholds.of({"kss": 0.1})


def _result(name: str = "age", value: str = "x") -> ValidationResult:
    rows = [
        MetricRow("t", "column", name, "ks", value=0.3, threshold=0.1, passed=False, score=0.7),
        MetricRow("t", "column", "c", "tvd", value=0.0, threshold=0.1, passed=True, score=1.0),
        MetricRow("t", "pair", f"{name} × c", "corr", real=0.5, synthetic=0.1, value=0.4, threshold=0.1,
                  passed=False, score=0.8),
        MetricRow("t", "column", name, "ks_pvalue", value=float("nan")),
    ]
    tables = {"t": {"rows": {"real": 10, "synthetic": 10}, "score": 0.83, "column_shapes": 0.85,
                    "pair_trends": 0.8, "skipped_columns": [], "missing_columns": [],
                    "columns": {name: {"kind": "numerical", "metric": "ks", "value": 0.3, "passed": False,
                                       "plot": {"type": "hist", "edges": [0, 1, 2], "real": [0.5, 0.5],
                                                "synthetic": [0.2, 0.8]}, "stats": {}, "quantiles": {}},
                                "c": {"kind": "categorical", "metric": "tvd", "value": 0.0, "passed": True,
                                      "n_invented": 1, "invented": [value], "n_missing": 0,
                                      "plot": {"type": "bars", "labels": [value], "real": [1.0],
                                               "synthetic": [1.0]}}},
                    "pairs": {"columns": [name, "c"], "real": [[1, 0.5], [0.5, 1]],
                              "synthetic": [[1, 0.1], [0.1, 1]], "method": [["", "cramers_v"], ["cramers_v", ""]]}}}
    return ValidationResult(rows=rows, thresholds=Thresholds(), tables=tables)


def test_result_scores_worst_and_json():
    r = _result()
    assert r.column_shapes == pytest.approx(0.85)
    assert r.pair_trends == pytest.approx(0.8)
    assert r.score == pytest.approx(0.825)
    assert r.passed is False
    assert [w.metric for w in r.worst(2)] == ["ks", "corr"]
    data = json.loads(r.to_json())  # NaN became null, so this is strict JSON
    assert data["rows"][3]["value"] is None
    assert "FAIL t.age ks=0.3" in r.summary()


def test_report_escapes_names_and_values_everywhere():
    evil = "<script>window.__pwned=1;document.title='PWNED'</script>"
    value = '<img src=x onerror="document.title=\'PWNED\'">'
    page = render_html(_result(evil, value))
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;window.__pwned=1;document.title=&#x27;PWNED&#x27;&lt;/script&gt;" in page
    assert page.count("<svg") >= 3  # histogram, bars and heatmap
    assert "Content-Security-Policy" in page
