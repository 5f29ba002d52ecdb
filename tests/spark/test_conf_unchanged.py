"""No public entry point changes the caller's session conf (`dict(spark.conf.getAll)` before == after).

The only changes allowed are the documented purpose of two functions: `activate()` registers the
`synth` catalog (`spark.sql.catalog.synth`), and `start_thrift_server()` sets the Thrift server's
`hive.server2.*` bind address, port and transport (checked in tests/e2e/test_thrift.py, where the
one Thrift server of the test process starts).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

import pyspark_synth as ps
from pyspark_synth.io.catalog_registry import CatalogRegistry, migrate_registry
from pyspark_synth.io.readers import read_table
from pyspark_synth.io.registry import ModelRegistry, registry_for
from pyspark_synth.spark.checkpoints import release_kept
from pyspark_synth.spark.pii import detect_pii, scan_leaks, scrub
from pyspark_synth.spark.procedures import call_procedure
from pyspark_synth.spark.subset import relational_sample
from pyspark_synth.validation import validate

pytestmark = pytest.mark.filterwarnings("ignore")

KEY = "0123456789abcdef0123456789abcdef"
ACTIVATE_KEYS = {"spark.sql.catalog.synth"}
THRIFT_KEYS = {"hive.server2.thrift.bind.host", "hive.server2.thrift.port", "hive.server2.transport.mode"}


@contextmanager
def conf_unchanged(spark, what: str, allowed: set[str] = frozenset()):
    before = dict(spark.conf.getAll)
    yield
    after = dict(spark.conf.getAll)
    changed = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
               if before.get(k) != after.get(k) and k not in allowed}
    assert not changed, f"{what} changed the session conf: {changed}"


def _frames(spark):
    rng = np.random.default_rng(1)
    n = 80
    customers = pd.DataFrame({"customer_id": np.arange(1, n + 1), "city": rng.choice(["Oslo", "Lima"], n),
                              "email": [f"c{i}@example.org" for i in range(n)]})
    k = rng.integers(0, 4, n)
    orders = pd.DataFrame({"order_id": np.arange(1, k.sum() + 1), "customer_id": np.repeat(customers.customer_id, k).to_numpy(),
                           "amount": rng.gamma(2.0, 10.0, k.sum()).round(2)})
    return {"customers": spark.createDataFrame(customers), "orders": spark.createDataFrame(orders)}


def _metadata():
    md = ps.Metadata()
    md.add_table("customers", pk="customer_id")
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    return md


@pytest.fixture(scope="module")
def shop(spark):
    return _frames(spark)


@pytest.mark.slow
def test_metadata_fit_and_sample_leave_the_conf_alone(spark, shop, tmp_path):
    md = _metadata()
    reg = CatalogRegistry(spark, namespace="conf-test")
    with conf_unchanged(spark, "detect_metadata"):
        ps.detect_metadata(shop, spark=spark)
    with conf_unchanged(spark, "save_metadata / load_metadata"):
        ps.save_metadata(spark, md, "conf_test_md")
        ps.load_metadata(spark, "conf_test_md")
    with conf_unchanged(spark, "check_metadata_against_data"):
        ps.check_metadata_against_data(md, shop)
    with conf_unchanged(spark, "fit_database"):
        report = ps.fit_database(spark, md, shop, backend="copula", seed=1, registry=reg)
    with conf_unchanged(spark, "fit_table"):
        ps.fit_table(shop["customers"], table="conf_customers", backend="copula", seed=1, registry=reg)
        ps.fit_table(shop["customers"], table="conf_customers", backend="copula", seed=1,
                     registry=ModelRegistry(tmp_path / "dir-registry"))
    with conf_unchanged(spark, "explain / database_spec"):
        ps.explain(spark, md, {"customers": 30}, registry=reg)
        ps.database_spec(spark, md, registry=reg)
    with conf_unchanged(spark, "sample_table / sample_database / sample_children"):
        ps.sample_table(spark, "conf_customers", 20, seed=2, registry=reg).count()
        out = ps.sample_database(spark, md, {"customers": 30}, seed=2, registry=reg)
        out["orders"].count()
        ps.sample_children(spark, "orders", out["customers"], seed=2, registry=reg).count()
    with conf_unchanged(spark, "relational_sample"):
        from pyspark_synth.relational.plan import build_plan

        relational_sample(build_plan(md), dict(shop), 40, seed=1)["orders"].count()
    with conf_unchanged(spark, "write_table / write_tables / read_table"):
        paths = ps.write_tables(out, str(tmp_path / "delta"), format="delta")
        ps.write_table(out["customers"], str(tmp_path / "parquet"), format="parquet")
        read_table(spark, paths["orders"]).count()
    with conf_unchanged(spark, "validate / to_html / to_dataframe"):
        result = validate(shop, out, report.metadata, pairs=False)
        result.to_html(tmp_path / "report.html")
        result.to_dataframe(spark).count()
    with conf_unchanged(spark, "registry listing / get / versions"):
        reg.listing()
        reg.get("customers")
        registry_for(spark).tables()
    release_kept(spark)


@pytest.mark.slow
def test_pii_synthesizer_and_migration_leave_the_conf_alone(spark, shop, tmp_path):
    customers = shop["customers"]
    with conf_unchanged(spark, "detect_pii / scrub / scan_leaks"):
        detect_pii(customers)
        scrubbed = scrub(customers, {"email": "hash"}, key=KEY)
        scan_leaks(customers, scrubbed, columns=["email"])
    with conf_unchanged(spark, "Synthesizer fit / sample / validate"):
        syn = ps.Synthesizer(_metadata(), ps.PrivacyConfig(rules={"customers": {"email": "hash"}}, key=KEY),
                             spark_session=spark, backend="copula")
        syn.fit(shop, epochs=1, seed=3)
        syn.sample({"customers": 20}, output_path=str(tmp_path / "syn"), output_format="parquet", seed=1)
        syn.validate()
    with conf_unchanged(spark, "migrate_registry"):
        old = ModelRegistry(tmp_path / "old-registry", "conf-migrate")
        ps.fit_table(customers, table="conf_old", backend="copula", seed=1, registry=old)
        migrate_registry(spark, str(tmp_path / "old-registry"), registry=CatalogRegistry(spark, "conf_migrated_models"))


@pytest.mark.slow
def test_sql_leaves_the_conf_alone_except_activate_registering_its_catalog(spark, shop, tmp_path):
    from pyspark_synth.spark.sql import activate
    from pyspark_synth.spark.table_functions import register_table_functions

    shop["customers"].write.mode("overwrite").saveAsTable("default.conf_sql_customers")
    with conf_unchanged(spark, "activate", allowed=ACTIVATE_KEYS):
        activate(spark)
    with conf_unchanged(spark, "register_table_functions"):
        register_table_functions(spark)
    with conf_unchanged(spark, "procedures (call_procedure and CALL)"):
        call_procedure(spark, "fit", table="default.conf_sql_customers", backend="copula", seed=1).collect()
        call_procedure(spark, "sample", table="conf_sql_customers", num_rows=10, seed=1).collect()
        call_procedure(spark, "models").collect()
        spark.sql("CALL synth.sample(table => 'default.conf_sql_customers', num_rows => 10, seed => 2)").collect()
        spark.sql("CALL synth.validate(real => 'default.conf_sql_customers', "
                  "synthetic => 'default.conf_sql_customers')").collect()
        spark.sql("SELECT * FROM synth_sample('conf_sql_customers', 10, 3)").collect()
