"""benchmarks/relational.py's scores of issue 23: key checks, SyntheRela-style detection, targets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "relational.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_relational", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _md(tables: dict[str, pd.DataFrame], ids: dict[str, list[str]]) -> dict:
    return {"tables": {t: {"columns": {c: {"sdtype": "id" if c in ids.get(t, []) else "numerical"}
                                       for c in df.columns}} for t, df in tables.items()}}


FKS = [{"child": "c", "child_cols": ["pid"], "parent": "p", "parent_cols": ["id"]}]


def test_key_checks_flag_nulls_the_real_key_never_has_and_orphans(bench):
    real = {"p": pd.DataFrame({"id": [1, 2]}), "c": pd.DataFrame({"pid": [1, 2, 2]})}
    synth = {"p": pd.DataFrame({"id": [1.0, 2.0]}), "c": pd.DataFrame({"pid": [1, None, 3]})}
    (check,) = bench.key_checks(real, synth, FKS)
    assert check["null_failure"] and check["orphans"] == 1 and not check["ok"]
    assert check["synth_null"] == pytest.approx(1 / 3)
    # a key null in the real data too is no failure; 1 and 1.0 are the same key
    real["c"] = pd.DataFrame({"pid": [1, None, 2]})
    synth["c"] = pd.DataFrame({"pid": [1, None, 2]})
    (check,) = bench.key_checks(real, synth, FKS)
    assert check["ok"] and check["orphans"] == 0


def test_detection_frame_carries_children_count_and_means_without_ids(bench):
    tables = {"p": pd.DataFrame({"id": [1, 2, 3], "a": [0.5, 1.5, 2.5]}),
              "c": pd.DataFrame({"cid": [10, 11, 12], "pid": [1, 1, 3], "x": [2.0, 4.0, 9.0]})}
    md = _md(tables, {"p": ["id"], "c": ["cid", "pid"]})
    f = bench.detection_frame(tables, "p", {"p": ["id"], "c": ["cid"]}, FKS, md)
    assert "id" not in f.columns
    assert f["__c0_count"].tolist() == [2, 0, 1]
    assert f["__c0_mean_x"].tolist()[0] == 3.0 and np.isnan(f["__c0_mean_x"].tolist()[1])
    assert list(bench.detection_frame(tables, "c", {"p": ["id"], "c": ["cid"]}, FKS, md).columns) == ["x"]


def test_detection_accuracy_tells_shifted_rows_and_not_alike_ones(bench):
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=600), "k": rng.choice(["a", "b"], 600)})
    alike = pd.DataFrame({"x": rng.normal(size=600), "k": rng.choice(["a", "b"], 600)})
    shifted = pd.DataFrame({"x": rng.normal(3.0, size=600), "k": rng.choice(["a", "b"], 600)})
    assert bench.detection_accuracy(real, alike) < 0.6
    assert bench.detection_accuracy(real, shifted) > 0.9
    assert bench.detection_accuracy(real.iloc[:3], alike) is None
    # an all-null or constant feature (sakila's staff.picture) is no feature: it broke the binning
    null = real.assign(x=np.nan, k="a")
    assert bench.detection_accuracy(null, null.copy()) == 0.5
    assert bench.detection_accuracy(real.assign(p=np.nan), shifted.assign(p=np.nan)) > 0.9


def test_targets_are_marked_met_or_not(bench):
    row = {"dataset": "d", "scope": "full schema", "tables": ["c", "p"], "engine": "ours-copula",
           "scores": {"all_pairs": {"score": 0.95, "Intertable Trends": 0.80},
                      "diagnostic": {"Relationship Validity": 1.0},
                      "intertable_by_relationship": [{"parent": "p", "child": "c", "foreign_key": "pid",
                                                      "pairs": 1, "score": 0.8}]},
           "relational": {"tables": {"p": {"real_rows": 100, "synth_rows": 100, "row_error": 0.0, "detection": 0.6},
                                     "c": {"real_rows": 100, "synth_rows": 95, "row_error": -0.05, "detection": 0.9}},
                          "keys": [{"child": "c", "columns": ["pid"], "parent": "p", "orphans": 0, "real_null": 0.0,
                                    "synth_null": 0.1, "null_failure": True, "ok": False}]}}
    vals = bench.targets(row)
    assert vals["mean_detection"] == pytest.approx(0.75) and vals["max_row_error"] == pytest.approx(0.05)
    assert vals["validity"] == 0.0  # SDMetrics says 1.0, the null check fails
    text = "\n".join(bench.render_targets([row]))
    assert "0.9500 (met)" in text and "0.8000 (NOT met)" in text and "| 1/5 |" in text
    assert "-5.00% / 0.9000" in text and "c.(pid) -> p: 0 orphans, null 10.00%" in text
