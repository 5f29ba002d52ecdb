"""Scrubbing in pandas: mask, HMAC hash, locale-aware fakes, custom, validation, and the secret key."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from pyspark_synth import PIIRule, PrivacyError
from pyspark_synth.privacy import (
    ENV_VAR,
    SecretKey,
    fake_value,
    hmac_hex,
    locale_for,
    mask_series,
    plan_scrub,
    scrub_pandas,
)
from pyspark_synth.privacy.scrub import apply_scrub

KEY = "test-secret-key-0123456789abcdef"
CJK = re.compile(r"[\u3040-\u30FF\u4E00-\u9FFF]")


def shout(s: pd.Series) -> pd.Series:
    """A custom scrub function used by the tests (importable as tests.unit.test_privacy_scrub:shout)."""
    return s.astype(str).str.upper()


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_mask_keeps_last_n_with_char_and_nulls():
    s = pd.Series(["4111111111111111", None, "abc", "12345"])
    out = mask_series(s, keep_last=4, mask_char="#")
    assert out.tolist() == ["############1111", None, "###", "#2345"]
    assert mask_series(pd.Series(["secret"]), keep_last=0).tolist() == ["******"]


def test_hash_is_hmac_consistent_across_tables_and_joinable():
    customers = pd.DataFrame({"email": ["a@x.com", "b@x.com", None, "c@x.com"], "n": [1, 2, 3, 4]})
    orders = pd.DataFrame({"buyer": ["c@x.com", "a@x.com", "a@x.com", "zz@x.com"]})
    c = scrub_pandas(customers, {"email": "hash"}, key=KEY)
    o = scrub_pandas(orders, {"buyer": PIIRule(action="hash")}, key=KEY)
    assert c.email.tolist()[2] is None
    assert c.email.str.fullmatch(r"[0-9a-f]{64}").sum() == 3
    joined = o.merge(c, left_on="buyer", right_on="email")
    assert sorted(joined.n.tolist()) == [1, 1, 4]  # joins on scrubbed keys still work
    # keyed, not a plain hash; another key gives other hashes; truncation keeps a prefix
    assert c.email[0] != hashlib.sha256(b"a@x.com").hexdigest()
    other = scrub_pandas(customers, {"email": "hash"}, key=KEY + "2")
    assert set(other.email.dropna()).isdisjoint(set(c.email.dropna()))
    short = scrub_pandas(customers, {"email": "hash"}, key=KEY, hash_length=16)
    assert short.email[0] == c.email[0][:16]
    # an int key column hashes the same whether or not a null made it float
    ints = scrub_pandas(pd.DataFrame({"k": [7, 8]}), {"k": "hash"}, key=KEY)
    floats = scrub_pandas(pd.DataFrame({"k": [7.0, None]}), {"k": "hash"}, key=KEY)
    assert ints.k[0] == floats.k[0] and floats.k[1] is None


def test_hash_and_fake_are_the_same_in_another_process():
    here_hash = hmac_hex(KEY.encode(), "jane@example.com")
    here_fake = fake_value(KEY.encode(), "person_name", "de_DE", "Jane Doe")
    code = textwrap.dedent(f"""
        import json
        from pyspark_synth.privacy import hmac_hex, fake_value
        key = {KEY!r}.encode()
        print(json.dumps([hmac_hex(key, "jane@example.com"), fake_value(key, "person_name", "de_DE", "Jane Doe")]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"})
    assert json.loads(out.stdout) == [here_hash, here_fake]


def test_locale_mapping():
    for v in ["Japan", "JP", "JPN", "日本", "ja_JP", "ja-JP", "ja"]:
        assert locale_for(v) == "ja_JP"
    assert locale_for("Deutschland") == locale_for("DE") == "de_DE"
    assert locale_for("Brasil") == locale_for("BRA") == "pt_BR"
    assert locale_for("España") == "es_ES" and locale_for("France") == "fr_FR"
    assert locale_for("Atlantis") == "en_US" and locale_for(None) == "en_US"


def test_fakes_follow_the_row_country_for_six_locales():
    countries = ["Japan", "DE", "FRA", "Brasil", "es_ES", "US"] * 3
    n = len(countries)
    pdf = pd.DataFrame({
        "name": [f"Person {i}" for i in range(n)],
        "street": [f"{i} Main Street" for i in range(n)],
        "phone": [f"+1 555 010 {i:04d}" for i in range(n)],
        "zip": [f"{10000 + i}" for i in range(n)],
        "country": countries,
    })
    rules = {"name": PIIRule(action="fake", kind="person_name"), "street": PIIRule(action="fake", kind="street_address"),
             "phone": PIIRule(action="fake", kind="phone"), "zip": PIIRule(action="fake", kind="postcode")}
    out = scrub_pandas(pdf, rules, key=KEY)
    by = {c: out[pdf.country == c] for c in set(countries)}
    assert by["Japan"].name.map(lambda v: bool(CJK.search(v))).all()  # Japanese names for Japan rows
    assert by["Japan"].street.str.contains("丁目").all()
    assert by["DE"].street.str.contains(r"(?:straße|str\.|weg|platz|gasse|ring|allee)\b", case=False).all()
    assert by["FRA"].phone.str.match(r"^(\+33|0)").all()
    assert by["Brasil"].zip.str.fullmatch(r"\d{5}-?\d{3}").all()
    assert by["es_ES"].phone.str.startswith("+34").all()
    assert not out.name.map(lambda v: bool(CJK.search(v)))[pdf.country != "Japan"].any()
    assert (out.name != pdf.name).all() and out.country.tolist() == countries
    # a fixed locale on the rule wins over the row's country
    fixed = scrub_pandas(pdf, {"name": PIIRule(action="fake", kind="person_name", locale="ja_JP")}, key=KEY)
    assert fixed.name.map(lambda v: bool(CJK.search(v))).all()


def test_fakes_are_consistent_per_value_and_keep_nulls():
    a = pd.DataFrame({"name": ["Ann Lee", "Bob Ray", None, "Ann Lee"], "locale": ["de_DE"] * 4})
    b = pd.DataFrame({"who": ["Bob Ray", "Ann Lee"], "locale": ["de_DE", "de_DE"]})
    rule = PIIRule(action="fake", kind="person_name")
    fa = scrub_pandas(a, {"name": rule}, key=KEY)
    fb = scrub_pandas(b, {"who": rule}, key=KEY)
    assert fa.name[0] == fa.name[3] == fb.who[1] and fa.name[1] == fb.who[0]
    assert fa.name[2] is None and fa.name[0] != fa.name[1]
    again = scrub_pandas(a, {"name": rule}, key=KEY)
    assert again.equals(fa)
    assert scrub_pandas(a, {"name": rule}, key=KEY + "x").name[0] != fa.name[0]


def test_drop_keep_custom_and_order():
    pdf = pd.DataFrame({"a": ["x", None], "b": [1, 2], "c": ["p", "q"], "d": ["m", "n"]})
    out = scrub_pandas(pdf, {"a": {"action": "custom", "function": "tests.unit.test_privacy_scrub:shout"},
                             "b": "drop", "c": "keep"})
    assert list(out.columns) == ["a", "c", "d"]
    assert out.a.tolist() == ["X", None] and out.c.tolist() == ["p", "q"]


def test_bad_rules_raise_privacy_errors_that_say_how_to_fix():
    cols = ["name", "email", "country"]
    with pytest.raises(PrivacyError, match=r"column\(s\) \['nme'\].*Known columns: \['name', 'email', 'country'\]"):
        plan_scrub(cols, {"nme": "drop"})
    with pytest.raises(PrivacyError, match=r"unknown action 'encrypt'.*Use one of"):
        plan_scrub(cols, {"name": {"action": "encrypt"}})
    with pytest.raises(PrivacyError, match=r"need a secret HMAC key.*spark.synth.hmacKey.*PYSPARK_SYNTH_HMAC_KEY"):
        plan_scrub(cols, {"email": "hash"})
    with pytest.raises(PrivacyError, match=r"custom function 'no_such_mod:f' cannot be imported"):
        plan_scrub(cols, {"name": {"action": "custom", "function": "no_such_mod:f"}})
    with pytest.raises(PrivacyError, match=r"locale from column 'cc'.*does not have"):
        plan_scrub(cols, {"name": PIIRule(action="fake", kind="person_name", locale_column="cc")}, key=KEY)
    with pytest.raises(PrivacyError, match=r"fakes kind 'shoe_size'"):
        plan_scrub(cols, {"name": PIIRule(action="fake", kind="shoe_size")}, key=KEY)
    with pytest.raises(PrivacyError, match=r"locale 'xx_XX'"):
        plan_scrub(cols, {"name": PIIRule(action="fake", kind="person_name", locale="xx_XX")}, key=KEY)
    with pytest.raises(PrivacyError, match=r"at least 16 bytes"):
        plan_scrub(cols, {"email": "hash"}, key="short")


def test_key_from_environment(monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    plan = plan_scrub(["email"], {"email": "hash"})
    assert plan.key == SecretKey(KEY) and "environment" in plan.key.source


def test_secret_never_in_logs_reprs_errors_or_outputs(caplog):
    from pyspark_synth import set_log_level

    secret = "do-not-leak-this-secret-4242"
    set_log_level("DEBUG", stream=False)
    try:
        with caplog.at_level(logging.DEBUG, logger="pyspark_synth"):
            plan = plan_scrub(["email", "name"], {"email": "hash", "name": PIIRule(action="fake", kind="person_name")},
                              key=secret)
            out = apply_scrub(pd.DataFrame({"email": ["a@b.co"], "name": ["Ann"]}), plan)
            errors = []
            for bad in ({"nope": "hash"}, {"email": {"action": "bad"}}):
                with pytest.raises(PrivacyError) as exc:
                    plan_scrub(["email"], bad, key=secret)
                errors.append(str(exc.value))
    finally:
        set_log_level("WARNING", stream=False)
    assert "scrub planned" in caplog.text and plan.key.fingerprint in caplog.text
    texts = [caplog.text, repr(plan), str(plan), repr(plan.key), str(plan.key), *errors, out.to_string()]
    assert all(secret not in t for t in texts)
    assert "***" in repr(plan.key) and "***" in repr(plan)


def test_dates_and_numbers_become_strings():
    import datetime as dt

    pdf = pd.DataFrame({"dob": [dt.date(1980, 1, 2), None], "card": [4111111111111111, 4000056655665556],
                        "ip": ["10.1.2.3", "2001:db8::7"]})
    rules = {"dob": PIIRule(action="fake", kind="date_of_birth"), "card": "mask",
             "ip": PIIRule(action="fake", kind="ip_address")}
    out = scrub_pandas(pdf, rules, key=KEY)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", out.dob[0]) and out.dob[0] != "1980-01-02" and out.dob[1] is None
    assert out.card.tolist() == ["************1111", "************5556"]
    assert out.ip[0].count(".") == 3 and ":" in out.ip[1]  # the IP version is kept


def test_fake_rule_without_kind_takes_it_from_the_column_name_or_is_refused():
    plan = plan_scrub(["email", "full_name", "x"], {"email": "fake", "full_name": {"action": "fake"}}, key=KEY)
    assert plan.rules["email"].kind == "email" and plan.rules["full_name"].kind == "person_name"
    assert plan.payload()["rules"]["email"]["kind"] == "email"  # what the executors get
    out = apply_scrub(pd.DataFrame({"email": ["a@b.co"], "full_name": ["Ann Lee"], "x": [1]}), plan)
    assert "@" in out.email[0] and out.email[0] != "a@b.co"
    with pytest.raises(PrivacyError, match=r"scrub: the fake rule of column 'x' has no kind.*'person_name'"):
        plan_scrub(["x"], {"x": "fake"}, key=KEY)
