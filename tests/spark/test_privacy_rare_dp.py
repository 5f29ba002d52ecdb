"""Rare-value protection and differential privacy through fit_table / fit_database (issue 19):
the threshold from PrivacyConfig, the notes and spent budget in the stored spec, refusals before any job."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import (
    Metadata,
    PrivacyConfig,
    PrivacyError,
    fit_database,
    fit_table,
    sample_table,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
N = 300


def people() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"person_id": np.arange(N), "city": rng.choice(["Paris", "Lyon", "Nice"], N),
                       "salary": rng.normal(50_000, 5_000, N).round(2)})
    df.loc[3, "city"] = "Tiny Village"
    df.loc[4, "salary"] = 9_999_999.0
    return df


def metadata() -> Metadata:
    return Metadata().add_table("people", pk="person_id", columns={
        "person_id": {"type": "id"}, "city": {"type": "categorical"}, "salary": {"type": "numerical"}})


def _jobs(spark, group: str, fn):  # noqa: ANN001, ANN202
    spark.sparkContext.setJobGroup(group, group)
    try:
        return fn()
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)


def test_rare_values_through_fit_table(spark, tmp_path):
    df = spark.createDataFrame(people())
    entry = fit_table(df, table="people", metadata=metadata(), backend="copula", registry=str(tmp_path / "r"),
                      pii="ignore", privacy=PrivacyConfig(rare_threshold=5))
    spec = entry.spec
    assert any("rare-value protection (k=5) on 'city'" in n for n in spec.notes)
    assert any("rare-value protection (k=5) on 'salary'" in n for n in spec.notes)
    assert spec.stats["salary"].max is None and spec.stats["person_id"].max == N - 1  # keys keep their range
    assert "9999999" not in spec.to_json() and "Tiny Village" not in spec.to_json()
    out = sample_table(spark, "people", 2_000, seed=1, registry=str(tmp_path / "r")).toPandas()
    assert not (out["city"] == "Tiny Village").any() and out["salary"].max() < 1_000_000
    off = fit_table(df, table="people", metadata=metadata(), backend="copula", registry=str(tmp_path / "r"),
                    pii="ignore", privacy=PrivacyConfig(rare_threshold=0))
    assert not any("rare-value protection" in n for n in off.spec.notes) and off.spec.stats["salary"].max == 9_999_999.0


def test_dp_fit_table_stores_the_spent_budget(spark, tmp_path):
    df = spark.createDataFrame(people())
    cfg = PrivacyConfig(enable_differential_privacy=True, epsilon=2.0)
    entry = fit_table(df, table="people", metadata=metadata(), backend="autoregressive", epochs=1,
                      registry=str(tmp_path / "r"), pii="ignore", privacy=cfg)
    dp = entry.spec.model_report["differential_privacy"]
    assert 0 < dp["epsilon"] <= 2.0 and dp["delta"] == pytest.approx(1 / (10 * N)) and dp["accountant"] == "rdp"
    assert any("epsilon=" in n and "not covered" in n for n in entry.spec.notes)
    assert sample_table(spark, "people", 50, seed=1, registry=str(tmp_path / "r")).count() == 50


def test_dp_and_the_rare_threshold_reach_the_tables_trained_in_a_spark_job(spark, tmp_path):
    """fit_database trains its tables in the tasks of one Spark job (fit_in="spark"): the job each
    task rebuilds keeps the privacy settings (it dropped them: DP-SGD and k silently lost)."""
    df = spark.createDataFrame(people())
    cfg = PrivacyConfig(enable_differential_privacy=True, epsilon=2.0, rare_threshold=7)
    report = fit_database(spark, metadata(), {"people": df}, backend="autoregressive", epochs=1,
                          registry=str(tmp_path / "r"), pii="ignore", privacy=cfg, fit_in="spark")
    spec = report.entries["people"].spec
    assert 0 < spec.model_report["differential_privacy"]["epsilon"] <= 2.0
    assert any("rare-value protection (k=7)" in n for n in spec.notes), spec.notes


def test_dp_refuses_the_copula_before_any_job(spark, tmp_path):
    df = spark.createDataFrame(people())
    cfg = PrivacyConfig(enable_differential_privacy=True)
    with pytest.raises(PrivacyError, match="backend 'copula' has no differential-privacy mode"):
        _jobs(spark, "dp-copula-table", lambda: fit_table(df, table="people", metadata=metadata(), backend="copula",
                                                          registry=str(tmp_path / "r"), privacy=cfg))
    with pytest.raises(PrivacyError, match="backend 'copula' has no differential-privacy mode"):
        _jobs(spark, "dp-copula-db", lambda: fit_database(spark, metadata(), {"people": df}, backend="copula",
                                                          registry=str(tmp_path / "r"), privacy=cfg))
    tracker = spark.sparkContext.statusTracker()
    assert not tracker.getJobIdsForGroup("dp-copula-table") and not tracker.getJobIdsForGroup("dp-copula-db")
    assert not (tmp_path / "r").exists()


def test_dp_spec_keeps_no_exact_column_statistics_and_warns_what_dp_does_not_cover(spark, tmp_path):
    """Under DP the spec has no exact null rates or min/max of non-key columns, the encoders' DP
    statistics are accounted and described, and what DP does not cover is warned and noted."""
    from pyspark_synth.errors import PrivacyWarning

    df = spark.createDataFrame(people())
    cfg = PrivacyConfig(enable_differential_privacy=True, epsilon=2.0)
    with pytest.warns(PrivacyWarning, match="shapes of its generated keys"):
        entry = fit_table(df, table="people", metadata=metadata(), backend="auto", epochs=1,
                          registry=str(tmp_path / "r"), pii="ignore", privacy=cfg)
    spec = entry.spec
    assert spec.backend == "autoregressive" and set(spec.stats) == {"person_id"}
    assert spec.model_report["differential_privacy"]["statistics"]["releases_per_row"] == 3  # city 1, salary 2
    assert any("under differential privacy: category values" in n for n in spec.notes), spec.notes
    assert any("stores no statistics (null rate, min/max) of 2 non-key" in n for n in spec.notes)
    assert "Tiny Village" not in spec.to_json()

    child = pd.DataFrame({"order_id": np.arange(3 * N), "person_id": np.repeat(np.arange(N), 3),
                          "amount": np.random.default_rng(2).gamma(2.0, 30.0, 3 * N).round(2)})
    meta = metadata().add_table("orders", pk="order_id", fk={"person_id": "people.person_id"}, columns={
        "order_id": {"type": "id"}, "person_id": {"type": "id"}, "amount": {"type": "numerical"}})
    with pytest.warns(PrivacyWarning, match="child-count laws"):
        report = fit_database(spark, meta, {"people": df, "orders": spark.createDataFrame(child)}, epochs=1,
                              registry=str(tmp_path / "db"), pii="ignore", privacy=cfg, fit_in="driver")
    orders = report.entries["orders"].spec
    assert orders.backend == "autoregressive"
    assert any("does not cover its foreign keys' child-count laws" in n for n in orders.notes)


def test_a_text_column_of_one_row_values_comes_back_in_their_shape_not_null(spark, tmp_path):
    """Company names of a 60-row table, no word in 5 rows: the word model had nothing to draw
    and the column came back null on every row (real: never); now two capitalised words, none real."""
    rng = np.random.default_rng(4)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))

    def word() -> str:
        return "".join(rng.choice(letters, rng.integers(3, 9))).capitalize()

    real = pd.DataFrame({"firm_id": np.arange(60), "company": [f"{word()} {word()}" for _ in range(60)],
                         "staff": rng.integers(1, 50, 60)})
    md = Metadata().add_table("firms", pk="firm_id", columns={
        "firm_id": {"type": "id"}, "company": {"type": "text"}, "staff": {"type": "numerical"}})
    fit_table(spark.createDataFrame(real), table="firms", metadata=md, backend="copula",
              registry=str(tmp_path / "r"), pii="ignore")
    out = sample_table(spark, "firms", 300, seed=1, registry=str(tmp_path / "r")).toPandas()
    assert out["company"].notna().all() and out["company"].str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()
    assert not set(out["company"]) & set(real["company"])
