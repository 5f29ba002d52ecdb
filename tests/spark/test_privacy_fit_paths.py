"""One privacy step on every fit path: no original PII value in any output nor in the stored models,
the policy for detected PII (suggest / ignore / strict), and fakes consistent across tables."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import (
    Metadata,
    PIIRule,
    PrivacyConfig,
    PrivacyError,
    Synthesizer,
    fit_table,
    sample_table,
)
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.privacy import ENV_VAR

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KEY = "fit-paths-secret-0123456789abcdef"
N = 40
HEX64 = re.compile(r"^[0-9a-f]{64}$")
# every column whose original values must never come back (the last one has no rule: detection finds it)
PII_COLUMNS = ("email", "phone", "ssn", "full_name", "nickname", "contact_email")


def redact(values: pd.Series) -> pd.Series:
    """The custom scrub of `nickname` (importable as tests.spark.test_privacy_fit_paths:redact)."""
    return values.astype(str).str.len().map(lambda n: f"redacted-{n}")


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def people_pdf() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "person_id": np.arange(1, N + 1, dtype=np.int64),
        "email": [f"origmail{i:03d}@leak-test.example" for i in range(N)],
        "phone": [f"+49 555 77{i:04d}" for i in range(N)],
        "ssn": [f"219-09-{1000 + i:04d}" for i in range(N)],
        "full_name": [f"Origname{i:03d} Leaktest" for i in range(N)],
        "nickname": [f"nick{i:03d}secret" for i in range(N)],
        "contact_email": [f"contact{i:03d}@leak-test.example" for i in range(N)],
        "country": rng.choice(["JP", "DE", "US"], N),
        "age": rng.integers(18, 80, N).astype(np.int64),
    })


def orders_pdf(people: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    counts = rng.integers(1, 4, len(people))
    owner = np.repeat(np.arange(len(people)), counts)
    return pd.DataFrame({
        "order_id": np.arange(1000, 1000 + len(owner), dtype=np.int64),
        "person_id": people["person_id"].to_numpy()[owner],
        "recipient": people["full_name"].to_numpy()[owner],  # the person's name again: the same fakes
        "amount": rng.gamma(2.0, 10.0, len(owner)).round(2),
    })


def _people_columns() -> dict:
    return {
        "person_id": {"type": "id", "sql_type": "bigint"},
        "email": {"pii": PIIRule(action="hash", kind="email")},
        "phone": {"pii": PIIRule(action="mask")},
        "ssn": {"pii": PIIRule(action="drop")},
        "full_name": {"pii": PIIRule(action="fake", kind="person_name")},
        "nickname": {"pii": PIIRule(action="custom", function="tests.spark.test_privacy_fit_paths:redact")},
        "contact_email": {},
        "country": {},
        "age": {"type": "numerical"},
    }


def people_metadata() -> Metadata:
    return Metadata().add_table("people", pk="person_id", columns=_people_columns())


def shop_metadata() -> Metadata:
    md = people_metadata()
    md.add_table("orders", pk="order_id", fk={"person_id": "people.person_id"}, columns={
        "order_id": {"type": "id", "sql_type": "bigint"}, "person_id": {"type": "id", "sql_type": "bigint"},
        "recipient": {"pii": PIIRule(action="fake", kind="person_name")}, "amount": {"type": "numerical"}})
    return md.validate()


@pytest.fixture(scope="module")
def truth() -> dict[str, pd.DataFrame]:
    people = people_pdf()
    return {"people": people, "orders": orders_pdf(people)}


@pytest.fixture
def hmac_key(spark_conf):
    spark_conf("spark.synth.hmacKey", KEY)


# ----------------------------------------------------------------------------- the leak checks
def _blobs(data: bytes) -> list[bytes]:
    """The bytes, and the members of a zip (recursively: a model archive holds an .npz, itself a zip)."""
    out = [data]
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                out += _blobs(zf.read(name))
    return out


def _stored(root: Path) -> list[tuple[str, bytes]]:
    files = [p for p in Path(root).rglob("*") if p.is_file()]
    assert any(p.name == "model.synth" for p in files) and any(p.name == "spec.json" for p in files)
    return [(str(p), b) for p in files for b in _blobs(p.read_bytes())]


def _originals(truth: dict[str, pd.DataFrame]) -> set[str]:
    values = {str(v) for c in PII_COLUMNS for v in truth["people"][c]}
    return values | {str(v) for v in truth["orders"]["recipient"]}


def assert_no_leak(truth: dict[str, pd.DataFrame], outputs: dict[str, pd.DataFrame], registry_root: Path) -> None:
    """No original PII value in any cell of the outputs (nor inside one), nor in any stored byte."""
    values = _originals(truth)
    cells = {str(v) for pdf in outputs.values() for c in pdf.columns for v in pdf[c].dropna()}
    assert not values & cells
    joined = "\x00".join(cells)
    assert not [v for v in values if v in joined]
    for path, blob in _stored(registry_root):
        for v in values:  # JSON and text in UTF-8, NumPy string arrays in UTF-32
            assert v.encode("utf-8") not in blob and v.encode("utf-32-le") not in blob, (v, path)


def check_people(people: pd.DataFrame, n: int) -> None:
    """The output's shape after the step: ssn dropped, the faked name back in its place, scrubbed columns."""
    assert list(people.columns) == ["person_id", "email", "phone", "full_name", "nickname", "contact_email",
                                    "country", "age"]
    assert len(people) == n
    assert people["email"].str.fullmatch(HEX64.pattern).all()  # HMAC of the metadata's hash rule
    assert people["contact_email"].str.fullmatch(HEX64.pattern).all()  # detected e-mail: hashed too
    assert people["phone"].str.startswith("*").all()
    assert people["nickname"].str.startswith("redacted-").all()
    assert people["full_name"].str.len().gt(3).all() and people["full_name"].nunique() > n // 2


