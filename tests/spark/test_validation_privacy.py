"""validate() on Spark: lookup tables, null handling of the column shapes, DCR share and membership inference."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import Metadata
from pyspark_synth.errors import DataError
from pyspark_synth.validation import ValidationResult, validate


def _row(result: ValidationResult, table: str, name: str, metric: str):
    (row,) = [r for r in result.rows if (r.table, r.name, r.metric) == (table, name, metric)]
    return row


# ----------------------------------------------------------------------- lookup tables
@pytest.fixture(scope="module")
def lookups(spark) -> ValidationResult:
    """A 5-row and a 25-row code list copied as they are (two of the statuses in no fact: a code list
    need not be in use row for row), a 6-row customer table copied too (every one with facts, but its
    cities repeat: an entity table, judged), and a fact table referencing them all."""
    rng = np.random.default_rng(3)
    status = pd.DataFrame({"status_id": range(5), "label": ["new", "paid", "sent", "back", "lost"]})
    region = pd.DataFrame({"region_id": range(25), "name": [f"region {i}" for i in range(25)]})
    people = pd.DataFrame({"person_id": range(6), "city": ["a", "b", "a", "c", "b", "d"]})
    n = 200

    def facts() -> pd.DataFrame:
        return pd.DataFrame({"fact_id": range(n), "status_id": [i % 3 for i in range(n)],
                             "region_id": [i % 25 for i in range(n)], "person_id": [i % 6 for i in range(n)],
                             "amount": rng.normal(100, 10, n)})

    md = (
        Metadata()
        .add_table("status", pk="status_id", columns={"status_id": "id", "label": "categorical"})
        .add_table("region", pk="region_id", columns={"region_id": "id", "name": "categorical"})
        .add_table("people", pk="person_id", columns={"person_id": "id", "city": "categorical"})
        .add_table("facts", pk="fact_id",
                   fk={"status_id": "status.status_id", "region_id": "region.region_id",
                       "person_id": "people.person_id"},
                   columns={"fact_id": "id", "status_id": "id", "region_id": "id", "person_id": "id",
                            "amount": "numerical"})
    )
    real = {k: spark.createDataFrame(v) for k, v in
            {"status": status, "region": region, "people": people, "facts": facts()}.items()}
    synth = {k: spark.createDataFrame(v) for k, v in
             {"status": status, "region": region, "people": people, "facts": facts()}.items()}
    return validate(real, synth, md, pairs=False, detection=False, sample_rows=100)


def test_lookup_tables_are_copied_by_design_and_not_failed(lookups):
    for table, rows in (("status", 5), ("region", 25)):
        rate = _row(lookups, table, "*", "exact_copy_rate")
        assert rate.value == 1.0  # still reported
        assert rate.passed is None and rate.threshold is None
        assert rate.detail.startswith("lookup table") and f"{rows} distinct rows" in rate.detail
        assert "referenced by facts" in lookups.tables[table]["lookup"]
    assert not [r for r in lookups.failures if r.table in ("status", "region")]


def test_a_small_table_whose_attributes_repeat_is_no_lookup(lookups):
    rate = _row(lookups, "people", "*", "exact_copy_rate")
    assert lookups.tables["people"]["lookup"] is None
    assert rate.value == 1.0 and rate.passed is False
    assert lookups.tables["facts"]["lookup"] is None  # not referenced by anything


def test_lookup_tables_can_be_named_and_the_automatic_rule_turned_off(spark):
    df = spark.createDataFrame(pd.DataFrame({"code": ["a", "b", "c"], "text": ["x", "y", "z"]}))
    plain = validate(df, df, pairs=False, detection=False)
    assert _row(plain, "table", "*", "exact_copy_rate").passed is False
    named = validate(df, df, pairs=False, detection=False, lookup_tables=["table"])
    assert _row(named, "table", "*", "exact_copy_rate").passed is None
    assert named.passed and named.tables["table"]["lookup"] == "named in lookup_tables"


def test_unknown_lookup_table_is_refused_before_any_job(spark):
    df = spark.range(3)
    with pytest.raises(DataError, match=r"lookup_tables names \['nope'\].*Known tables: \['table'\]"):
        validate(df, df, lookup_tables=["nope"])
    with pytest.raises(ValueError, match="detection_folds must be an integer of at least 2, got 1"):
        validate(df, df, detection_folds=1)


# ------------------------------------------------------------------------ null shares
def test_tvd_leaves_nulls_out_like_sdmetrics_and_the_null_share_is_checked_apart(spark):
    """A 28%-null real column against a synthetic one with 10% nulls and the same value shares:
    the shape (TVD over non-null values) is perfect, the null-share check fails."""
    n = 1000
    real = ["a"] * 360 + ["b"] * 360 + [None] * 280
    synth = ["a"] * 450 + ["b"] * 450 + [None] * 100
    result = validate(spark.createDataFrame(pd.DataFrame({"c": real}).astype(object), "c string"),
                      spark.createDataFrame(pd.DataFrame({"c": synth}).astype(object), "c string"),
                      privacy=False, detection=False)
    tvd = _row(result, "table", "c", "tvd")
    assert tvd.value == pytest.approx(0.0) and tvd.passed is True
    assert json.loads(tvd.detail)["nulls"].startswith("left out")
    assert _row(result, "table", "c", "tvd_with_nulls").value == pytest.approx(0.18)
    null = _row(result, "table", "c", "null_share")
    assert (null.real, null.synthetic) == (pytest.approx(0.28), pytest.approx(0.10))
    assert null.value == pytest.approx(0.18) and null.passed is False and null.threshold == 0.1
    assert result.column_shapes == pytest.approx(1.0)
    assert result.null_shares == pytest.approx(0.82)
    assert n == len(real) == len(synth)


def test_tvd_matches_sdmetrics_on_a_column_with_nulls(spark):
    """SDMetrics' TVComplement drops nulls: ours is the same number (0.818-vs-0.864 in the issue)."""
    rng = np.random.default_rng(5)
    real = pd.Series(rng.choice(["x", "y", "z"], 800, p=[0.5, 0.3, 0.2]), dtype=object)
    real[rng.random(800) < 0.28] = None
    synth = pd.Series(rng.choice(["x", "y", "z"], 700, p=[0.3, 0.3, 0.4]), dtype=object)
    synth[rng.random(700) < 0.05] = None
    result = validate(spark.createDataFrame(pd.DataFrame({"c": real}), "c string"),
                      spark.createDataFrame(pd.DataFrame({"c": synth}), "c string"), privacy=False, detection=False)
    r, s = real.dropna().value_counts(normalize=True), synth.dropna().value_counts(normalize=True)
    expected = 0.5 * sum(abs(r.get(k, 0) - s.get(k, 0)) for k in set(r.index) | set(s.index))
    assert _row(result, "table", "c", "tvd").value == pytest.approx(expected, abs=1e-9)
    with_nulls = _row(result, "table", "c", "tvd_with_nulls").value
    assert with_nulls != pytest.approx(expected, abs=1e-3)


