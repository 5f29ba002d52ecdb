"""Fakes made at sampling (no Spark): recorded in the spec, made by the kernel from the generated rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.errors import SerializationError
from pyspark_synth.kernel import TableKernel
from pyspark_synth.metadata import Column, ForeignKey, Table
from pyspark_synth.models.base import get_backend
from pyspark_synth.privacy.fake import sampled_fakes
from pyspark_synth.relational.linkage import LinkageModel
from pyspark_synth.relational.primary_keys import KeySpec
from pyspark_synth.spec import (
    ColumnPrivacy,
    DatabaseSpec,
    DrivingRelation,
    FakeColumnSpec,
    TableSpec,
)

CJK = "\u3040-\u30ff\u4e00-\u9fff"


def _schema(*fields: tuple[str, str]) -> str:
    return json.dumps({"type": "struct", "fields": [{"name": n, "type": t, "nullable": True, "metadata": {}}
                                                    for n, t in fields]})


def _model(table: Table, pdf: pd.DataFrame) -> bytes:
    return get_backend("copula")(table, seed=0).fit(pdf).to_bytes()


@pytest.fixture(scope="module")
def customers() -> tuple[TableSpec, bytes]:
    table = Table(name="customers", primary_key=("customer_id",), columns=(
        Column(name="customer_id", type="id", sql_type="bigint"), Column(name="country", sql_type="string")))
    pdf = pd.DataFrame({"customer_id": np.arange(1, 41), "country": ["JP", "DE", "US", "BR"] * 10})
    spec = TableSpec(
        name="customers", backend="copula", seed=1, table=table, row_count=40, training_rows=40,
        spark_schema=_schema(("customer_id", "long"), ("email", "string"), ("name", "string"), ("country", "string")),
        keys=(KeySpec(column="customer_id", kind="int", offset=1),),
        privacy=(ColumnPrivacy(column="email", action="fake", kind="email", origin="config"),
                 ColumnPrivacy(column="name", action="fake", kind="person_name", origin="detected", confidence=0.9)),
        fakes=(FakeColumnSpec(column="email", kind="email", entity="customers.email", entity_columns=("customer_id",),
                              locale_column="country"),
               FakeColumnSpec(column="name", kind="person_name", entity="customers.name",
                              entity_columns=("customer_id",), locale_column="country", null_rate=0.25)),
        model={"size": 0, "sha256": ""})
    return spec, _model(table, pdf)


@pytest.fixture(scope="module")
def orders() -> tuple[TableSpec, bytes]:
    table = Table(name="orders", primary_key=("order_id",), columns=(
        Column(name="order_id", type="id", sql_type="bigint"), Column(name="customer_id", type="id", sql_type="bigint"),
        Column(name="amount", type="numerical", sql_type="double")),
        foreign_keys=(ForeignKey(columns=("customer_id",), parent_table="customers", parent_columns=("customer_id",)),))
    pdf = pd.DataFrame({"amount": np.linspace(1, 50, 30)})
    link = LinkageModel().fit(pd.DataFrame({"country": ["JP", "DE"] * 5}), np.array([1, 2, 3, 1, 2, 3, 1, 2, 3, 1]))
    spec = TableSpec(
        name="orders", backend="copula", seed=2, table=table, row_count=30, training_rows=30,
        spark_schema=_schema(("order_id", "long"), ("customer_id", "long"), ("buyer_email", "string"), ("amount", "double")),
        keys=(KeySpec(column="order_id", kind="int", offset=100),), context=("country",),
        driving=DrivingRelation(columns=("customer_id",), parent_table="customers", parent_columns=("customer_id",),
                                linkage=link.to_dict(), nulled_columns=("customer_id",)),
        fakes=(FakeColumnSpec(column="buyer_email", kind="email", entity="customers.email",
                              entity_columns=("customer_id",), context_locale="country"),),
        model={"size": 0, "sha256": ""})
    model_table = table.model_copy(update={"columns": (table.columns[2],), "foreign_keys": (), "primary_key": ()})
    return spec, _model(model_table, pdf)


def test_specs_record_fakes_and_old_specs_still_load(customers):
    spec, _ = customers
    assert TableSpec.from_json(spec.to_json()) == spec
    assert spec.columns == ["customer_id", "email", "name", "country"] and spec.table.column_names == ["customer_id", "country"]
    old = json.loads(spec.to_json())
    old["spark_schema"] = _schema(("customer_id", "long"), ("country", "string"))
    del old["privacy"], old["fakes"]  # a spec written before these fields existed
    assert TableSpec.from_dict(old).fakes == ()
    bad = json.loads(spec.to_json())
    bad["fakes"][0]["locale_column"] = "email"  # a faked column cannot give the locale
    with pytest.raises(SerializationError, match=r"fake column 'email' takes its locale from 'email'"):
        TableSpec.from_dict(bad)
    bad = json.loads(spec.to_json())
    bad["fakes"][0]["context_locale"], bad["fakes"][0]["locale_column"] = "country", None
    with pytest.raises(SerializationError, match=r"context column 'country', which is not one of \[\]"):
        TableSpec.from_dict(bad)
    bad = json.loads(spec.to_json())
    bad["spark_schema"] = _schema(("customer_id", "long"), ("country", "string"))
    with pytest.raises(SerializationError, match=r"fakes name columns \['email', 'name'\]"):
        TableSpec.from_dict(bad)


def test_explain_says_what_privacy_did(customers, orders):
    db = DatabaseSpec(order=("customers", "orders"), tables={"customers": customers[0], "orders": orders[0]})
    text = db.explain({"customers": 10})
    assert "privacy: email faked at sampling (config rule); name faked at sampling (detected person_name)" in text
    assert "same fakes as: buyer_email = customers.email via customer_id" in text


def test_the_kernel_makes_fakes_from_generated_keys_deterministic_for_a_seed(customers):
    spec, model = customers
    kernel = TableKernel(spec, model)
    ids = np.arange(0, 200)
    a = kernel.generate(ids, seed=7, model_seed=1)
    assert list(a.columns) == ["customer_id", "email", "name", "country"]
    assert a["email"].str.contains("@").all() and a["email"].nunique() > 190
    assert 0.15 < a["name"].isna().mean() < 0.35  # the real null rate
    jp = a.loc[a["country"] == "JP", "name"].dropna()
    assert len(jp) and jp.str.contains(f"[{CJK}]").all()  # the generated row's locale
    pd.testing.assert_frame_equal(a, kernel.generate(ids, seed=7, model_seed=1))
    # a fake depends on the key and the locale only, not on the block the row is in
    part = kernel.generate(ids[50:80], seed=7, model_seed=1)
    both = part.merge(a, on="customer_id", suffixes=("", "_a"))
    same = both["country"] == both["country_a"]
    assert same.sum() > 5 and (both.loc[same, "email"] == both.loc[same, "email_a"]).all()
    other = kernel.generate(ids, seed=8, model_seed=1)
    assert not set(other["email"]) & set(a["email"])  # another seed, other fakes


def test_a_child_gets_its_parents_fake_through_the_driving_key(customers, orders):
    cspec, cmodel = customers
    parents = TableKernel(cspec, cmodel).generate(np.arange(0, 20), seed=7, model_seed=1)
    child = parents.iloc[np.repeat(np.arange(20), 3)].reset_index(drop=True)
    ospec, omodel = orders
    out = TableKernel(ospec, omodel).generate(np.arange(60), seed=7, model_seed=2, context=child[["country"]],
                                              parent_keys=child[["customer_id"]])
    assert list(out.columns) == ["order_id", "customer_id", "buyer_email", "amount"]
    assert (out["buyer_email"] == child["email"]).all()  # the same generated customer, the same fake
    assert not (TableKernel(ospec, omodel).generate(np.arange(60), seed=8, model_seed=2, context=child[["country"]],
                                                    parent_keys=child[["customer_id"]])["buyer_email"]
                == child["email"]).any()


def test_sampled_fakes_use_the_row_id_without_keys_and_never_an_original():
    rows = pd.DataFrame({"city_code": ["a", "b", "c"]})
    spec = FakeColumnSpec(column="name", kind="person_name", entity="t.name", locale="de_DE")
    out = sampled_fakes(rows, [0, 1, 2], [spec], seed=3, table="t")["name"]
    assert out.notna().all() and out.nunique() == 3
    again = sampled_fakes(rows.iloc[[2, 0]], [2, 0], [spec], seed=3, table="t")["name"]
    assert again.tolist() == [out[2], out[0]]
    with pytest.raises(ValueError, match=r"give one of locale, locale_column and context_locale"):
        FakeColumnSpec(column="x", kind="email", entity="t.x", locale="de_DE", locale_column="c")
