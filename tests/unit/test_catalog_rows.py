"""The metadata as rows of the catalog table and back (pure: no Spark)."""

from __future__ import annotations

import json

import pytest

from pyspark_synth.errors import ForeignKeyError, MetadataError
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


def _edit(rows: list[dict], pick, **changes) -> list[dict]:
    """A copy of the rows with `changes` applied to the one row `pick` selects."""
    out = [dict(r) for r in rows]
    (row,) = [r for r in out if pick(r)]
    row.update(changes)
    return out


def _table_row(name: str):
    return lambda r: r["record_type"] == "table" and r["table_name"] == name


def _column_row(table: str, column: str):
    return lambda r: r["record_type"] == "column" and r["table_name"] == table and r["column_name"] == column


def test_unknown_record_types_are_refused_with_the_known_ones():
    rows = metadata_to_rows(_metadata())
    typo = _edit(rows, lambda r: r["record_type"] == "foreign_key", record_type="foreignkey")
    with pytest.raises(MetadataError, match=r"1 catalog row\(s\) have a record_type that is not known: catalog row "
                                            r"\(foreignkey, table 'orders', column 'customer_id'\): record_type "
                                            r"'foreignkey'\. Known record types: \['table', 'column', 'foreign_key', "
                                            r"'model'\]"):
        rows_to_metadata(typo)
    with pytest.raises(MetadataError, match=r"record_type None\. Known record types"):
        rows_to_metadata(_edit(rows, _column_row("orders", "amount"), record_type=None))
    # the registry's 'model' rows share the table: they are known, and not metadata
    model = {f: None for f in rows[0]} | {"metadata_name": "default", "record_type": "model", "table_name": "orders",
                                          "position": 3, "semantic_type": "copula", "detail": '{"version": 3}'}
    assert rows_to_metadata([*rows, model]) == _metadata()


def test_a_primary_key_naming_a_missing_column_is_named_as_such():
    rows = metadata_to_rows(_metadata())
    with pytest.raises(MetadataError, match=r"catalog row \(table, table 'customers'\): the primary_key 'cust_id' "
                                            r"names column\(s\) \['cust_id'\] that table 'customers' has no 'column' "
                                            r"row for\. Its columns: \['customer_id', 'email', 'age'\]"):
        rows_to_metadata(_edit(rows, _table_row("customers"), primary_key="cust_id"))
    with pytest.raises(MetadataError, match=r"primary_key 'order_id,,x' has an empty column name"):
        rows_to_metadata(_edit(rows, _table_row("orders"), primary_key="order_id,,x"))
    # a table declared without columns: the foreign key and the primary key rows disagree, said as such
    bare = Metadata().add_table("customers", pk="customer_id")
    bare.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    bare_rows = metadata_to_rows(bare.validate())
    with pytest.raises(ForeignKeyError, match=r"catalog row \(foreign_key, table 'orders', column 'customer_id'\): "
                                              r"references customers\(customer_id\), but the 'table' row of "
                                              r"'customers' has primary_key 'cust_id'"):
        rows_to_metadata(_edit(bare_rows, _table_row("customers"), primary_key="cust_id"))
    with pytest.raises(ForeignKeyError, match=r"the 'table' row of 'customers' has no primary_key\. .*fix "
                                              r"parent_columns in this row's detail or primary_key on catalog row "
                                              r"\(table, table 'customers'\)"):
        rows_to_metadata(_edit(bare_rows, _table_row("customers"), primary_key=None))


def test_a_field_set_where_it_is_not_read_is_named():
    rows = metadata_to_rows(_metadata())
    # the primary key lives on the table row; setting it on a column row did nothing before
    with pytest.raises(MetadataError, match=r"column 'age'\): \['primary_key'\] is set, but a 'column' row does not "
                                            r"read it \(the primary key is the primary_key of the 'table' row of "
                                            r"'customers'\)"):
        rows_to_metadata(_edit(rows, _column_row("customers", "age"), primary_key="age"))
    with pytest.raises(MetadataError, match=r"\(table, table 'orders'\): \['sql_type'\] is set, but a 'table' row"):
        rows_to_metadata(_edit(rows, _table_row("orders"), sql_type="bigint"))
    with pytest.raises(MetadataError, match=r"pii_kind or a detail 'pii' is set but pii_action is empty"):
        rows_to_metadata(_edit(rows, _column_row("customers", "age"), pii_kind="person_name"))


def test_duplicate_and_colliding_rows_are_named():
    rows = metadata_to_rows(_metadata())
    twice = [*rows, dict(next(r for r in rows if _table_row("orders")(r)), position=7)]
    with pytest.raises(MetadataError, match=r"table 'orders' has two 'table' rows \(positions 1 and 7\)"):
        rows_to_metadata(twice)
    again = [*rows, dict(next(r for r in rows if _column_row("orders", "amount")(r)), position=9)]
    with pytest.raises(MetadataError, match=r"table 'orders' has two 'column' rows for column 'amount'"):
        rows_to_metadata(again)
    with pytest.raises(MetadataError, match=r"column 'amount'\): position 1 is also the position of a column of table "
                                            r"'orders' 'customer_id'"):
        rows_to_metadata(_edit(rows, _column_row("orders", "amount"), position=1))
    with pytest.raises(MetadataError, match=r"\(table, table 'orders'\): position 0 is also the position of a table "
                                            r"'customers'"):
        rows_to_metadata(_edit(rows, _table_row("orders"), position=0))


def test_foreign_key_rows_edited_by_hand_name_what_is_wrong():
    rows = metadata_to_rows(_metadata())
    fk = lambda r: r["record_type"] == "foreign_key"  # noqa: E731
    with pytest.raises(MetadataError, match=r"column_name \(the child columns, comma-separated\) is empty"):
        rows_to_metadata(_edit(rows, fk, column_name=None))
    with pytest.raises(MetadataError, match=r"detail has no 'parent_columns'"):
        rows_to_metadata(_edit(rows, fk, detail='{"parent_table": "customers"}'))
    with pytest.raises(MetadataError, match=r"detail has unknown key\(s\) \['parent_column'\]; a 'foreign_key' row's "
                                            r"detail takes \['on_orphan', 'parent_columns', 'parent_table'\]"):
        rows_to_metadata(_edit(rows, fk, detail='{"parent_table": "customers", "parent_columns": ["customer_id"], '
                                                '"parent_column": "x"}'))
    with pytest.raises(MetadataError, match=r"detail 'parent_columns' must be a non-empty JSON list of column names, "
                                            r"e\.g\. \[\"customer_id\"\], got \"customer_id\""):
        rows_to_metadata(_edit(rows, fk, detail='{"parent_table": "customers", "parent_columns": "customer_id"}'))
    with pytest.raises(ForeignKeyError, match=r"its parent_table 'clients' has no 'table' row\. Known tables: "
                                              r"\['customers', 'orders'\]"):
        rows_to_metadata(_edit(rows, fk, detail='{"parent_table": "clients", "parent_columns": ["customer_id"]}'))
    with pytest.raises(MetadataError, match=r"the detail column must be a JSON object, got \[1, 2\]"):
        rows_to_metadata(_edit(rows, fk, detail="[1, 2]"))
    with pytest.raises(MetadataError, match=r"table_name is empty"):
        rows_to_metadata(_edit(rows, fk, table_name=" "))
