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
