"""Spark SQL access: CALL synth.fit / sample / validate / models and SELECT * FROM synth_sample(...)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality

from pyspark_synth import Metadata, SynthError
from pyspark_synth.io.catalog import CATALOG_SCHEMA, save_metadata
from pyspark_synth.spark import sql as synth_sql
from pyspark_synth.spark.sample_table import sample_table

pytestmark = pytest.mark.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[2]


def shop_frames(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 200
    customers = pd.DataFrame({
        "customer_id": np.arange(1, n + 1, dtype=np.int64),
        "city": rng.choice(["Tokyo", "Berlin", "Lima"], n, p=[0.5, 0.3, 0.2]),
        "age": rng.integers(18, 80, n).astype(np.int64),
        "signup": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 10**8, n), unit="s"),
        "score": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 10, n)),
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
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    return md


@pytest.fixture(scope="module")
def sql(spark, tmp_path_factory):
    """The plugin active on a private registry and catalog table, with `shop.customers/orders` saved."""
    keys = {"spark.synth.registryRoot": str(tmp_path_factory.mktemp("sql-registry")),
            "spark.synth.catalogTable": "synth_sql_test_metadata"}
    saved = {k: spark.conf.get(k, None) for k in keys}
    for k, v in keys.items():
        spark.conf.set(k, v)
    spark.sql("CREATE DATABASE IF NOT EXISTS shop")
    for name, pdf in shop_frames().items():
        spark.createDataFrame(pdf).write.mode("overwrite").saveAsTable(f"shop.{name}")
    save_metadata(spark, shop_metadata(), name="shop")
    activation = synth_sql.activate(spark)
    yield activation
    for k, v in saved.items():
        spark.conf.unset(k) if v is None else spark.conf.set(k, v)
    spark.sql("DROP DATABASE IF EXISTS sandbox CASCADE")
    spark.sql("DROP DATABASE IF EXISTS sandbox_db CASCADE")
    spark.sql("DROP DATABASE IF EXISTS shop CASCADE")


@pytest.fixture(scope="module")
def fitted(spark, sql):
    """`customers` fitted from SQL, its metadata taken from the catalog set named after the schema."""
    # `city` looks like PII (a city), which the default policy would fake at sampling; these tests
    # are about SQL, so it is learned as it is (tests/spark/test_privacy_fit_paths.py: the default)
    return spark.sql("CALL synth.fit(table => 'shop.customers', backend => 'copula', seed => 1, pii => 'ignore')"
                     ).collect()


def test_activate_registers_procedures_and_table_function(spark, sql):
    assert sql.catalog == "synth" and {"fit", "sample", "validate", "models"} <= set(sql.procedures)
    assert sql.table_functions == ("synth_sample",)
    assert spark.conf.get("spark.sql.catalog.synth") == synth_sql.CATALOG_CLASS
    desc = "\n".join(r[0] for r in spark.sql("DESCRIBE PROCEDURE synth.sample").collect())
    assert "sample" in desc
    assert synth_sql.jar_path(build=False).name.startswith("pyspark-synth-sql-spark")


def test_fit_reads_metadata_from_the_catalog_table(spark, fitted):
    (row,) = fitted
    assert (row.table_name, row.source, row.metadata_name, row.backend) == ("customers", "shop.customers", "shop", "copula")
    assert row.model_version >= 1 and row.row_count == 200
    models = spark.sql("CALL synth.models()").collect()
    assert [m.table_name for m in models] == ["customers"]


def test_call_sample_writes_the_output_table(spark, fitted):
    (res,) = spark.sql(
        "CALL synth.sample(table => 'customers', num_rows => 1000, seed => 7, output => 'sandbox.customers_synth')"
    ).collect()
    assert (res.table_name, res.output, res.num_rows, res.seed) == ("customers", "sandbox.customers_synth", 1000, 7)
    out = spark.table("sandbox.customers_synth")
    assert out.count() == 1000
    assert out.columns == ["customer_id", "city", "age", "signup", "score"]
    assert out.select("customer_id").distinct().count() == 1000
    assert {r.city for r in out.select("city").distinct().collect()} <= {"Tokyo", "Berlin", "Lima"}


def test_call_sample_is_deterministic_for_a_seed(spark, fitted):
    a = spark.sql("CALL synth.sample(table => 'customers', num_rows => 300, seed => 11)")
    b = spark.sql("CALL synth.sample('customers', 300, 11)")  # positional arguments
    c = spark.sql("CALL synth.sample('customers', 300, 12)")
    assert_df_equality(a, b, ignore_row_order=True)
    assert_df_equality(a, sample_table(spark, "customers", 300, seed=11), ignore_row_order=True)
    assert sorted(a.collect()) != sorted(c.collect())


def test_table_function_gives_the_rows_of_sample_table(spark, fitted, spark_conf):
    spark_conf("spark.sql.session.timeZone", "America/Lima")  # timestamps read like mapInPandas reads them
    tvf = spark.sql("SELECT * FROM synth_sample('customers', 120, 5)")
    named = spark.sql("SELECT count(*) AS n FROM synth_sample(table => 'customers', num_rows => 50)").first().n
    assert named == 50
    assert_df_equality(tvf, sample_table(spark, "customers", 120, seed=5), ignore_row_order=True)


def test_a_user_registered_backend_samples_from_sql(spark, fitted):
    # the table function carries the user's model class to the Python workers (defined in a
    # function, it travels by value; workers never ran register_backend)
    from pyspark_synth.models.base import _BACKENDS, register_backend
    from pyspark_synth.spark.fit_table import fit_table
    from pyspark_synth.spark.table_functions import register_table_functions
    from tests.e2e.test_synthesizer import _marginals_backend

    register_backend("marginals", _marginals_backend())
    try:
        fit_table(spark.table("shop.customers"), table="customers_user", backend="marginals", seed=2, pii="ignore")
        register_table_functions(spark)
        tvf = spark.sql("SELECT * FROM synth_sample('customers_user', 40, 3)")
        assert_df_equality(tvf, sample_table(spark, "customers_user", 40, seed=3), ignore_row_order=True)
        assert {r.city for r in tvf.select("city").distinct().collect()} <= {"Tokyo", "Berlin", "Lima"}
        called = spark.sql("CALL synth.sample(table => 'customers_user', num_rows => 25, seed => 3)")
        assert called.count() == 25
    finally:
        import shutil

        from pyspark_synth.io.registry import registry_for

        _BACKENDS.pop("marginals", None)
        register_table_functions(spark)
        reg = registry_for(spark)
        shutil.rmtree(reg.root / reg.namespace / "customers_user", ignore_errors=True)


def test_unknown_table_reads_as_the_not_fitted_error(spark, sql):
    with pytest.raises(Exception, match=r"synth\.sample: NotFittedError: Table 'nope' has no fitted model") as info:
        spark.sql("CALL synth.sample(table => 'nope', num_rows => 10, output => 'sandbox.nope')").collect()
    assert "Call fit() first" in str(info.value) and "\tat " not in str(info.value)
    with pytest.raises(Exception, match="synth_sample: Table 'nope' has no fitted model"):
        spark.sql("SELECT * FROM synth_sample('nope', 10)").collect()


def test_argument_errors_say_how_to_call(spark, sql):
    with pytest.raises(Exception, match=r"needs either table => .* or tables => "):
        spark.sql("CALL synth.sample(num_rows => 10)").collect()
    with pytest.raises(Exception, match="UNRECOGNIZED_PARAMETER_NAME"):
        spark.sql("CALL synth.sample(tabel => 'customers')").collect()
    with pytest.raises(Exception, match=r"Unknown procedure synth\.smaple\. Procedures: fit, models, sample, validate"):
        spark.sql("CALL synth.smaple()").collect()


def test_not_active_says_how_to_activate(spark, fitted):
    synth_sql.deactivate(spark)
    try:
        with pytest.raises(Exception, match=r"not active in this JVM: run pyspark_synth\.spark\.sql\.activate\(spark\)"):
            spark.sql("CALL synth.models()").collect()
    finally:
        spark.synth.activate()
    assert spark.sql("CALL synth.models()").count() == 1


def test_call_works_from_another_python_thread(spark, fitted):
    out: dict = {}

    def run() -> None:
        try:
            out["rows"] = spark.sql("CALL synth.models()").collect()
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            out["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert "error" not in out, out.get("error")
    assert [r.table_name for r in out["rows"]] == ["customers"]


def test_call_validate_returns_metric_rows(spark, fitted):
    spark.sql("CALL synth.sample(table => 'customers', num_rows => 200, seed => 3, output => 'sandbox.customers_v')").collect()
    rows = spark.sql("CALL synth.validate(real => 'shop.customers', synthetic => 'sandbox.customers_v')").collect()
    metrics = {(r.name, r.metric) for r in rows}
    assert ("age", "ks") in metrics and ("city", "tvd") in metrics


def test_call_fit_takes_the_key_policy(spark, fitted):
    before = [(m.table_name, m.model_version) for m in spark.sql("CALL synth.models()").collect()]
    real = spark.table("shop.customers")
    real.unionByName(real.orderBy("customer_id").limit(3)).write.mode("overwrite").saveAsTable("shop.customers_dups")
    try:
        with pytest.raises(Exception, match=r"(?s)on_duplicate_key='refuse'.*Primary key 'customers\.customer_id': "
                                            r"6 of 203 rows share 3 key values \(e\.g\. 1, 2, 3\)"):
            spark.sql("CALL synth.fit(table => 'shop.customers_dups', name => 'customers', metadata => 'shop', "
                      "backend => 'copula', on_duplicate_key => 'refuse')").collect()
        with pytest.raises(Exception, match=r"synth\.fit: on_duplicate_key must be one of \['drop', 'refuse'\]"):
            spark.sql("CALL synth.fit(table => 'shop.customers', on_duplicate_key => 'first')").collect()
    finally:
        spark.sql("DROP TABLE IF EXISTS shop.customers_dups")
    assert [(m.table_name, m.model_version) for m in spark.sql("CALL synth.models()").collect()] == before



def test_call_fit_takes_copy_lookups_for_a_database(spark, fitted):
    from pyspark_synth.spark.procedures import _copy_lookups

    assert _copy_lookups("TRUE") is True and _copy_lookups("false") is False
    assert _copy_lookups(" genres, media_types ") == ["genres", "media_types"]
    before = [(m.table_name, m.model_version) for m in spark.sql("CALL synth.models()").collect()]
    with pytest.raises(Exception, match=r"copy_lookups applies to a database \(tables => '<metadata name>'\)"):
        spark.sql("CALL synth.fit(table => 'shop.customers', copy_lookups => 'false')").collect()
    with pytest.raises(Exception, match=r"copy_lookups => ' , ': give 'true', 'false' or table names"):
        spark.sql("CALL synth.fit(tables => 'shop', copy_lookups => ' , ')").collect()
    with pytest.raises(Exception, match=r"copy_lookups names \['genres'\], which are not tables of the metadata"):
        spark.sql("CALL synth.fit(tables => 'shop', copy_lookups => 'genres')").collect()
    assert [(m.table_name, m.model_version) for m in spark.sql("CALL synth.models()").collect()] == before


def sql_statements(path) -> list[str]:
    """The statements of a .sql file (line comments dropped, split on semicolons)."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


