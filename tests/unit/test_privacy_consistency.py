"""One original value, one fake (and one hash) in every table, whatever columns each table has (no Spark)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from pyspark_synth import Metadata, PIIRule, PrivacyConfig, PrivacyError
from pyspark_synth.privacy import scrub_pandas
from pyspark_synth.privacy.config import fake_database_pandas
from pyspark_synth.privacy.fake import consistent_fake_votes, consistent_fakes
from pyspark_synth.privacy.locales import (
    VOTE_COLUMNS,
    LocaleSource,
    parent_locales,
    resolve_value_locales,
    value_locale_votes,
)
from pyspark_synth.privacy.scrub import apply_scrub, plan_scrub

KEY = "consistency-key-0123456789abcdef"
CJK = re.compile(r"[\u3040-\u30FF\u4E00-\u9FFF]")


@pytest.fixture(scope="module")
def shop():
    """customers (with a country), orders (the customer's e-mail and name, no country), metadata."""
    f = Faker("en_US")
    f.seed_instance(5)
    rng = np.random.default_rng(5)
    n = 40
    customers = pd.DataFrame({
        "customer_id": range(n),
        "email": [f"{f.user_name()}{i}@example.com" for i in range(n)],
        "name": [f.name() for _ in range(n)],
        "country": ["Japan", "DE", "FRA", "Brasil"] * (n // 4),
    })
    picks = rng.integers(0, n, 120)
    orders = pd.DataFrame({
        "order_id": range(120),
        "customer_id": picks,
        "buyer_email": customers.email.to_numpy()[picks],
        "buyer_name": customers.name.to_numpy()[picks],
        "ship_to": [f.name() for _ in range(120)],  # a name customers does not have
    })
    md = (Metadata()
          .add_table("customers", "customer_id", columns={"customer_id": "id", "email": "text", "name": "text",
                                                          "country": "categorical"})
          .add_table("orders", "order_id", fk={"customer_id": "customers.customer_id"},
                     columns={"order_id": "id", "customer_id": "id", "buyer_email": "text", "buyer_name": "text",
                              "ship_to": "text"})
          .validate())
    return customers, orders, md


def _fakes():
    return {"customers": {"email": PIIRule(action="fake", kind="email"), "name": PIIRule(action="fake", kind="person_name")},
            "orders": {"buyer_email": PIIRule(action="fake", kind="email"),
                       "buyer_name": PIIRule(action="fake", kind="person_name")}}


def test_same_value_same_fake_in_a_table_without_the_locale_column(shop):
    customers, orders, md = shop
    cfg = PrivacyConfig()
    fakes = _fakes()
    sources = cfg.locale_sources(md, fakes, {"customers": list(customers.columns), "orders": list(orders.columns)})
    assert sources["customers"]["email"] == LocaleSource(column="country")
    assert sources["orders"]["buyer_email"].kind == "none"  # orders has no locale of its own
    out = fake_database_pandas({"customers": customers, "orders": orders}, fakes, sources, key=KEY.encode())
    c, o = out["customers"], out["orders"]
    fake_email = dict(zip(customers.email, c.email, strict=True))
    fake_name = dict(zip(customers.name, c.name, strict=True))
    assert (o.buyer_email == orders.buyer_email.map(fake_email)).all()
    assert (o.buyer_name == orders.buyer_name.map(fake_name)).all()
    assert not set(c.email) & set(customers.email) and not set(o.buyer_email) & set(orders.buyer_email)
    # the locale travelled with the value: Japanese customers' names are Japanese fakes in orders too
    japanese = orders.customer_id.map(customers.set_index("customer_id").country) == "Japan"
    assert o.buyer_name[japanese].map(lambda v: bool(CJK.search(v))).all()
    assert not o.buyer_name[~japanese].map(lambda v: bool(CJK.search(v))).any()
    assert o.ship_to.equals(orders.ship_to)  # columns without a rule are left alone


def test_scrub_with_value_locales_agrees_across_tables_where_it_did_not(shop):
    customers, orders, _ = shop
    rule = PIIRule(action="fake", kind="email")
    alone_c = scrub_pandas(customers, {"email": rule}, key=KEY)
    alone_o = scrub_pandas(orders, {"buyer_email": rule}, key=KEY)
    mapped = orders.buyer_email.map(dict(zip(customers.email, alone_c.email, strict=True)))
    assert (alone_o.buyer_email != mapped).any()  # the issue: each table fakes in its own locale
    votes = value_locale_votes(customers.email, customers.country.map({"Japan": "ja_JP", "DE": "de_DE",
                                                                       "FRA": "fr_FR", "Brasil": "pt_BR"}))
    vl = {"email": resolve_value_locales(votes)}
    c = scrub_pandas(customers, {"email": rule}, key=KEY, value_locales=vl)
    o = scrub_pandas(orders, {"buyer_email": rule}, key=KEY, value_locales=vl)
    assert (o.buyer_email == orders.buyer_email.map(dict(zip(customers.email, c.email, strict=True)))).all()
    assert c.email.equals(alone_c.email)  # customers' own locale is what it always was
    plan = plan_scrub(list(orders.columns), {"buyer_email": rule}, key=KEY, value_locales=vl)
    assert apply_scrub(orders, plan.payload()).equals(apply_scrub(orders, plan))  # the executors' form
    assert "value_locales" not in repr(plan)


def test_locale_through_a_foreign_key(shop):
    customers, orders, md = shop
    cfg = PrivacyConfig(rules={"orders": {"ship_to": {"action": "fake", "kind": "person_name",
                                                      "locale_from": "customers.country"}}})
    assert cfg.locale_from == {"orders.ship_to": "customers.country"}
    fakes = {"orders": {"ship_to": cfg.rules["orders"]["ship_to"]}}
    sources = cfg.locale_sources(md, fakes, {"customers": list(customers.columns), "orders": list(orders.columns)})
    src = sources["orders"]["ship_to"]
    assert (src.parent_table, src.fk_columns, src.parent_key, src.parent_column) == (
        "customers", ("customer_id",), ("customer_id",), "country")
    assert LocaleSource.from_dict(src.to_dict()) == src
    out = fake_database_pandas({"customers": customers, "orders": orders}, fakes, sources, key=KEY.encode())
    japanese = orders.customer_id.map(customers.set_index("customer_id").country) == "Japan"
    assert out["orders"].ship_to[japanese].map(lambda v: bool(CJK.search(v))).all()
    assert not out["orders"].ship_to[~japanese].map(lambda v: bool(CJK.search(v))).any()
    assert parent_locales(customers, ["customer_id"], "country")["0"] == "ja_JP"


def test_batches_give_the_same_fakes_as_the_whole_tables(shop):
    """What a Spark job does: votes per batch, summed; fakes per batch with the resolved locales."""
    customers, orders, md = shop
    fakes = _fakes()
    sources = PrivacyConfig().locale_sources(md, fakes, {"customers": list(customers.columns),
                                                         "orders": list(orders.columns)})
    whole = fake_database_pandas({"customers": customers, "orders": orders}, fakes, sources, key=KEY.encode())
    frames = {"customers": customers, "orders": orders}
    batches = {t: [f.iloc[i:i + 7] for i in range(0, len(f), 7)] for t, f in frames.items()}
    plain = {t: {c: r.model_dump() for c, r in rules.items()} for t, rules in fakes.items()}  # as shipped
    wire = {t: {c: s.to_dict() for c, s in srcs.items()} for t, srcs in sources.items()}
    votes = pd.concat([consistent_fake_votes(b, plain[t], wire[t]) for t in frames for b in batches[t]])
    summed = votes.groupby(["kind", "value", "locale"], as_index=False)["n"].sum()
    vl = {k: resolve_value_locales(g[list(VOTE_COLUMNS)]) for k, g in summed.groupby("kind")}
    for t in frames:
        got = pd.concat([consistent_fakes(b, plain[t], wire[t], key=KEY.encode(), value_locales=vl) for b in batches[t]])
        assert got.equals(whole[t])


def test_conflicting_locales_resolve_to_the_majority_then_the_first():
    votes = pd.DataFrame({"value": ["a", "a", "a", "b", "b", "c"], "locale": ["de_DE", "ja_JP", "ja_JP", "fr_FR", "de_DE", "it_IT"],
                          "n": [3, 1, 1, 2, 2, 1]})
    assert resolve_value_locales(votes) == {"a": "de_DE", "b": "de_DE", "c": "it_IT"}  # a: 3 vs 2; b: tie
    assert resolve_value_locales([("x", "ja_JP", 1), ("x", "de_DE", 2), ("x", "ja_JP", 2)]) == {"x": "ja_JP"}
    assert resolve_value_locales([]) == {}
    text = pd.Series(["a", None, "b", "a"])
    v = value_locale_votes(text, pd.Series(["de_DE", "de_DE", None, "de_DE"]))
    assert v.to_dict("records") == [{"value": "a", "locale": "de_DE", "n": 2}]  # nulls do not vote


def test_hashes_agree_whatever_columns_and_types_each_table_has(shop):
    customers, orders, _ = shop
    c = scrub_pandas(customers, {"email": "hash", "customer_id": "hash"}, key=KEY)
    o = scrub_pandas(orders.assign(customer_id=orders.customer_id.astype(float)),
                     {"buyer_email": "hash", "customer_id": "hash"}, key=KEY)
    assert (o.buyer_email == orders.buyer_email.map(dict(zip(customers.email, c.email, strict=True)))).all()
    assert (o.customer_id == orders.customer_id.map(dict(zip(customers.customer_id, c.customer_id, strict=True)))).all()


def test_locale_sources_precedence_and_errors(shop):
    customers, orders, md = shop
    cols = {"customers": list(customers.columns), "orders": list(orders.columns)}
    fakes = {"customers": {"email": PIIRule(action="fake", kind="email", locale="ja_JP"),
                           "name": PIIRule(action="fake", kind="person_name", locale_column="country")}}
    src = PrivacyConfig().locale_sources(md, fakes, cols)["customers"]
    assert src == {"email": LocaleSource(fixed="ja_JP"), "name": LocaleSource(column="country")}
    with pytest.raises(PrivacyError, match=r"table 'customers' has no foreign key to 'orders'.*Point locale_from"):
        PrivacyConfig(locale_from={"customers.email": "orders.buyer_email"}).locale_sources(md, fakes, cols)
    with pytest.raises(PrivacyError, match=r"'customers' has no column 'region'"):
        PrivacyConfig(locale_from={"orders.buyer_email": "customers.region"}).locale_sources(
            md, {"orders": {"buyer_email": PIIRule(action="fake", kind="email")}}, cols)
    with pytest.raises(PrivacyError, match=r"names 'orders.ship_to', which has no fake rule"):
        PrivacyConfig(locale_from={"orders.ship_to": "customers.country"}).locale_sources(md, fakes, cols)
    with pytest.raises(PrivacyError, match=r"'parent_table.locale_column'"):
        PrivacyConfig(locale_from={"orders.ship_to": "country"})
    with pytest.raises(PrivacyError, match=r"locale_from names table\(s\) \['clients'\]"):
        PrivacyConfig(locale_from={"orders.ship_to": "clients.country"}).check_tables(md.tables)
    with pytest.raises(PrivacyError, match=r"from 'customers.country' in its rule and from 'customers.x'"):
        PrivacyConfig(rules={"orders.ship_to": {"action": "fake", "kind": "person_name",
                                                "locale_from": "customers.country"}},
                      locale_from={"orders.ship_to": "customers.x"})


def test_several_foreign_keys_to_one_parent_need_via():
    md = (Metadata()
          .add_table("people", "pid", columns={"pid": "id", "country": "categorical"})
          .add_table("transfers", "tid", fk={"sender": "people.pid", "receiver": "people.pid"},
                     columns={"tid": "id", "sender": "id", "receiver": "id", "memo_name": "text"})
          .validate())
    fakes = {"transfers": {"memo_name": PIIRule(action="fake", kind="person_name")}}
    cols = {"people": ["pid", "country"], "transfers": ["tid", "sender", "receiver", "memo_name"]}
    with pytest.raises(PrivacyError, match=r"more than one foreign key to 'people'.*via"):
        PrivacyConfig(locale_from={"transfers.memo_name": "people.country"}).locale_sources(md, fakes, cols)
    src = PrivacyConfig(locale_from={"transfers.memo_name": "people.country via receiver"}).locale_sources(
        md, fakes, cols)["transfers"]["memo_name"]
    assert src.fk_columns == ("receiver",)
