"""Metadata models: building, every validation error, JSON round trip."""

from __future__ import annotations

import json

import pytest

from pyspark_synth import (
    Column,
    Constraint,
    CycleError,
    ForeignKey,
    ForeignKeyError,
    Metadata,
    MetadataError,
    PIIRule,
    Table,
)


def shop() -> Metadata:
    md = Metadata()
    md.add_table("customers", pk="customer_id", columns={"customer_id": Column(name="customer_id", type="id", sql_type="bigint"),
                                                          "country": "categorical", "email": Column(name="email", type="text", pii=PIIRule(action="hash", kind="email"))})
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"},
                 columns={"order_id": "id", "customer_id": Column(name="customer_id", type="id", sql_type="int"),
                          "amount": "numerical", "placed": "datetime", "shipped": "datetime"},
                 constraints={"amount": {"min": 0}, "shipped": Constraint(greater_or_equal="placed")},
                 parent_context_cols=["country"])
    return md


def test_add_table_builds_a_valid_database():
    md = shop().validate()
    assert list(md.tables) == ["customers", "orders"]
    orders = md.table("orders")
    assert orders.foreign_keys == (ForeignKey(columns=("customer_id",), parent_table="customers", parent_columns=("customer_id",)),)
    assert orders.driving_fk.parent_table == "customers"
    assert orders.constraints["amount"].min == 0
    assert md.children_of("customers")[0][0].name == "orders"


def test_json_round_trip_is_exact(tmp_path):
    md = shop().validate()
    again = Metadata.from_json(md.to_json(tmp_path / "md.json"))
    assert again == md
    assert Metadata.from_json(tmp_path / "md.json") == md
    assert json.loads(md.to_json())["tables"]["customers"]["columns"][2]["pii"]["action"] == "hash"


def test_composite_keys():
    md = Metadata()
    md.add_table("weather", pk=["origin", "time_hour"])
    md.add_table("flights", fk={("origin", "time_hour"): "weather.origin,time_hour"})
    md.validate()
    fk = md.table("flights").foreign_keys[0]
    assert fk.columns == ("origin", "time_hour") and fk.parent_columns == ("origin", "time_hour")
    md.add_table("flights2", fk={("origin", "time_hour"): ("weather", ["origin", "time_hour"])})
    assert md.validate().table("flights2").foreign_keys[0].parent_table == "weather"


def test_unknown_parent_table():
    md = Metadata().add_table("orders", pk="id", fk={"customer_id": "customer.id"})
    with pytest.raises(ForeignKeyError, match=r"Foreign key 'orders.customer_id': table 'customer' is not in the metadata\. Known tables: \['orders'\]"):
        md.validate()


def test_unknown_parent_column():
    md = Metadata().add_table("c", pk="id", columns={"id": "id", "name": "text"}).add_table("o", pk="oid", fk={"cid": "c.ident"})
    with pytest.raises(ForeignKeyError, match=r"parent table 'c' has no column\(s\) \['ident'\]"):
        md.validate()


def test_missing_pk_on_referenced_table():
    md = Metadata().add_table("c").add_table("o", pk="oid", fk={"cid": "c.id"})
    with pytest.raises(ForeignKeyError, match=r"referenced table 'c' has no primary key. Set pk="):
        md.validate()


def test_fk_must_reference_the_whole_primary_key():
    md = Metadata().add_table("w", pk=["a", "b"]).add_table("f", fk={"a": "w.a"})
    with pytest.raises(ForeignKeyError, match=r"primary key of 'w' is \['a', 'b'\]"):
        md.validate()


def test_fk_type_mismatch():
    md = Metadata()
    md.add_table("c", pk="id", columns={"id": Column(name="id", type="id", sql_type="string")})
    md.add_table("o", pk="oid", fk={"cid": "c.id"}, columns={"oid": "id", "cid": Column(name="cid", type="id", sql_type="bigint")})
    with pytest.raises(ForeignKeyError, match=r"'o.cid' has type bigint but 'c.id' has type string. Cast"):
        md.validate()