# ----------------------------------------------------------------------------- every entry point
def test_fit_table_and_sample_table_leave_no_original_pii(spark, truth, hmac_key, tmp_path):
    root = tmp_path / "reg"
    df = spark.createDataFrame(truth["people"])
    entry = df.synth.fit(table="people", metadata=people_metadata(), backend="copula", seed=1, registry=str(root))
    a = sample_table(spark, "people", 60, seed=2, registry=str(root)).toPandas()
    assert_no_leak(truth, {"people": a}, root)
    check_people(a, 60)
    b = spark.synth.sample("people", 60, seed=2, registry=str(root)).toPandas()
    pd.testing.assert_frame_equal(a, b)  # fakes are deterministic for a seed
    spec = entry.spec
    assert {p.column: (p.action, p.origin) for p in spec.privacy} == {
        "email": ("hash", "metadata"), "phone": ("mask", "metadata"), "ssn": ("drop", "metadata"),
        "full_name": ("fake", "metadata"), "nickname": ("custom", "metadata"), "contact_email": ("hash", "detected")}
    assert [f.column for f in spec.fakes] == ["full_name"] and "full_name" not in spec.table.column_names
    assert any("'contact_email' looks like email" in n and "suggested action 'hash' was applied" in n for n in spec.notes)


def test_fit_database_and_sample_database_leave_no_original_pii_and_share_fakes(spark, truth, hmac_key, tmp_path):
    root = tmp_path / "reg"
    frames = {t: spark.createDataFrame(p) for t, p in truth.items()}
    report = spark.synth.fit(shop_metadata(), frames, backend="copula", seed=1, registry=str(root))
    out = spark.synth.sample(num_rows={"people": 30}, metadata=shop_metadata(), seed=4, registry=str(root))
    pdfs = {t: df.toPandas() for t, df in out.items()}
    assert_no_leak(truth, pdfs, root)
    check_people(pdfs["people"], 30)
    assert any("'recipient' holds the values of 'people.full_name'" in n for n in report.notes)
    assert any("'contact_email' looks like email" in n for n in report.notes)
    assert "same fakes as: recipient = people.full_name via person_id" in report.explain()
    # the same generated person gets the same fake name in both tables (orders has no country column)
    joined = pdfs["orders"].merge(pdfs["people"], on="person_id", how="inner")
    assert len(joined) == len(pdfs["orders"]) > 0
    assert (joined["recipient"] == joined["full_name"]).all()
    # ... in the person's locale (people.country), which orders reads through its context
    jp = joined.loc[joined["country"] == "JP", "recipient"]
    assert len(jp) and jp.map(lambda s: any("\u3040" <= ch <= "\u9fff" for ch in s)).all()


@pytest.fixture
def sql_shop(spark, tmp_path, truth):
    """The SQL plugin on a private registry and catalog table, with `piidb.people` and its metadata saved."""
    from pyspark_synth.io.catalog import save_metadata
    from pyspark_synth.spark import sql as synth_sql

    keys = {"spark.synth.registryRoot": str(tmp_path / "sql-reg"), "spark.synth.catalogTable": "synth_pii_paths_md",
            "spark.synth.hmacKey": KEY}
    saved = {k: spark.conf.get(k, None) for k in keys}
    for k, v in keys.items():
        spark.conf.set(k, v)
    spark.sql("CREATE DATABASE IF NOT EXISTS piidb")
    spark.createDataFrame(truth["people"]).write.mode("overwrite").saveAsTable("piidb.people")
    save_metadata(spark, people_metadata(), name="piidb")
    synth_sql.activate(spark)
    yield tmp_path / "sql-reg"
    for k, v in saved.items():
        spark.conf.unset(k) if v is None else spark.conf.set(k, v)
    spark.sql("DROP DATABASE IF EXISTS piidb CASCADE")
    spark.sql("DROP TABLE IF EXISTS synth_pii_paths_md")


