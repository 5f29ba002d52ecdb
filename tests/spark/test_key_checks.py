"""Primary keys with null or repeated values in the real data: counted, reported and handled at fit."""

from __future__ import annotations

import pandas as pd
import pytest

from pyspark_synth import DataError, Metadata, Synthesizer, fit_database, fit_table
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.spark.fit_database import FitReport
from pyspark_synth.validation.integrity import check_primary_key, unique_key_rows

pytestmark = pytest.mark.filterwarnings("ignore")


def _shop(spark):
    """customers: id 3 twice, id 5 three times, two null ids; orders: id 101 twice, one null id."""
    customers = pd.DataFrame({
        "customer_id": pd.array([1, 2, 3, 3, 4, 5, 5, 5, None, None, 6, 7], dtype="Int64"),
        "age": [20, 31, 42, 43, 54, 25, 26, 27, 60, 61, 33, 48],
    })
    orders = pd.DataFrame({
        "order_id": pd.array([100, 101, 101, 102, 103, 104, None, 105], dtype="Int64"),
        "customer_id": pd.array([1, 2, 3, 3, 4, 5, 6, 7], dtype="Int64"),
        "amount": [5.0, 7.5, 1.0, 2.0, 9.0, 3.5, 4.0, 8.0],
    })
    md = Metadata().add_table("customers", pk="customer_id")
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    return md, {"customers": spark.createDataFrame(customers), "orders": spark.createDataFrame(orders)}


def test_check_primary_key_counts_nulls_and_repeats(spark):
    _, frames = _shop(spark)
    chk = check_primary_key("customers", frames["customers"], ("customer_id",))
    assert (chk.rows, chk.null_rows, chk.duplicate_rows, chk.duplicate_values) == (12, 2, 5, 2)
    assert chk.examples == ((5,), (3,)) and chk.dropped_rows == 5 and not chk.ok
    assert chk.message() == ("Primary key 'customers.customer_id': 2 of 12 rows (16.7%) have a null key; "
                             "5 of 12 rows share 2 key values (e.g. 5, 3)")
    clean = check_primary_key("t", spark.range(50).selectExpr("id", "id % 3 AS g"), ["id"])
    assert clean.ok and clean.examples == () and clean.message() == "Primary key 't.id': all 50 rows unique"
    # a composite key: a null in any column is a null key, repeats are of the whole tuple
    pairs = spark.createDataFrame([(1, 1), (1, 2), (1, 2), (None, 2), (2, None)], "a INT, b INT")
    both = check_primary_key("link", pairs, ("a", "b"))
    assert (both.null_rows, both.duplicate_rows, both.duplicate_values, both.examples) == (2, 2, 1, ((1, 2),))


def test_the_kept_row_of_a_repeated_key_does_not_depend_on_partitioning(spark):
    df = spark.range(2_000).selectExpr("id % 100 AS k", "id AS v")
    kept = unique_key_rows(df, ["k"], seed=4)
    rows = sorted(tuple(r) for r in kept.collect())
    assert len(rows) == 100 and [r[0] for r in rows] == list(range(100))
    again = sorted(tuple(r) for r in unique_key_rows(df.repartition(7, "v"), ["k"], seed=4).collect())
    assert rows == again
    other = sorted(tuple(r) for r in unique_key_rows(df, ["k"], seed=5).collect())
    assert other != rows  # the seed picks the row: not simply the first one read


def test_fit_database_reports_and_drops_null_and_repeated_keys_by_default(spark, tmp_path):
    md, frames = _shop(spark)
    report = fit_database(spark, md, frames, backend="copula", seed=1, registry=ModelRegistry(tmp_path))
    checks = {c.table: c for c in report.key_checks}
    assert (checks["customers"].null_rows, checks["customers"].duplicate_rows) == (2, 5)
    assert (checks["orders"].null_rows, checks["orders"].duplicate_rows, checks["orders"].duplicate_values) == (1, 2, 1)
    notes = [n for n in report.notes if "policy 'drop' applied" in n and n.startswith("Primary key")]
    assert len(notes) == 2
    assert "Primary key 'customers.customer_id': 2 of 12 rows" in notes[0] and "5 rows dropped" in notes[0]
    assert "7 kept" in notes[0] and "2 rows dropped" in notes[1] and "6 kept" in notes[1]
    # the models see one row per key value and no null key
    assert report.entries["customers"].row_count == 7 and report.entries["orders"].row_count == 6
    assert report.entries["customers"].spec.row_count == 7
    # every order's customer is still there (only null-key and repeated customers were dropped)
    assert all(c.ok for c in report.fk_checks)


