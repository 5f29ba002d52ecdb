"""Metadata detection on Spark, the catalog metadata table and the accessors."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession

import pyspark_synth
from pyspark_synth import Metadata, MetadataError, SynthError
from pyspark_synth.io.catalog import load_metadata, save_metadata
from pyspark_synth.spark.accessors import register_accessor


@pytest.fixture(scope="module")
def shop_frames(spark):
    customers = pd.DataFrame({"customer_id": range(1, 41), "country": ["JP", "DE", "US", "FR"] * 10,
                              "age": [20 + i % 50 for i in range(40)]})
    orders = pd.DataFrame({"order_id": range(100, 220), "customer_id": [1 + i % 45 for i in range(120)],
                           "amount": [float(i % 17) * 3.5 for i in range(120)]})
    return {"customers": spark.createDataFrame(customers), "orders": spark.createDataFrame(orders)}


def test_detect_finds_types_keys_and_reports_orphans(spark, shop_frames):
    report = spark.synth.detect_metadata(shop_frames)
    md = report.metadata
    assert md.table("customers").primary_key == ("customer_id",)
    assert md.table("orders").primary_key == ("order_id",)
    fk = md.table("orders").foreign_keys[0]
    assert (fk.columns, fk.parent_table) == (("customer_id",), "customers")
    assert md.table("customers").column("country").type == "categorical"
    assert md.table("orders").column("amount").type == "numerical"
    # customer ids 41..45 have no parent: reported with counts, not dropped
    (chk,) = report.fk_checks
    assert chk.orphan_distinct == 5 and chk.orphan_rows == sum(1 for i in range(120) if 1 + i % 45 > 40)
    assert "have no parent row" in report.warnings[0]


def test_detect_composite_key_by_shared_columns(spark):
    w = pd.DataFrame({"origin": ["A", "B"] * 6, "hour": [h for h in range(6) for _ in range(2)], "temp": [i % 3 for i in range(12)]})
    f = pd.DataFrame({"origin": ["A", "B", "A"] * 5, "hour": [i % 6 for i in range(15)], "delay": range(15)})
    md = Metadata.detect({"weather": spark.createDataFrame(w), "flights": spark.createDataFrame(f)})
    assert set(md.table("weather").primary_key) == {"origin", "hour"}
    fk = md.table("flights").foreign_keys[0]
    assert fk.parent_table == "weather" and set(fk.columns) == {"origin", "hour"}


def test_catalog_round_trip_and_sql_readable(spark, shop_frames):
    md = spark.synth.detect_metadata(shop_frames).metadata
    name = spark.synth.save_metadata(md, "md_roundtrip")
    assert name == "md_roundtrip"
    assert spark.synth.load_metadata("md_roundtrip") == md
    rows = spark.sql("SELECT table_name, column_name, semantic_type FROM md_roundtrip WHERE record_type = 'column' "
                     "AND table_name = 'orders' ORDER BY position").collect()
    assert [r.column_name for r in rows] == ["order_id", "customer_id", "amount"]
    # saving again replaces, not duplicates
    save_metadata(spark, md, "md_roundtrip")
    assert spark.sql("SELECT count(*) FROM md_roundtrip WHERE record_type = 'table'").first()[0] == 2


def test_catalog_edit_with_sql_is_picked_up(spark, shop_frames):
    md = spark.synth.detect_metadata(shop_frames).metadata
    save_metadata(spark, md, "md_edit")
    spark.sql(
        "CREATE OR REPLACE TEMP VIEW edited AS SELECT metadata_name, record_type, table_name, column_name, position, "
        "sql_type, CASE WHEN column_name = 'age' THEN 'categorical' ELSE semantic_type END AS semantic_type, nullable, "
        "primary_key, pii_kind, CASE WHEN column_name = 'country' THEN 'hash' ELSE pii_action END AS pii_action, detail, "
        "library_version, updated_at FROM md_edit")
    spark.table("edited").write.mode("overwrite").saveAsTable("md_edit2")
    again = load_metadata(spark, "md_edit2")
    assert again.table("customers").column("age").type == "categorical"
    assert again.table("customers").column("country").pii.action == "hash"


def test_catalog_conf_default_name_and_errors(spark, spark_conf, shop_frames):
    md = spark.synth.detect_metadata(shop_frames).metadata
    spark_conf("spark.synth.catalogTable", "md_from_conf")
    assert save_metadata(spark, md) == "md_from_conf"
    assert load_metadata(spark) == md
    with pytest.raises(MetadataError, match=r"holds no metadata named 'other'. Names present: \['default'\]"):
        load_metadata(spark, name="other")
    with pytest.raises(MetadataError, match=r"Catalog table 'no_such_table' does not exist"):
        load_metadata(spark, "no_such_table")


def test_catalog_rejects_invalid_edits(spark, shop_frames):
    md = spark.synth.detect_metadata(shop_frames).metadata
    save_metadata(spark, md, "md_bad")
    spark.sql("SELECT * FROM md_bad").where("NOT (record_type = 'table' AND table_name = 'customers')") \
        .write.mode("overwrite").saveAsTable("md_bad2")
    with pytest.raises(MetadataError, match=r"there is no 'table' row for table 'customers'"):
        load_metadata(spark, "md_bad2")


_CATALOG_COLUMNS = ("metadata_name, record_type, table_name, column_name, position, sql_type, semantic_type, "
                    "nullable, primary_key, pii_kind, pii_action, detail, library_version, updated_at")


def _sql_edit(spark, source: str, target: str, **expressions: str) -> None:
    """Copy catalog table `source` to `target` with some fields replaced by SQL expressions."""
    cols = [f"{expressions[c]} AS {c}" if c in expressions else c for c in _CATALOG_COLUMNS.split(", ")]
    spark.sql(f"SELECT {', '.join(cols)} FROM {source}").write.mode("overwrite").saveAsTable(target)


def test_catalog_sql_edits_are_named_as_what_they_are(spark, shop_frames):
    md = spark.synth.detect_metadata(shop_frames).metadata
    save_metadata(spark, md, "md_hand")
    # a misspelt record type was left out by the query, so the foreign key vanished silently
    _sql_edit(spark, "md_hand", "md_hand_type",
              record_type="CASE WHEN record_type = 'foreign_key' THEN 'foreignkey' ELSE record_type END")
    with pytest.raises(MetadataError, match=r"catalog row \(foreignkey, table 'orders', column 'customer_id'\): "
                                            r"record_type 'foreignkey'\. Known record types: \['table', 'column', "
                                            r"'foreign_key', 'model'\]"):
        load_metadata(spark, "md_hand_type")
    _sql_edit(spark, "md_hand", "md_hand_pk", primary_key="CASE WHEN record_type = 'table' AND table_name = "
                                                          "'customers' THEN 'cust_id' ELSE primary_key END")
    with pytest.raises(MetadataError, match=r"catalog row \(table, table 'customers'\): the primary_key 'cust_id' "
                                            r"names column\(s\) \['cust_id'\] that table 'customers' has no "
                                            r"'column' row for"):
        load_metadata(spark, "md_hand_pk")
    _sql_edit(spark, "md_hand", "md_hand_colpk", primary_key="CASE WHEN column_name = 'age' THEN 'age' "
                                                             "ELSE primary_key END")
    with pytest.raises(MetadataError, match=r"\['primary_key'\] is set, but a 'column' row does not read it"):
        load_metadata(spark, "md_hand_colpk")
    # the registry's model rows under the same name are not metadata, and do not get in the way
    from pyspark_synth.io.catalog import read_records, write_records

    model = {"metadata_name": "default", "record_type": "model", "table_name": "orders", "position": 1,
             "semantic_type": "copula", "detail": '{"version": 1}'}
    write_records(spark, [model], "md_hand")
    assert {r["record_type"] for r in read_records(spark, "md_hand")} == {"table", "column", "foreign_key", "model"}
    assert load_metadata(spark, "md_hand") == md


def test_a_primary_key_edited_on_a_table_without_column_rows(spark, shop_frames, tmp_path):
    bare = Metadata().add_table("customers", pk="customer_id")
    bare.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    save_metadata(spark, bare, "md_bare")
    _sql_edit(spark, "md_bare", "md_bare_pk", primary_key="CASE WHEN table_name = 'customers' THEN 'cust_id' "
                                                          "ELSE primary_key END")
    with pytest.raises(MetadataError, match=r"catalog row \(foreign_key, table 'orders', column 'customer_id'\): "
                                            r"references customers\(customer_id\), but the 'table' row of "
                                            r"'customers' has primary_key 'cust_id'"):
        load_metadata(spark, "md_bare_pk")
    # with no foreign key to disagree, the key is checked against the data's columns when fitting
    save_metadata(spark, Metadata().add_table("customers", pk="customer_id"), "md_bare_one")
    _sql_edit(spark, "md_bare_one", "md_bare_one_pk", primary_key="'cust_id'")
    loaded = load_metadata(spark, "md_bare_one_pk")
    with pytest.raises(MetadataError, match=r"Table 'customers': the metadata does not fit the data's columns "
                                            r"\['customer_id', 'country', 'age'\]: .*primary key uses column\(s\) "
                                            r"\['cust_id'\] that the table does not have"):
        pyspark_synth.fit_database(spark, loaded, {"customers": shop_frames["customers"]}, backend="copula",
                                   registry=str(tmp_path))


@pytest.mark.slow  # a second Spark session in a subprocess
def test_catalog_survives_a_new_session(tmp_path):
    """Save in one SparkSession, stop it, load in a new one on the same warehouse (Hive metastore)."""
    code = textwrap.dedent(f"""
        from pyspark_synth import Metadata
        from pyspark_synth.io.catalog import save_metadata, load_metadata
        from pyspark_synth.spark.session import get_or_create_session
        md = Metadata().add_table("c", pk="id", columns={{"id": "id", "x": "numerical"}})
        md.add_table("o", pk="oid", fk={{"cid": "c.id"}}, columns={{"oid": "id", "cid": "id"}})
        s1 = get_or_create_session(master="local[1]", warehouse={str(tmp_path)!r}, hive=True)
        save_metadata(s1, md, "synth_md")
        s1.stop()
        from pyspark.sql import SparkSession
        assert SparkSession.getActiveSession() is None
        s2 = get_or_create_session(master="local[1]", warehouse={str(tmp_path)!r}, hive=True)
        assert s2 is not s1
        assert load_metadata(s2, "synth_md") == md.validate()
        print("ROUNDTRIP-OK")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "ROUNDTRIP-OK" in out.stdout, out.stderr[-3000:]