def test_call_fit_call_sample_and_the_table_function_leave_no_original_pii(spark, truth, sql_shop):
    (fitted,) = spark.sql("CALL synth.fit(table => 'piidb.people', backend => 'copula', seed => 1)").collect()
    assert fitted.metadata_name == "piidb"  # the metadata (and its rules) came from the catalog table
    called = spark.sql("CALL synth.sample(table => 'people', num_rows => 50, seed => 3)").toPandas()
    selected = spark.sql("SELECT * FROM synth_sample('people', 50, 3)").toPandas()
    assert_no_leak(truth, {"call": called, "select": selected}, sql_shop)
    check_people(called, 50)
    pd.testing.assert_frame_equal(called, selected.astype(called.dtypes.to_dict()))  # one kernel, same fakes


def test_the_synthesizer_leaves_no_original_pii(spark, truth, tmp_path):
    root = tmp_path / "reg"
    syn = Synthesizer(shop_metadata(), PrivacyConfig(key=KEY), spark_session=spark, backend="copula",
                      registry=ModelRegistry(root, "syn"))
    syn.fit({t: spark.createDataFrame(p) for t, p in truth.items()}, sample_size=None, epochs=1, seed=3)
    paths = syn.sample({"people": 25}, output_format="parquet", output_path=f"file://{tmp_path / 'out'}", seed=5)
    pdfs = {t: spark.read.parquet(p).toPandas() for t, p in paths.items()}
    assert_no_leak(truth, pdfs, root)
    check_people(pdfs["people"].sort_values("person_id").reset_index(drop=True), 25)
    assert set(syn.privacy_["people"].fake_rules) == {"full_name"} and syn.privacy_["people"].detected == ("contact_email",)
    joined = pdfs["orders"].merge(pdfs["people"], on="person_id")
    assert len(joined) and (joined["recipient"] == joined["full_name"]).all()


# ----------------------------------------------------------------------------- the policy for detected PII
def _job_ids(spark, group: str) -> list[int]:
    return list(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


def _in_group(spark, group: str, fn):  # noqa: ANN001, ANN202
    spark.sparkContext.setJobGroup(group, group)
    try:
        return fn()
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)


def test_strict_refuses_to_fit_with_the_columns_after_only_the_detection_sample(spark, truth, hmac_key, tmp_path):
    from pyspark_synth.spark.pii import detect_pii

    frames = {t: spark.createDataFrame(p) for t, p in truth.items()}
    root = tmp_path / "reg"
    with pytest.raises(PrivacyError, match=r"pii='strict'.*1 column\(s\).*people\.contact_email: email.*"
                                           r"suggested 'hash'.*Nothing was fitted"):
        _in_group(spark, "strict-db", lambda: spark.synth.fit(shop_metadata(), frames, backend="copula",
                                                             registry=str(root), pii="strict"))
    with pytest.raises(PrivacyError, match=r"people\.contact_email: email"):
        _in_group(spark, "strict-table", lambda: fit_table(frames["people"], table="people", metadata=people_metadata(),
                                                            backend="copula", registry=str(root), pii="strict"))
    # the only jobs were the bounded detection samples (people; orders has no unruled column but amount)
    detect_people = _in_group(spark, "detect-people", lambda: detect_pii(frames["people"], columns=["contact_email", "country", "age"]))
    assert [d.column for d in detect_people] == ["contact_email"]
    _in_group(spark, "detect-orders", lambda: detect_pii(frames["orders"], columns=["amount"]))
    expected = len(_job_ids(spark, "detect-people")) + len(_job_ids(spark, "detect-orders"))
    assert len(_job_ids(spark, "strict-db")) == expected
    assert len(_job_ids(spark, "strict-table")) == len(_job_ids(spark, "detect-people"))
    assert not root.exists()
    # with a rule for the column, strict fits (keep: learned as it is, on purpose)
    md = Metadata().add_table("people", pk="person_id", columns={**_people_columns(),
                                                                 "contact_email": {"pii": PIIRule(action="keep")}})
    entry = fit_table(frames["people"], table="people", metadata=md, backend="copula", registry=str(root), pii="strict")
    assert "contact_email" not in {p.column for p in entry.spec.privacy}


