"""PrivacyConfig: rule parsing and merging, key sources, per-table plans, sampling-time fakes (no Spark)."""

from __future__ import annotations

import pandas as pd
import pytest

from pyspark_synth import Metadata, PIIRule, PrivacyConfig, PrivacyError
from pyspark_synth.privacy.config import fake_columns, original_digest
from pyspark_synth.privacy.keys import ENV_VAR

KEY = "k" * 32


@pytest.fixture
def md():
    m = Metadata()
    m.add_table("users", "user_id", columns={"user_id": "id", "name": "categorical", "email": "categorical",
                                              "country": "categorical"})
    m.add_table("orders", "order_id", fk={"user_id": "users.user_id"})
    return m.validate()


def test_rules_nested_and_flat_forms_are_equal():
    a = PrivacyConfig(rules={"users": {"email": "hash", "name": {"action": "fake", "kind": "person_name"}}})
    b = PrivacyConfig(rules={"users.email": "hash", "users.name": PIIRule(action="fake", kind="person_name")})
    assert a.rules == b.rules
    assert a.rules["users"]["email"] == PIIRule(action="hash")


def test_invalid_rules_and_short_key_are_refused():
    with pytest.raises(PrivacyError, match=r"table 'users'.*unknown action 'scramble'"):
        PrivacyConfig(rules={"users": {"email": "scramble"}})
    with pytest.raises(PrivacyError, match=r"neither a table"):
        PrivacyConfig(rules={"email": "hash"})
    with pytest.raises(PrivacyError, match=r"at least 16 bytes"):
        PrivacyConfig(key="short")


def test_key_is_never_shown_and_sources_are_ordered(monkeypatch):
    cfg = PrivacyConfig(key=KEY)
    assert KEY not in repr(cfg) and KEY not in repr(cfg.resolve_key())
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("MY_KEY", "e" * 20)
    env_cfg = PrivacyConfig(key_env="MY_KEY")
    assert env_cfg.resolve_key(conf_value="c" * 20).source == "environment variable MY_KEY"
    assert PrivacyConfig(key_env="UNSET_VAR_X").resolve_key(conf_value="c" * 20).source.startswith("Spark conf")
    assert PrivacyConfig().resolve_key() is None


def test_plan_merges_metadata_detected_and_config_rules(md):
    table = md.table("users").model_copy(update={"columns": tuple(
        c.model_copy(update={"pii": PIIRule(action="mask")}) if c.name == "name" else c for c in md.table("users").columns)})
    cfg = PrivacyConfig(rules={"users": {"email": "hash"}})
    detected = {"name": PIIRule(action="drop"), "country": PIIRule(action="keep"), "user_id": PIIRule(action="drop")}
    plan = cfg.plan_table(table, ["user_id", "name", "email", "country"], detected)
    assert plan.scrub_rules == {"name": PIIRule(action="mask"), "email": PIIRule(action="hash")}
    assert plan.detected == ("country",)  # metadata rule wins over detection; keys are never auto-ruled
    assert plan.needs_key == ["email"]


def test_plan_separates_fakes_and_guards_keys(md):
    cfg = PrivacyConfig(rules={"users": {"name": PIIRule(action="fake", kind="person_name", locale_column="country"),
                                         "email": "drop"}})
    plan = cfg.plan_table(md.table("users"), ["user_id", "name", "email", "country"])
    assert list(plan.fake_rules) == ["name"] and plan.positions == {"name": 1}
    assert plan.describe() == {"email": "drop", "name": "fake(person_name) at sampling"}
    with pytest.raises(PrivacyError, match=r"key column\(s\) \['user_id'\].*only be hashed or kept"):
        PrivacyConfig(rules={"users": {"user_id": "mask"}}).plan_table(md.table("users"), ["user_id", "name"])
    with pytest.raises(PrivacyError, match=r"column\(s\) \['phone'\], which the data does not have"):
        PrivacyConfig(rules={"users": {"phone": "hash"}}).plan_table(md.table("users"), ["user_id", "name"])
    with pytest.raises(PrivacyError, match=r"not in the metadata. Known tables: \['orders', 'users'\]"):
        PrivacyConfig(rules={"customers": {"x": "hash"}}).check_tables(md.tables)