def test_accessors_are_shortcuts_and_refuse_to_shadow(spark, shop_frames):
    assert isinstance(spark.synth, pyspark_synth.spark.accessors.SessionSynth)
    md = shop_frames["customers"].synth.detect_metadata("customers")
    assert md.table("customers").primary_key == ("customer_id",)

    class Other:
        pass

    with pytest.raises(SynthError, match=r"already has an attribute 'count'"):
        register_accessor(DataFrame, "count", Other)
    with pytest.raises(SynthError, match=r"already has an attribute 'synth'"):
        register_accessor(SparkSession, "synth", Other)
    # re-registering the same accessor is a no-op
    register_accessor(DataFrame, "synth", pyspark_synth.spark.accessors.DataFrameSynth)


def test_new_rows_are_appended_to_the_catalog_table_without_reading_it(spark, monkeypatch):
    """Model versions replace no row: they are appended, so a fit does not read and rewrite the
    whole table, and rows another writer added in between are not lost; replacing rows (saving
    metadata again) still merges."""
    from pyspark_synth.io import catalog

    def row(table: str, version: int) -> dict:
        return {"metadata_name": "m", "record_type": "model", "table_name": table, "position": version,
                "detail": "{}"}

    name = "synth_append_test"
    catalog.write_records(spark, [row("a", 1)], name)  # creates the table
    catalog.write_records(spark, [row("b", 1)], name)  # "another writer"

    def no_read(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the catalog table was read")

    with monkeypatch.context() as mp:
        mp.setattr(catalog, "read_records", no_read)
        catalog.write_records(spark, [row("a", 2), row("c", 1)], name)
    got = sorted((r["table_name"], r["position"]) for r in catalog.read_records(spark, name))
    assert got == [("a", 1), ("a", 2), ("b", 1), ("c", 1)]
    catalog.write_records(spark, [row("z", 9)], name, replace=("model",), name="m")  # replaces: merged
    assert [(r["table_name"], r["position"]) for r in catalog.read_records(spark, name)] == [("z", 9)]
    spark.sql(f"DROP TABLE {name}")
