"""Table and database specs: JSON round trip, validation on load, versions, migration, explain."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pyspark_synth.errors import DataError, ModelVersionError, SerializationError
from pyspark_synth.metadata import Column, ForeignKey, Metadata, Table
from pyspark_synth.relational.linkage import LinkageModel
from pyspark_synth.relational.primary_keys import KeySpec
from pyspark_synth.spec import (
    SPEC_VERSION,
    CountLawSpec,
    DatabaseSpec,
    DrivingRelation,
    ModelReference,
    SecondaryRelation,
    SelfReference,
    TableSpec,
    check_num_rows,
    migrate_manifest,
    schema_fields,
)


def _schema(*fields: tuple[str, str]) -> str:
    return json.dumps({"type": "struct", "fields": [{"name": n, "type": t, "nullable": True, "metadata": {}}
                                                    for n, t in fields]})


def _customers() -> TableSpec:
    table = Table(name="customers", columns=(Column(name="customer_id", type="id", sql_type="bigint"),
                                             Column(name="segment", sql_type="string")), primary_key=("customer_id",))
    return TableSpec(name="customers", backend="copula", seed=1, table=table, row_count=100, training_rows=100,
                     spark_schema=_schema(("customer_id", "long"), ("segment", "string")),
                     keys=(KeySpec(column="customer_id", kind="int", offset=1),),
                     model=ModelReference(size=10, sha256="ab"))


def _orders() -> TableSpec:
    table = Table(name="orders", primary_key=("order_id",), columns=(
        Column(name="order_id", type="id", sql_type="bigint"), Column(name="customer_id", type="id", sql_type="bigint"),
        Column(name="product_id", type="id", sql_type="string"), Column(name="parent_order", type="id", sql_type="bigint"),
        Column(name="amount", type="numerical", sql_type="double")),
        foreign_keys=(ForeignKey(columns=("customer_id",), parent_table="customers", parent_columns=("customer_id",)),
                      ForeignKey(columns=("product_id",), parent_table="products", parent_columns=("product_id",)),
                      ForeignKey(columns=("parent_order",), parent_table="orders", parent_columns=("order_id",))))
    link = LinkageModel().fit(None, np.array([0, 1, 2, 3, 4, 2]))
    return TableSpec(
        name="orders", backend="copula", seed=2, table=table, row_count=300, training_rows=300,
        spark_schema=_schema(("order_id", "long"), ("customer_id", "long"), ("product_id", "string"),
                             ("parent_order", "long"), ("amount", "double")),
        keys=(KeySpec(column="order_id", kind="int", offset=1000),),
        driving=DrivingRelation(columns=("customer_id",), parent_table="customers", parent_columns=("customer_id",),
                                linkage=link.to_dict(), null_rate=0.0, nulled_columns=("customer_id",)),
        secondary=(SecondaryRelation(columns=("product_id",), parent_table="products", parent_columns=("product_id",),
                                     law=CountLawSpec(values=(0, 5, 30), cumprobs=(0.5, 0.9, 1.0)), null_rate=0.1),),
        self_refs=(SelfReference(columns=("parent_order",), null_rate=0.8),),
        model=ModelReference(size=10, sha256="ab"))


def _products() -> TableSpec:
    table = Table(name="products", columns=(Column(name="product_id", type="id", sql_type="string"),),
                  primary_key=("product_id",))
    return TableSpec(name="products", backend="empty", seed=3, table=table, row_count=0, training_rows=0,
                     spark_schema=_schema(("product_id", "string")))


def test_round_trip_through_json():
    spec = _orders()
    again = TableSpec.from_json(spec.to_json())
    assert again == spec
    assert again.fields == (("order_id", "long"), ("customer_id", "long"), ("product_id", "string"),
                            ("parent_order", "long"), ("amount", "double"))
    assert again.driving.mean_children == pytest.approx(2.0)
    assert [r.columns for r in again.relations] == [("customer_id",), ("product_id",), ("parent_order",)]


def test_specs_are_frozen_and_refuse_unknown_fields():
    spec = _customers()
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        spec.row_count = 5  # type: ignore[misc]
    data = json.loads(spec.to_json())
    data["rows"] = 3
    with pytest.raises(SerializationError, match=r"not a valid table spec: rows: Extra inputs are not permitted"):
        TableSpec.from_dict(data)


def test_damaged_specs_say_what_is_wrong_and_what_to_do():
    with pytest.raises(SerializationError, match=r"is not JSON .*Refit the table, or load an earlier version"):
        TableSpec.from_json("{not json", where="Spec 'x/spec.json' of table 'orders' v2")
    data = json.loads(_orders().to_json())
    data["spark_schema"] = "garbage"
    with pytest.raises(SerializationError, match=r"spark_schema: .*the Spark schema is not JSON"):
        TableSpec.from_dict(data)
    data = json.loads(_orders().to_json())
    data["keys"][0]["column"] = "nope"
    with pytest.raises(SerializationError, match=r"name columns \['nope'\] that the schema does not have"):
        TableSpec.from_dict(data)
    data = json.loads(_orders().to_json())
    data["secondary"][0]["law"]["cumprobs"] = [0.5, 0.4, 1.0]
    with pytest.raises(SerializationError, match="cumulative probabilities must rise to 1"):
        TableSpec.from_dict(data)
    data = json.loads(_orders().to_json())
    data["driving"]["linkage"] = {"columns": []}
    with pytest.raises(SerializationError, match="linkage model state is not valid"):
        TableSpec.from_dict(data)
    data = json.loads(_orders().to_json())
    data["model"] = None
    with pytest.raises(SerializationError, match="backend 'copula' needs a model reference"):
        TableSpec.from_dict(data)


def test_a_spec_from_a_newer_library_is_refused_with_what_to_do():
    data = json.loads(_customers().to_json())
    data["spec_version"] = SPEC_VERSION + 1
    data["library_version"] = "9.0.0"
    with pytest.raises(ModelVersionError, match=rf"spec version {SPEC_VERSION + 1} \(written by pyspark_synth 9\.0\.0\)"
                                                r".*Upgrade pyspark_synth"):
        TableSpec.from_dict(data)


def test_a_version_1_spec_without_the_fields_added_since_still_reads():
    data = json.loads(_orders().to_json())
    assert data["spec_version"] == SPEC_VERSION == 3
    data["spec_version"] = 1
    del data["inherited_context"]  # added in version 2
    del data["copied"]  # added in version 3
    spec = TableSpec.from_dict(data)
    assert spec.inherited_context == () and spec.copied is None and spec.spec_version == 1


def test_schema_fields_read_spark_json_without_pyspark():
    assert schema_fields(_schema(("a", "integer"), ("b", "decimal(10,2)"), ("c", "timestamp_ntz"))) == (
        ("a", "integer"), ("b", "decimal"), ("c", "timestamp_ntz"))
    with pytest.raises(ValueError, match="not a struct type"):
        schema_fields(json.dumps({"type": "array"}))


def test_manifests_written_before_specs_are_migrated():
    link = LinkageModel().fit(None, np.array([1, 2, 3]))
    manifest = {
        "table": "orders", "version": 3, "backend": "copula", "seed": 9, "row_count": 50, "training_rows": 50,
        "spark_schema": _schema(("order_id", "long"), ("customer_id", "long"), ("weather_key", "long")),
        "library_version": "0.1.0", "fitted_at": "2026-11-01T00:00:00+00:00",
        "extra": {"keys": [{"column": "order_id", "kind": "int", "offset": 1, "prefix": "", "width": 0, "step": 1,
                            "salt": ""}],
                  "text": [], "table": {"name": "orders"},
                  "stats": {"row_count": 50, "columns": {"order_id": {"null_rate": 0.0, "min": 1, "max": 50}}},
                  "relational": {"context": [], "driving": {"columns": ["customer_id"], "parent_table": "customers",
                                                            "parent_columns": ["customer_id"], "linkage": link.to_dict(),
                                                            "null_rate": 0.0},
                                 "secondary": [], "self_refs": []}},
    }
    spec = migrate_manifest(manifest, model_size=10)
    assert spec.driving.parent_table == "customers" and spec.keys[0].offset == 1
    assert spec.stats["order_id"].max == 50 and spec.library_version == "0.1.0"
    del manifest["spark_schema"]
    with pytest.raises(SerializationError, match=r"manifest of table 'orders' v3 lacks 'spark_schema'"):
        migrate_manifest(manifest)


def test_database_order_and_explain():
    md = Metadata()
    md.add_table("customers", pk="customer_id")
    md.add_table("products", pk="product_id")
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id",
                                              "product_id": "products.product_id",
                                              "parent_order": "orders.order_id"})
    db = DatabaseSpec.from_tables(md, {"customers": _customers(), "orders": _orders(), "products": _products()})
    assert db.order.index("orders") > max(db.order.index("customers"), db.order.index("products"))
    assert db.roots == ["customers", "products"]
    assert db.expected_rows({"customers": 10}) == {"customers": 10.0, "products": 0.0, "orders": 20.0}
    assert db.expected_rows(scale=0.5)["orders"] == pytest.approx(100.0)
    text = db.explain({"customers": np.int64(10)})
    assert "orders: ~20 rows (300 real; copula model)" in text
    assert "driven by customer_id -> customers.customer_id: each of ~10 parents draws its children (mean 2)" in text
    assert "key product_id -> products.product_id: 0..30 children per parent (mean 5), 10.0% null" in text
    assert "self-reference parent_order: an earlier row, 80.0% null" in text
    assert "products: ~0 rows (0 real; no model: empty when fitted)" in text
    assert DatabaseSpec.model_validate_json(db.model_dump_json()) == db
    with pytest.raises(DataError, match=r"num_rows can only set root tables; \['orders'\]"):
        db.expected_rows({"orders": 5})
    with pytest.raises(DataError, match=r"unknown tables \['nope'\]"):
        db.explain({"nope": 5})
    with pytest.raises(ValueError, match="comes before its parent"):
        DatabaseSpec(order=("orders", "customers", "products"), tables=db.tables)


@pytest.mark.parametrize("bad", [1.5, -1, True, "3", None])
def test_sizes_are_checked_the_same_way_everywhere(bad):
    with pytest.raises(DataError, match=r"num_rows for table 't' must be (an integer number of rows|0 or more)"):
        check_num_rows(bad, "num_rows for table 't'")


def test_numpy_integers_are_sizes():
    assert check_num_rows(np.int64(10), "n") == 10 and check_num_rows(np.uint8(3), "n") == 3


def _sequential_orders(**driving) -> TableSpec:
    """`_orders()` whose sequence model draws the children per customer (no linkage model)."""
    base = _orders()
    law = CountLawSpec(values=(0, 1, 4, 20), cumprobs=(0.4, 0.7, 0.95, 1.0))
    drv = base.driving.model_copy(update={"linkage": None, "counts": "sequence", "children": law, **driving})
    return base.model_copy(update={"backend": "autoregressive_sequential", "driving": DrivingRelation.model_validate(
        drv.model_dump())})


def test_a_driving_key_whose_counts_come_from_the_sequence_model():
    spec = _sequential_orders()
    again = TableSpec.from_json(spec.to_json())
    assert again == spec and again.driving.sequential and again.driving.linkage is None
    assert again.driving.mean_children == pytest.approx(0.3 + 0.25 * 4 + 0.05 * 20)
    with pytest.raises(DataError, match="has no linkage model: its children per parent come from the table's sequence"):
        again.driving.linkage_model()
    # the linkage kind still needs its model; the sequence kind needs the real law and no linkage
    data = json.loads(spec.to_json())
    data["driving"]["children"] = None
    with pytest.raises(SerializationError, match="counts 'sequence' .* needs the real law of children per parent"):
        TableSpec.from_dict(data)
    data = json.loads(_orders().to_json())
    data["driving"]["linkage"] = None
    with pytest.raises(SerializationError, match="counts 'linkage' needs the linkage model state"):
        TableSpec.from_dict(data)
    data["driving"]["counts"] = "poisson"
    with pytest.raises(SerializationError, match="driving.counts"):
        TableSpec.from_dict(data)


def test_specs_written_before_the_sequential_mode_still_load():
    data = json.loads(_orders().to_json())
    for field in ("counts", "children"):  # what a spec of the previous release holds
        del data["driving"][field]
    spec = TableSpec.from_dict(data)
    assert spec.driving.counts == "linkage" and not spec.driving.sequential and spec.driving.children is None
    assert spec == _orders()


def test_explain_says_the_children_come_as_sequences():
    md = Metadata()
    md.add_table("customers", pk="customer_id")
    md.add_table("products", pk="product_id")
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id",
                                              "product_id": "products.product_id",
                                              "parent_order": "orders.order_id"})
    db = DatabaseSpec.from_tables(md, {"customers": _customers(), "orders": _sequential_orders(),
                                       "products": _products()})
    assert db.expected_rows({"customers": 10})["orders"] == pytest.approx(23.0)
    text = db.explain({"customers": 10})
    assert "orders: ~23 rows (300 real; autoregressive_sequential model)" in text
    assert ("driven by customer_id -> customers.customer_id: each of ~10 parents draws its children as one sequence, "
            "their number included, from the autoregressive_sequential model (real: 0..20 per parent, mean 2.3, "
            "40.0% without children)") in text


def test_a_copied_lookup_table_keeps_its_rows_through_json_and_the_kernel_gives_them_back():
    import datetime as dt

    import pandas as pd

    from pyspark_synth.kernel import TableKernel
    from pyspark_synth.spark.lookup_copies import copied_rows
    from pyspark_synth.spec import CopiedRows

    real = pd.DataFrame({"code": [3, 1, 2], "label": ["c", "a", None], "rate": [0.5, float("nan"), 2.25],
                         "since": [pd.Timestamp("2020-01-02 03:04:05"), pd.NaT, pd.Timestamp("2021-06-01")],
                         "day": [dt.date(2020, 1, 2), dt.date(2020, 1, 3), None]})
    rows = copied_rows(real, ["code"])  # sorted by the key: the same copy in any layout
    assert rows.columns == ("code", "label", "rate", "since", "day") and [r[0] for r in rows.rows] == [1, 2, 3]
    table = Table(name="codes", primary_key=("code",), columns=(
        Column(name="code", type="id", sql_type="bigint"), Column(name="label", sql_type="string"),
        Column(name="rate", type="numerical", sql_type="double"), Column(name="since", type="datetime", sql_type="timestamp"),
        Column(name="day", type="datetime", sql_type="date")))
    spec = TableSpec(name="codes", backend="copy", seed=0, table=table, row_count=3, training_rows=0, copied=rows,
                     spark_schema=_schema(("code", "long"), ("label", "string"), ("rate", "double"),
                                          ("since", "timestamp"), ("day", "date")))
    again = TableSpec.from_json(spec.to_json())
    assert again == spec and again.is_copied and not again.is_empty
    out = TableKernel(again, None).generate([0, 1, 2], seed=1, model_seed=2)
    want = real.sort_values("code").reset_index(drop=True)
    assert out["code"].tolist() == [1, 2, 3] and out["label"].tolist()[:2] == ["a", None]
    assert np.isnan(out["rate"][0]) and out["rate"].tolist()[1:] == [2.25, 0.5]
    assert out["since"].isna()[0] and out["since"][1] == want["since"][1] and out["day"].tolist()[0] == dt.date(2020, 1, 3)
    with pytest.raises(DataError, match="row ids are 0..2, not up to 3"):
        TableKernel(again, None).generate([2, 3], seed=1, model_seed=2)
    assert again.copied_rows(3, "here") == 3
    with pytest.raises(DataError, match=r"here: table 'codes' is a lookup table copied as it is \(3 rows"):
        again.copied_rows(10, "here")
    data = json.loads(spec.to_json())
    data["copied"] = None
    with pytest.raises(SerializationError, match="backend 'copy' and copied rows go together"):
        TableSpec.from_dict(data)
    data["copied"] = CopiedRows(columns=("code",), rows=((1,),)).model_dump()
    with pytest.raises(SerializationError, match="copied rows' columns"):
        TableSpec.from_dict(data)