def test_missing_key_names_columns_and_sources(md, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    cfg = PrivacyConfig(rules={"users": {"email": "hash"}}, key_env="APP_KEY")
    plans = {"users": cfg.plan_table(md.table("users"), ["user_id", "name", "email", "country"])}
    with pytest.raises(PrivacyError, match=r"users\.email.*Looked in: PrivacyConfig\(key=\.\.\.\), \$APP_KEY"):
        cfg.require_key(plans)
    assert PrivacyConfig(key=KEY).require_key(plans) is not None


def test_fakes_are_locale_aware_deterministic_and_never_an_original():
    pdf = pd.DataFrame({"country": ["Japan", "Germany", "Japan", None], "src": ["1", "2", "3", "4"]})
    fakes = {"name": PIIRule(action="fake", kind="person_name").model_dump()}
    out = fake_columns(pdf, fakes, key=KEY.encode(), seed=7, source="src")
    assert list(out.columns) == ["country", "name"]
    assert out["name"].notna().all()
    assert any("\u3040" <= ch <= "\u9fff" for ch in out["name"].iloc[0])  # a Japanese name for Japan
    again = fake_columns(pdf, fakes, key=KEY.encode(), seed=7, source="src")
    assert again.equals(out)
    other_seed = fake_columns(pdf, fakes, key=KEY.encode(), seed=8, source="src")
    assert not other_seed["name"].equals(out["name"])
    banned = {"name": frozenset({original_digest("salt", out["name"].iloc[1])})}
    redrawn = fake_columns(pdf, fakes, key=KEY.encode(), seed=7, source="src", salt="salt", banned=banned)
    assert redrawn["name"].iloc[1] != out["name"].iloc[1]
    assert redrawn["name"].iloc[0] == out["name"].iloc[0]


def test_auto_detect_fills_rules_only_where_none_is_given(md):
    from faker import Faker

    from pyspark_synth.privacy import detect_pii_pandas

    fake = Faker("en_US")
    fake.seed_instance(3)
    pdf = pd.DataFrame({"user_id": range(200), "name": [fake.name() for _ in range(200)],
                        "email": [fake.email() for _ in range(200)], "country": ["US"] * 200})
    cfg = PrivacyConfig(rules={"users": {"name": "mask"}}, auto_detect=True, detect_actions={"email": "fake"})
    detected = cfg.detected_rules(detect_pii_pandas(pdf))
    assert detected["email"].action == "fake" and "name" in detected
    plan = cfg.plan_table(md.table("users"), list(pdf.columns), detected)
    assert plan.scrub_rules["name"] == PIIRule(action="mask")  # the explicit rule wins
    assert plan.fake_rules["email"].kind == "email" and plan.detected == ("email",)


# ----------------------------------------------------------------------------- issue 22: rules checked when made
def test_fake_rule_without_kind_takes_it_from_the_column_name(md):
    cfg = PrivacyConfig(rules={"customers": {"full_name": "fake", "email": "fake", "Vorname": "fake",
                                             "contact_phone": {"action": "fake"}}})
    rules = cfg.rules["customers"]
    assert {c: r.kind for c, r in rules.items()} == {"full_name": "person_name", "email": "email",
                                                     "Vorname": "first_name", "contact_phone": "phone"}
    # the plan's fake rules now make values (today: KeyError '' in privacy/fake.py on the executor)
    table = Metadata().add_table("customers", "id", columns={"id": "id", "full_name": "text", "email": "text",
                                                             "Vorname": "text", "contact_phone": "text"}).table("customers")
    plan = cfg.plan_table(table, ["id", "full_name", "email", "Vorname", "contact_phone"])
    out = fake_columns(pd.DataFrame({"id": [1, 2], "src": ["a", "b"]}),
                       {c: r.model_dump() for c, r in plan.fake_rules.items()}, key=KEY.encode(), seed=1, source="src")
    assert out["email"].str.contains("@").all() and out["full_name"].str.contains(" ").all()
    assert out.notna().all().all()


def test_fake_rule_without_kind_and_no_name_cue_is_refused_with_the_kinds():
    with pytest.raises(PrivacyError, match=r"table 'customers'.*'col_3' has no kind.*person_name.*email.*"
                                           r"auto_detect=True"):
        PrivacyConfig(rules={"customers": {"col_3": "fake"}})
    with pytest.raises(PrivacyError, match=r"'product_name' has no kind"):  # an owner word vetoes the name cue
        PrivacyConfig(rules={"customers.product_name": "fake"})


def test_fake_kind_from_detection_or_refused_before_fitting(md):
    table = md.table("users")
    cfg = PrivacyConfig(rules={"users": {"country": "fake"}}, auto_detect=True)
    assert cfg.rules["users"]["country"].kind is None  # left to detection
    plan = cfg.plan_table(table, ["user_id", "name", "email", "country"],
                          {"country": PIIRule(action="hash", kind="city")})
    assert plan.fake_rules["country"].kind == "city"
    with pytest.raises(PrivacyError, match=r"'country' has no kind.*nor did detection find.*\['person_name'"):
        cfg.plan_table(table, ["user_id", "name", "email", "country"], {})


def test_fake_rule_without_kind_in_the_metadata_is_resolved_or_refused_in_the_plan(md):
    cols = tuple(c.model_copy(update={"pii": PIIRule(action="fake")}) if c.name in {"name", "country"} else c
                 for c in md.table("users").columns)
    table = md.table("users").model_copy(update={"columns": cols})
    with pytest.raises(PrivacyError, match=r"table 'users'.*'country' has no kind.*kinds that can be faked"):
        PrivacyConfig().plan_table(table, ["user_id", "name", "email", "country"])
    plan = PrivacyConfig(rules={"users": {"country": PIIRule(action="fake", kind="city")}}).plan_table(
        table, ["user_id", "name", "email", "country"])
    assert plan.fake_rules["name"].kind == "person_name" and plan.fake_rules["country"].kind == "city"


def test_every_config_error_surfaces_when_the_config_is_made():
    with pytest.raises(PrivacyError, match=r"fakes kind 'shoe_size', which has no generator.*'person_name'"):
        PrivacyConfig(rules={"users": {"name": {"action": "fake", "kind": "shoe_size"}}})
    with pytest.raises(PrivacyError, match=r"'name' uses locale 'xx_XX'"):
        PrivacyConfig(rules={"users": {"name": {"action": "fake", "kind": "person_name", "locale": "xx_XX"}}})
    with pytest.raises(PrivacyError, match=r"locale 'Klingon' is not a Faker locale"):
        PrivacyConfig(locale="Klingon")
    with pytest.raises(PrivacyError, match=r"detect_actions \{'email': 'scramble'\}.*Use one of"):
        PrivacyConfig(detect_actions={"email": "scramble"})
    with pytest.raises(PrivacyError, match=r"min_confidence must be a number between 0 and 1"):
        PrivacyConfig(min_confidence=5)
    with pytest.raises(PrivacyError, match=r"detect_sample_rows must be an integer"):
        PrivacyConfig(detect_sample_rows=1.5)


def test_custom_function_that_cannot_be_imported_is_refused_in_the_plan(md):
    cfg = PrivacyConfig(rules={"users": {"name": {"action": "custom", "function": "no_such_mod:f"}}})
    with pytest.raises(PrivacyError, match=r"users.name.*'no_such_mod:f' cannot be imported"):
        cfg.plan_table(md.table("users"), ["user_id", "name", "email", "country"])
