"""Every public entry point on a Spark Connect session (no SparkContext, no py4j, no driver JVM here).

Metadata detect / save / load, fitting a table and a database, sampling, writing, validating with
the HTML report, PII detection / scrubbing / the leak scan, the `Synthesizer`, the SQL table
function and the catalog model registry, all on a Connect client of a local server.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pyspark_synth  # noqa: F401 - registers the accessors
from pyspark_synth import (
    Metadata,
    PIIRule,
    PrivacyConfig,
    Synthesizer,
    check_metadata_against_data,
    detect_metadata,
    explain,
    fit_database,
    fit_table,
    load_metadata,
    sample_children,
    sample_database,
    sample_table,
    write_tables,
)
from pyspark_synth.errors import NotFittedError, SynthError
from pyspark_synth.io.catalog_registry import CatalogRegistry
from pyspark_synth.io.readers import read_table
from pyspark_synth.io.registry import registry_for
from pyspark_synth.spark.checkpoints import kept_relations, release_kept

KEY = "0123456789abcdef0123456789abcdef"


def shop_frames(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 120
    customers = pd.DataFrame({
        "customer_id": np.arange(1, n + 1, dtype=np.int64),
        "city": rng.choice(["Tokyo", "Berlin", "Lima"], n, p=[0.5, 0.3, 0.2]),
        "age": rng.integers(18, 80, n).astype(np.int64),
        "email": [f"user{i}@example.com" for i in range(n)],
    })
    counts = rng.poisson(2.0, n)
    orders = pd.DataFrame({
        "order_id": np.arange(1000, 1000 + counts.sum(), dtype=np.int64),
        "customer_id": np.repeat(customers.customer_id.to_numpy(), counts),
        "amount": rng.gamma(2.0, 15.0, counts.sum()).round(2),
    })
    return {"customers": customers, "orders": orders}


def shop_metadata() -> Metadata:
    md = Metadata()
    md.add_table("customers", pk="customer_id")
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"}, parent_context_cols=["city"])
    return md


@pytest.fixture(scope="module")
def shop(spark):
    return {name: spark.createDataFrame(pdf) for name, pdf in shop_frames().items()}


@pytest.fixture(scope="module")
def fitted(spark, shop):
    """The shop fitted (copula) into the session's default registry: the catalog table."""
    reg = CatalogRegistry(spark, namespace="connect-shop")
    report = fit_database(spark, shop_metadata(), shop, backend="copula", seed=1, registry=reg)
    return report, reg


def test_the_default_registry_is_the_catalog_table(spark):
    reg = registry_for(spark)
    assert isinstance(reg, CatalogRegistry) and str(reg.name) == "synth_models"


def test_metadata_detect_save_load(spark, shop):
    report = detect_metadata(shop, spark=spark)
    md = report.metadata
    assert md.tables["customers"].primary_key == ("customer_id",)
    assert [fk.parent_table for fk in md.tables["orders"].foreign_keys] == ["customers"]
    assert spark.synth.save_metadata(md, "connect_md") == "connect_md"
    assert load_metadata(spark, "`default`.`connect_md`") == md  # quoted and qualified names
    cols = spark.sql("SELECT column_name FROM connect_md WHERE record_type = 'column' AND table_name = 'orders'")
    assert {r.column_name for r in cols.collect()} == {"order_id", "customer_id", "amount"}
    assert [c.orphan_rows for c in check_metadata_against_data(md, shop)] == [0]


def test_fit_and_sample_a_database(spark, fitted):
    report, reg = fitted
    assert set(report.entries) == {"customers", "orders"}
    assert reg.versions("customers") == [1]
    text = explain(spark, None, {"customers": 40}, registry=reg)
    assert text.startswith("2 tables, generated in this order:")
    out = sample_database(spark, None, {"customers": 40}, seed=5, registry=reg)
    customers, orders = out["customers"], out["orders"]
    assert customers.count() == 40 and orders.count() > 0
    assert orders.join(customers, "customer_id", "left_anti").where("customer_id IS NOT NULL").count() == 0
    again = sample_database(spark, None, {"customers": 40}, seed=5, registry=reg)
    assert sorted(again["orders"].collect()) == sorted(orders.collect())  # deterministic for a seed
    children = sample_children(spark, "orders", customers, seed=5, registry=reg)
    assert sorted(children.collect()) == sorted(orders.collect())
    # the kept (checkpointed) relations are tracked, and released explicitly
    assert kept_relations(spark) > 0
    assert release_kept(spark) > 0 and kept_relations(spark) == 0