def test_setup_ddl_matches_the_catalog_schema(spark):
    from pyspark.sql.types import StructType

    (ddl,) = [s for s in sql_statements(ROOT / "sql" / "setup.sql") if s.startswith("CREATE TABLE")]
    spark.sql(ddl.replace("synth_metadata", "synth_ddl_check"))
    try:
        got = StructType([f.__class__(f.name, f.dataType) for f in spark.table("synth_ddl_check").schema])
        assert got == StructType([f.__class__(f.name, f.dataType) for f in StructType.fromDDL(CATALOG_SCHEMA)])
    finally:
        spark.sql("DROP TABLE IF EXISTS synth_ddl_check")


@pytest.mark.slow
def test_sql_examples_run_and_give_a_consistent_database(spark, fitted):
    for statement in sql_statements(ROOT / "sql" / "examples.sql"):
        spark.sql(statement).collect()
    assert spark.table("sandbox.customers_synth").count() == 1000
    customers, orders = spark.table("sandbox.customers"), spark.table("sandbox.orders")
    assert customers.count() == 20  # scale 0.1 of 200
    assert orders.count() > 0 and orders.join(customers, "customer_id", "left_anti").count() == 0
    models = {(r.table_name, r.model_version) for r in spark.sql("CALL synth.models()").collect()}
    assert {t for t, _ in models} == {"customers", "orders"}

def test_jar_build_needs_javac(monkeypatch, tmp_path):
    monkeypatch.setattr(synth_sql, "_find_javac", lambda: None)
    with pytest.raises(SynthError, match=r"no javac to build it\. Install a JDK \(17 or later\)"):
        synth_sql.build_jar(tmp_path)
