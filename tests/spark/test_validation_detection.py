"""Detection (a Spark ML GBTClassifier telling synthetic rows from real ones): known answers on tiny data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import Metadata
from pyspark_synth.validation import validate
from pyspark_synth.validation.detection import detect_table


def _draw(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    """A small table with dependent columns; `shift` moves column y."""
    x = rng.normal(0, 1, n)
    return pd.DataFrame({
        "x": x,
        "y": 2 * x + rng.normal(0, 0.5, n) + shift,
        "k": np.where(x + rng.normal(0, 1, n) > 0, "hi", "lo"),
    })


@pytest.mark.slow
def test_a_fresh_sample_scores_near_chance_and_a_shifted_column_near_one(spark):
    rng = np.random.default_rng(21)
    real = spark.createDataFrame(_draw(rng, 300))
    same = spark.createDataFrame(_draw(rng, 300))  # a fresh sample of the same generator
    shifted = spark.createDataFrame(_draw(rng, 300, shift=3.0))
    kw = {"privacy": False, "pairs": False, "detection": True, "detection_folds": 3, "detection_trees": 10}
    fresh = validate(real, same, **kw)
    moved = validate(real, shifted, **kw)
    (f,) = [r for r in fresh.rows if r.metric == "detection_accuracy"]
    (m,) = [r for r in moved.rows if r.metric == "detection_accuracy"]
    assert abs(f.value - 0.5) < 0.12 and f.passed is True
    assert m.value > 0.9 and m.passed is False and m.threshold == 0.9
    det = moved.tables["table"]["detection"]
    assert det["features"][0]["name"] == "y"  # the shifted column gives the rows away
    assert len(det["folds"]) == 3 and det["rows_per_side"] == 300
    assert json.loads(m.detail)["top_features"][0]["name"] == "y"
    assert moved.detection == pytest.approx(m.value)
    page = moved.to_html()
    assert "What gives the rows away" in page and "Detection accuracy" in page


def test_children_per_parent_are_joined_in_and_give_the_rows_away(spark):
    """Parents alike on both sides, but every synthetic parent has exactly two children while real
    parents have 0 to 4: only the joined child count can tell them apart."""
    rng = np.random.default_rng(22)
    n = 200
    counts = np.arange(n) % 5  # 0..4 children, mean 2

    def side(child_counts: np.ndarray) -> dict[str, pd.DataFrame]:
        parents = pd.DataFrame({"pid": range(n), "age": rng.normal(40, 5, n)})
        pids = np.repeat(np.arange(n), child_counts)
        children = pd.DataFrame({"cid": range(len(pids)), "pid": pids, "amount": rng.gamma(2, 10, len(pids))})
        return {"parents": spark.createDataFrame(parents), "orders": spark.createDataFrame(children)}

    md = (
        Metadata()
        .add_table("parents", pk="pid", columns={"pid": "id", "age": "numerical"})
        .add_table("orders", pk="cid", fk={"pid": "parents.pid"},
                   columns={"cid": "id", "pid": "id", "amount": "numerical"})
    )
    real, synth = side(counts), side(np.full(n, 2))
    det = detect_table("parents", real, synth, md, (n, n), folds=3, trees=10, seed=1)
    assert det["children"] == ["orders"]
    assert det["accuracy"] > 0.8
    assert det["features"][0]["name"] == "orders: children per row"
    names = {f["name"] for f in det["features"]}
    assert names <= {"age", "orders: children per row", "orders: mean amount", "orders: mean amount is null"}


def test_detection_is_optional_and_skips_tables_too_small_to_cross_validate(spark):
    rng = np.random.default_rng(23)
    df = spark.createDataFrame(_draw(rng, 6))
    off = validate(df, df, privacy=False, pairs=False, detection=False)
    assert "detection" not in off.tables["table"] and off.detection is None
    assert "detection" not in validate(df, df, privacy=False, pairs=False).tables["table"]  # off by default
    tiny = validate(df, df, privacy=False, pairs=False, detection=True)
    det = tiny.tables["table"]["detection"]
    assert det["accuracy"] is None and "too few rows: 6 a side" in det["reason"]
    assert not [r for r in tiny.rows if r.kind == "detection"]