def test_fk_integer_widths_are_compatible():
    md = Metadata()
    md.add_table("c", pk="id", columns={"id": Column(name="id", type="id", sql_type="int")})
    md.add_table("o", pk="oid", fk={"cid": "c.id"}, columns={"oid": "id", "cid": Column(name="cid", type="id", sql_type="bigint")})
    md.validate()


def test_cycle_names_the_tables():
    md = Metadata().add_table("a", pk="id", fk={"b_id": "b.id"}).add_table("b", pk="id", fk={"c_id": "c.id"})
    md.add_table("c", pk="id", fk={"a_id": "a.id"})
    with pytest.raises(CycleError, match=r"cycle between tables a -> b -> c -> a \(a.b_id -> b.id, b.c_id -> c.id, "
                                         r"c.a_id -> a.id\)") as info:
        md.validate()
    assert info.value.cycle == ["a", "b", "c", "a"]


def test_self_reference_is_not_a_cycle_between_tables():
    md = Metadata().add_table("employees", pk="id", fk={"manager_id": "employees.id"})
    assert md.validate().find_cycle() is None


def test_table_level_errors_say_where():
    with pytest.raises(MetadataError, match=r"Table 'o': .*primary key uses column\(s\) \['nope'\]"):
        Metadata().add_table("o", pk="nope", columns={"id": "id"})
    with pytest.raises(MetadataError, match=r"constraint uses column\(s\) \['ghost'\]"):
        Metadata().add_table("o", pk="id", columns={"id": "id"}, constraints={"ghost": {"min": 1}})
    with pytest.raises(MetadataError, match=r"min 5 is above max 1"):
        Metadata().add_table("o", constraints={"x": {"min": 5, "max": 1}})
    with pytest.raises(MetadataError, match=r"must be written 'parent_table.parent_column'"):
        Metadata().add_table("o", fk={"x": "parent"})
    with pytest.raises(MetadataError, match=r"declared more than once"):
        Metadata().add_table("o", columns=[Column(name="a"), Column(name="a")])
    with pytest.raises(MetadataError, match=r"2 child columns but 1 parent columns"):
        Metadata().add_table("o", fk={("a", "b"): "p.x"})


def test_context_columns_must_exist_in_the_driving_parent():
    md = shop()
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"}, parent_context_cols=["age"])
    with pytest.raises(MetadataError, match=r"parent_context_cols \['age'\] are not columns of its driving parent 'customers'"):
        md.validate()
    with pytest.raises(MetadataError, match=r"has no foreign key"):
        Metadata().add_table("x", parent_context_cols=["a"]).validate()


def test_bad_names_and_types_rejected():
    with pytest.raises(MetadataError, match=r"name 'a.b' is not usable"):
        Metadata().add_table("a.b")
    with pytest.raises(ValueError):
        Column(name="x", type="float")  # not a semantic type
    with pytest.raises(ValueError, match=r"custom' needs function"):
        PIIRule(action="custom")
    with pytest.raises(ValueError):
        PIIRule(action="encrypt")


def test_from_dict_rejects_unknown_fields_and_broken_json(tmp_path):
    with pytest.raises(MetadataError, match=r"not valid"):
        Metadata.from_dict({"tables": {}, "extra": 1})
    with pytest.raises(MetadataError, match=r"not valid JSON"):
        Metadata.from_json("{not json")
    with pytest.raises(MetadataError, match=r"does not exist"):
        Metadata.from_json(tmp_path / "missing.json")


def test_table_lookup_errors_list_known_names():
    md = shop()
    with pytest.raises(MetadataError, match=r"Table 'nope' is not in the metadata. Known tables: \['customers', 'orders'\]"):
        md.table("nope")
    with pytest.raises(MetadataError, match=r"has no column 'nope'"):
        md.table("orders").column("nope")
    t = Table(name="t", columns=(Column(name="a"),))
    assert t.column_names == ["a"]