# --------------------------------------------------------------- DCR share and membership
def _people(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": rng.normal(0, 1, n), "y": rng.normal(5, 2, n), "k": rng.choice(["a", "b", "c"], n)})


def test_memorised_rows_fail_dcr_share_and_membership_a_fresh_sample_passes(spark):
    rng = np.random.default_rng(11)
    train, hold = _people(rng, 300), _people(rng, 300)
    noise = rng.normal(0, 0.01, (300, 2))
    memorised = train.assign(x=train["x"] + noise[:, 0], y=train["y"] + noise[:, 1])  # near copies
    fresh = _people(rng, 300)
    kw = {"pairs": False, "detection": False, "sample_rows": 300}
    df = spark.createDataFrame
    bad = validate(df(train), df(memorised), holdout=df(hold), **kw)
    good = validate(df(train), df(fresh), holdout=df(hold), **kw)
    share_bad, share_good = _row(bad, "table", "*", "dcr_share"), _row(good, "table", "*", "dcr_share")
    assert share_bad.value > 0.95 and share_bad.passed is False
    assert 0.4 < share_good.value < 0.6 and share_good.passed is True
    auc_bad, auc_good = _row(bad, "table", "*", "membership_auc"), _row(good, "table", "*", "membership_auc")
    assert auc_bad.value > 0.9 and auc_bad.passed is False
    assert 0.4 < auc_good.value < 0.6 and auc_good.passed is True
    assert good.tables["table"]["privacy"]["dcr_share"]["n_each"] == 300


def test_no_dcr_share_or_membership_without_a_holdout(spark):
    rng = np.random.default_rng(12)
    df = spark.createDataFrame(_people(rng, 100))
    result = validate(df, df, pairs=False, detection=False)
    metrics = {r.metric for r in result.rows if r.kind == "privacy"}
    assert "exact_copy_rate" in metrics and "dcr_share" not in metrics and "membership_auc" not in metrics