def test_ignore_opts_out_of_detection_and_suggest_uses_a_per_fit_key_without_one(spark, truth):
    from pyspark_synth.spark.privacy_step import prepare_privacy

    md = people_metadata()
    # columns without a rule only: email hashed by detection; no key is configured anywhere
    frames = {"people": spark.createDataFrame(truth["people"][["person_id", "contact_email", "country", "age"]])}
    bare = Metadata().add_table("people", pk="person_id", columns={c: v for c, v in _people_columns().items()
                                                                    if c in frames["people"].columns})
    ignored = _in_group(spark, "ignore", lambda: prepare_privacy(spark, bare, frames, pii="ignore"))
    assert _job_ids(spark, "ignore") == [] and ignored.frames["people"] is frames["people"]  # no job, no change
    assert ignored.tables["people"].columns == ()
    first = prepare_privacy(spark, bare, frames)
    again = prepare_privacy(spark, bare, frames)
    assert first.per_fit_key and any("random key of this fit" in n and "not stable across fits" in n for n in first.notes)
    (entry,) = first.tables["people"].columns
    assert (entry.column, entry.action, entry.origin, entry.key) == ("contact_email", "hash", "detected", "per-fit")
    h1 = first.frames["people"].orderBy("person_id").toPandas()["contact_email"]
    h2 = again.frames["people"].orderBy("person_id").toPandas()["contact_email"]
    assert h1.str.fullmatch(HEX64.pattern).all() and not set(h1) & set(h2)  # a new key each fit
    with pytest.raises(PrivacyError, match=r"auto_detect=True.*pii='ignore'"):
        prepare_privacy(spark, bare, frames, privacy=PrivacyConfig(auto_detect=True), pii="ignore")
    with pytest.raises(PrivacyError, match=r"pii='loose' is not a policy.*'suggest'.*'strict'.*'ignore'"):
        fit_table(frames["people"], table="people", metadata=bare, pii="loose")
    # an explicit hash rule needs a configured key: refused before any job, saying where to put it
    people = spark.createDataFrame(truth["people"])
    with pytest.raises(PrivacyError, match=r"people\.email.*need a secret HMAC key.*spark\.synth\.hmacKey"):
        _in_group(spark, "no-key", lambda: fit_table(people, table="people", metadata=md, backend="copula"))
    assert _job_ids(spark, "no-key") == []


# ----------------------------------------------------------------------------- a scrubbed copy, fakes consistent
def test_scrub_database_gives_one_fake_per_value_in_every_table(spark):
    from pyspark_synth.privacy.config import fake_database_pandas
    from pyspark_synth.spark.pii import scrub_database

    customers = pd.DataFrame({"customer_id": np.arange(12, dtype=np.int64),
                              "email": [f"c{i}@mail.example" for i in range(12)],
                              "country": ["JP", "DE", "BR", "US"] * 3})
    orders = pd.DataFrame({"order_id": np.arange(30, dtype=np.int64), "customer_id": np.arange(30, dtype=np.int64) % 12,
                           "buyer_email": [f"c{i % 12}@mail.example" for i in range(30)],
                           "note_email": [f"c{(i * 5) % 12}@mail.example" for i in range(30)]})
    md = Metadata().add_table("customers", pk="customer_id")
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    cfg = PrivacyConfig(rules={"customers": {"email": "fake"}, "orders": {"buyer_email": "fake", "note_email": "fake"}},
                        key=KEY, locale_from={"orders.buyer_email": "customers.country"})
    out = scrub_database(spark, md, {"customers": spark.createDataFrame(customers), "orders": spark.createDataFrame(orders)},
                         privacy=cfg)
    c = out["customers"].toPandas().sort_values("customer_id").reset_index(drop=True)
    o = out["orders"].toPandas().sort_values("order_id").reset_index(drop=True)
    assert list(o.columns) == list(orders.columns) and list(c.columns) == list(customers.columns)
    fake_of = dict(zip(customers["email"], c["email"], strict=True))
    assert not set(fake_of) & set(fake_of.values())
    assert (o["buyer_email"] == orders["buyer_email"].map(fake_of)).all()  # the customer's fake in orders too
    assert (o["note_email"] == orders["note_email"].map(fake_of)).all()  # a column with no locale of its own
    # the same fakes as the pure two-step mechanism
    rules = {t: cfg.plan_table(md.tables[t], list(f.columns)).fake_rules
             for t, f in (("customers", customers), ("orders", orders))}
    sources = cfg.locale_sources(md, rules, {"customers": list(customers.columns), "orders": list(orders.columns)})
    expected = fake_database_pandas({"customers": customers, "orders": orders}, rules, sources, key=KEY.encode())
    assert c["email"].tolist() == expected["customers"]["email"].tolist()
    assert o["buyer_email"].tolist() == expected["orders"]["buyer_email"].tolist()
    assert o["note_email"].tolist() == expected["orders"]["note_email"].tolist()