def test_fit_and_sample_one_table_by_any_form_of_its_name(spark, shop):
    shop["customers"].write.mode("overwrite").saveAsTable("default.connect_customers")
    entry = fit_table(spark.table("spark_catalog.default.connect_customers"), table="default.connect_customers",
                      backend="copula", seed=2)
    assert entry.table == "connect_customers"
    a = sample_table(spark, "`connect_customers`", 30, seed=3)
    b = spark.synth.sample("spark_catalog.default.connect_customers", 30, seed=3)
    assert a.count() == 30 and sorted(a.collect()) == sorted(b.collect())
    assert a.columns == ["customer_id", "city", "age", "email"]
    rows = spark.sql("SELECT table, version, backend, fitted_at FROM synth_models WHERE table = 'connect_customers'")
    assert [(r.table, r.version, r.backend) for r in rows.collect()] == [("connect_customers", entry.version, "copula")]
    with pytest.raises(NotFittedError, match=r"Table 'ghost' has no fitted model in the model registry table synth_models"):
        sample_table(spark, "ghost", 5)


def test_write_and_read_back(spark, fitted, tmp_path):
    _, reg = fitted
    out = sample_database(spark, None, {"customers": 25}, seed=7, registry=reg)
    paths = write_tables(out, str(tmp_path / "delta"), format="delta")
    parquet = spark.synth.write(out, str(tmp_path / "parquet"), format="parquet")
    for written in (paths, parquet):
        back = {t: read_table(spark, p) for t, p in written.items()}
        assert back["customers"].count() == 25
        assert back["orders"].count() == out["orders"].count()
    release_kept(spark)


def test_validate_and_the_html_report(spark, shop, fitted, tmp_path):
    report, reg = fitted
    synthetic = sample_database(spark, None, {"customers": 120}, seed=9, registry=reg)
    result = spark.synth.validate(shop, synthetic, report.metadata, pairs=False)
    assert 0.0 < result.score <= 1.0
    html = result.to_html(tmp_path / "report.html")
    assert "<html" in html.lower() and (tmp_path / "report.html").is_file()
    assert result.to_dataframe(spark).count() > 0
    release_kept(spark)


def test_pii_detect_scrub_and_leak_scan(spark, shop):
    customers = shop["customers"]
    found = {d.column: d.kind for d in customers.synth.detect_pii()}
    assert found.get("email") == "email"
    scrubbed = customers.synth.scrub({"email": "hash"}, key=KEY)
    assert scrubbed.where("email LIKE '%@%'").count() == 0
    assert spark.synth.scan_leaks(customers, scrubbed, columns=["email"]).ok
    leaked = spark.synth.scan_leaks(customers, customers.select("customer_id", "email"), columns=["email"])
    assert [(f["real_column"], f["synthetic_column"]) for f in leaked.findings] == [("email", "email")]


def test_synthesizer(spark, shop, tmp_path):
    md = shop_metadata()
    syn = Synthesizer(md, PrivacyConfig(rules={"customers": {"email": PIIRule(action="hash")}}, key=KEY),
                      spark_session=spark, backend="copula")
    syn.fit(shop, epochs=1, seed=3)
    assert isinstance(syn.registry_, CatalogRegistry) and syn.registry_.namespace.startswith("synthesizer-")
    paths = syn.sample({"customers": 30}, output_path=str(tmp_path / "out"), output_format="parquet", seed=4)
    assert read_table(spark, paths["customers"]).count() == 30
    result = syn.validate(report_path=tmp_path / "syn.html")
    assert result.score > 0 and (tmp_path / "syn.html").is_file()
    release_kept(spark)


def test_sql_on_connect_has_the_table_function_and_says_what_instead_of_call(spark, fitted):
    from pyspark_synth.spark.procedures import call_procedure
    from pyspark_synth.spark.sql import activate

    with pytest.raises(SynthError, match=r"CALL synth\.\* procedures .*Spark Connect.*SELECT \* FROM synth_sample"):
        activate(spark, procedures=True)
    activation = spark.synth.activate()
    assert activation.procedures == () and activation.table_functions == ("synth_sample",)
    got = spark.sql("SELECT * FROM synth_sample('default.connect_customers', 20, 3)")
    assert sorted(got.collect()) == sorted(sample_table(spark, "connect_customers", 20, seed=3).collect())
    # a model fitted after activation is served at once
    small = spark.createDataFrame(pd.DataFrame({"k": range(50), "v": ["x", "y"] * 25}))
    fit_table(small, table="connect_late", backend="copula", seed=1)
    assert spark.sql("SELECT count(*) AS n FROM synth_sample('connect_late', 15, 2)").first().n == 15
    # the procedures are plain functions of a session: usable here without CALL
    listed = call_procedure(spark, "models", table="connect_late").collect()
    assert [(r.table_name, r.backend) for r in listed] == [("connect_late", "copula")]
