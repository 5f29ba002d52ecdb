"""PII on Spark: detection on a sample, scrub as one mapInPandas, leak scans, and checks before any job."""

from __future__ import annotations

import logging
import re

import pandas as pd
import pytest

from pyspark_synth import Metadata, PIIRule, PrivacyError
from pyspark_synth.privacy import ENV_VAR, apply_rules_to_metadata, hmac_hex, rules_from_detection
from pyspark_synth.spark.pii import scan_leaks, scrub

KEY = "spark-test-secret-0123456789abcdef"
CJK = re.compile(r"[\u3040-\u30FF\u4E00-\u9FFF]")
COUNTRIES = ["Japan", "DE", "FR", "BR", "ES", "US"]


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def customers_pdf():
    from faker import Faker

    rows = []
    for i in range(36):
        country = COUNTRIES[i % 6]
        f = Faker({"Japan": "ja_JP", "DE": "de_DE", "FR": "fr_FR", "BR": "pt_BR", "ES": "es_ES", "US": "en_US"}[country])
        f.seed_instance(i)
        rows.append({"customer_id": i, "name": f.name(), "email": f"cust{i}.{f.user_name()}@example.com",
                     "phone": f.phone_number(), "country": country, "signup_amount": float(i) * 2.5})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def customers(spark, customers_pdf):
    return spark.createDataFrame(customers_pdf)


@pytest.fixture(scope="module")
def orders(spark, customers_pdf):
    emails = customers_pdf.email.tolist()
    return spark.createDataFrame(pd.DataFrame({"order_id": range(60), "buyer_email": [emails[i % 30] for i in range(60)]}))


def _job_ids(spark, group):
    return list(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


def test_detect_scrub_join_and_leak_scan_end_to_end(spark, customers, orders, customers_pdf):
    dets = customers.synth.detect_pii(sample_rows=30)  # one bounded job
    kinds = {d.column: d.kind for d in dets}
    assert kinds == {"name": "person_name", "email": "email", "phone": "phone"}
    frame = customers.select("email", "signup_amount").synth.detect_pii(sample_rows=10, output="spark")
    assert frame.columns[:3] == ["column", "kind", "confidence"]
    assert [(r.column, r.kind) for r in frame.collect()] == [("email", "email")]  # a small local frame
    rules = rules_from_detection(dets, locale_column="country")
    assert {c: r.action for c, r in rules.items()} == {"name": "fake", "email": "hash", "phone": "fake"}
    md = Metadata().add_table("customers", pk="customer_id", columns={
        "customer_id": "id", "name": "text", "email": "text", "phone": "text", "country": "categorical",
        "signup_amount": "numerical"})
    table = apply_rules_to_metadata(md, "customers", rules).table("customers")

    scrubbed = customers.synth.scrub(table, key=KEY)
    scrubbed_orders = scrub(orders, {"buyer_email": PIIRule(action="hash")}, key=KEY)
    assert scrubbed.columns == customers.columns
    assert dict(scrubbed.dtypes)["email"] == "string" and dict(scrubbed.dtypes)["signup_amount"] == "double"

    out = scrubbed.toPandas().sort_values("customer_id").reset_index(drop=True)
    originals = set(customers_pdf.name) | set(customers_pdf.email) | set(customers_pdf.phone)
    cells = set(out[["name", "email", "phone"]].to_numpy().ravel())
    assert not originals & cells  # zero original values, checked directly
    assert out.email.tolist() == [hmac_hex(KEY.encode(), e) for e in customers_pdf.email]
    japan = out[customers_pdf.country == "Japan"]
    assert japan.name.map(lambda v: bool(CJK.search(v))).all()
    assert not out[customers_pdf.country != "Japan"].name.map(lambda v: bool(CJK.search(v))).any()

    # joins on the hashed key give the same pairs as on the original key
    assert scrubbed_orders.join(scrubbed, scrubbed_orders.buyer_email == scrubbed.email).count() == 60

    clean = spark.synth.scan_leaks(customers, scrubbed, columns=table)
    assert clean.ok and clean.real_columns == ["name", "email", "phone"], clean.summary()
    assert "No leak" in clean.summary()


def test_scan_leaks_finds_a_planted_leak(spark, customers, customers_pdf):
    leaked = customers_pdf.email[3]
    synthetic = spark.createDataFrame(pd.DataFrame({
        "id": [1, 2, 3], "note": ["fine", leaked, "also fine"], "contact": ["x@y.org", "z@y.org", leaked]}))
    report = scan_leaks(customers, synthetic, columns=["email", "name"])
    assert not report.ok and report.total_rows == 2
    pairs = {(f["real_column"], f["synthetic_column"]): f for f in report.findings}
    assert set(pairs) == {("email", "note"), ("email", "contact")}
    example = pairs[("email", "note")]["examples"][0]
    assert example != leaked and example.endswith(leaked[-2:]) and set(example[:-2]) == {"*"}
    assert report.frame.count() == 2 and "LEAK email -> note" in report.summary()
    assert leaked not in report.summary()


def test_bad_rules_fail_before_any_spark_job(spark, customers):
    group = "pyspark-synth-privacy-validation"
    spark.sparkContext.setJobGroup(group, "validation must not run jobs")
    try:
        cases = [
            ({"nme": "drop"}, r"column\(s\) \['nme'\].*Known columns"),
            ({"name": {"action": "encrypt"}}, r"unknown action 'encrypt'"),
            ({"email": "hash"}, r"need a secret HMAC key.*spark.synth.hmacKey"),
            ({"name": {"action": "custom", "function": "no_such_module:f"}}, r"cannot be imported"),
            ({"name": PIIRule(action="fake", kind="person_name", locale_column="cc")}, r"locale from column 'cc'"),
        ]
        for rules, msg in cases:
            with pytest.raises(PrivacyError, match=msg):
                customers.synth.scrub(rules)
        with pytest.raises(PrivacyError, match=r"no column\(s\) \['nope'\]"):
            scan_leaks(customers, customers, columns=["nope"])
        assert _job_ids(spark, group) == []
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)


def test_key_from_spark_conf_never_shown(spark, spark_conf, customers, customers_pdf, caplog):
    from pyspark_synth import set_log_level

    secret = "conf-secret-never-shown-7777"
    spark_conf("spark.synth.hmacKey", secret)
    set_log_level("DEBUG", stream=False)
    try:
        with caplog.at_level(logging.DEBUG, logger="pyspark_synth"):
            out = scrub(customers.select("customer_id", "email"), {"email": "hash", "customer_id": "keep"})
            first = out.orderBy("customer_id").first()
    finally:
        set_log_level("WARNING", stream=False)
    assert first.email == hmac_hex(secret.encode(), customers_pdf.email[0])
    texts = [caplog.text, str(out), out._jdf.queryExecution().toString(), str(first)]
    assert all(secret not in t for t in texts)
    assert "key_fingerprint" in caplog.text

