"""The metadata as rows of the catalog table and back (pure: no Spark)."""

from __future__ import annotations

import json

import pytest

from pyspark_synth.errors import MetadataError
from pyspark_synth.io.catalog import metadata_to_rows, rows_to_metadata
from pyspark_synth.metadata import Column, Constraint, Metadata, PIIRule


def _metadata() -> Metadata:
    md = Metadata()
    md.add_table("customers", pk="customer_id", columns={
        "customer_id": Column(name="customer_id", type="id", sql_type="bigint", nullable=False),
        "email": Column(name="email", sql_type="string", pii=PIIRule(action="hash", kind="email")),
        "age": Column(name="age", type="numerical", sql_type="int")}, constraints={"age": Constraint(min=0, max=120)})
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"}, parent_context_cols=["age"],
                 columns={"order_id": "id", "customer_id": "id", "amount": "numerical"}, on_orphan="drop")
    return md.validate()


def test_rows_round_trip():
    md = _metadata()
    rows = metadata_to_rows(md, "shop")
    kinds = sorted({r["record_type"] for r in rows})
    assert kinds == ["column", "foreign_key", "table"] and all(r["metadata_name"] == "shop" for r in rows)
    assert rows_to_metadata(rows) == md


def test_rows_edited_by_hand_give_clear_errors():
    rows = metadata_to_rows(_metadata())
    orphan = [r for r in rows if not (r["record_type"] == "table" and r["table_name"] == "orders")]
    with pytest.raises(MetadataError, match="there is no 'table' row for table 'orders'"):
        rows_to_metadata(orphan)
    broken = [dict(r) for r in rows]
    next(r for r in broken if r["record_type"] == "foreign_key")["detail"] = "{oops"
    with pytest.raises(MetadataError, match="the detail column is not valid JSON"):
        rows_to_metadata(broken)
    bad_type = [dict(r) for r in rows]
    next(r for r in bad_type if r.get("column_name") == "amount")["semantic_type"] = "money"
    with pytest.raises(MetadataError, match=r"table 'orders', column 'amount'\) is not valid"):
        rows_to_metadata(bad_type)
    detail = json.loads(next(r for r in rows if r["record_type"] == "foreign_key")["detail"])
    assert detail == {"parent_table": "customers", "parent_columns": ["customer_id"], "on_orphan": "drop"}