def test_fit_database_refuses_broken_keys_when_asked_before_any_model(spark, tmp_path):
    md, frames = _shop(spark)
    reg = ModelRegistry(tmp_path)
    with pytest.raises(DataError, match=r"(?s)on_duplicate_key='refuse'.*customers\.customer_id': 2 of 12 rows.*"
                                        r"orders\.order_id': 1 of 8 rows.*on_duplicate_key='drop'"):
        fit_database(spark, md, frames, backend="copula", seed=1, registry=reg, on_duplicate_key="refuse")
    assert reg.tables() == []  # nothing was fitted
    # clean keys pass the refusing policy
    ok = fit_database(spark, md, {"customers": frames["customers"].where("customer_id NOT IN (3, 5)")
                                  .where("customer_id IS NOT NULL"),
                                  "orders": frames["orders"].where("order_id IS NOT NULL AND order_id != 101")},
                      backend="copula", seed=1, registry=reg, on_duplicate_key="refuse")
    assert all(c.ok for c in ok.key_checks) and len(ok.key_checks) == 2


def test_an_unknown_key_policy_is_refused_before_any_spark_job(spark, tmp_path):
    md, _ = _shop(spark)
    missing = {"customers": str(tmp_path / "no-such-table"), "orders": str(tmp_path / "no-such-table")}
    with pytest.raises(DataError, match=r"on_duplicate_key must be one of \['drop', 'refuse'\], got 'dedupe'"):
        fit_database(spark, md, missing, backend="copula", on_duplicate_key="dedupe")
    with pytest.raises(DataError, match=r"on_duplicate_key must be one of \['drop', 'refuse'\], got 'skip'"):
        fit_table(spark.range(3), table="t", backend="copula", on_duplicate_key="skip")


def test_fit_table_notes_dropped_keys_in_its_spec_and_refuses_when_asked(spark, tmp_path):
    md, frames = _shop(spark)
    reg = ModelRegistry(tmp_path)
    entry = fit_table(frames["customers"], table="customers", metadata=md, backend="copula", seed=3, registry=reg)
    assert entry.row_count == 7
    (note,) = [n for n in entry.spec.notes if n.startswith("Primary key")]
    assert "2 of 12 rows (16.7%) have a null key" in note and "policy 'drop' applied: 5 rows dropped" in note
    again = fit_table(frames["customers"].repartition(3), table="customers", metadata=md, backend="copula", seed=3,
                      registry=reg)
    assert again.spec.stats == entry.spec.stats  # the same rows kept
    with pytest.raises(DataError, match=r"Primary key 'customers.customer_id': 2 of 12 rows"):
        fit_table(frames["customers"], table="customers", metadata=md, backend="copula", registry=reg,
                  on_duplicate_key="refuse")


@pytest.mark.slow
def test_the_policy_reaches_fit_through_the_accessors_and_the_synthesizer(spark, tmp_path):
    md, frames = _shop(spark)
    reg = ModelRegistry(tmp_path)
    with pytest.raises(DataError, match=r"on_duplicate_key='refuse'"):
        frames["customers"].synth.fit(table="customers", metadata=md, backend="copula", registry=reg,
                                      on_duplicate_key="refuse")
    with pytest.raises(DataError, match=r"on_duplicate_key='refuse'"):
        spark.synth.fit(md, frames, backend="copula", registry=reg, on_duplicate_key="refuse")
    syn = Synthesizer(md, spark_session=spark, backend="copula", registry=reg)
    with pytest.raises(DataError, match=r"on_duplicate_key='refuse'"):
        syn.fit(frames, sampling_strategy="none", on_duplicate_key="refuse")
    with pytest.raises(DataError, match=r"Synthesizer.fit: on_duplicate_key must be one of"):
        syn.fit(frames, sampling_strategy="none", on_duplicate_key="first")
    syn.fit(frames, sampling_strategy="none", seed=2)
    report: FitReport = syn.fit_report_
    assert {c.table for c in report.key_checks if not c.ok} == {"customers", "orders"}
