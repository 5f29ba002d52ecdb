"""The seed API end to end: fake ground truth with PII → sanitize → fit → sample → validate, via Synthesizer only."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import Metadata, PIIRule, PrivacyConfig, Synthesizer
from pyspark_synth.errors import DataError, NotFittedError, PrivacyError, SynthError
from pyspark_synth.models import SynthModel, register_backend
from pyspark_synth.models._archive import pack, unpack

KEY = "0123456789abcdef0123456789abcdef"
PII = ("name", "email", "phone")


@pytest.fixture(scope="module")
def ground_truth(tmp_path_factory):
    """users → orders → order_items with Faker names, emails and phones; CSV and Parquet files."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(11)
    rng = np.random.default_rng(11)
    n = 60
    users = pd.DataFrame({
        "user_id": np.arange(1, n + 1),
        "name": [fake.name() for _ in range(n)],
        "email": [fake.email() for _ in range(n)],
        "phone": [fake.phone_number() for _ in range(n)],
        "country": rng.choice(["US", "DE", "JP"], n),
        "age": rng.integers(18, 80, n),
    })
    k = rng.integers(1, 4, n)
    orders = pd.DataFrame({"order_id": np.arange(1, k.sum() + 1), "user_id": np.repeat(users["user_id"], k).to_numpy(),
                           "amount": rng.gamma(2.0, 30.0, k.sum()).round(2),
                           "channel": rng.choice(["web", "app"], k.sum())})
    m = rng.integers(1, 3, len(orders))
    items = pd.DataFrame({"item_id": np.arange(1, m.sum() + 1), "order_id": np.repeat(orders["order_id"], m).to_numpy(),
                          "qty": rng.integers(1, 5, m.sum())})
    d = tmp_path_factory.mktemp("truth")
    users.to_csv(d / "users.csv", index=False)
    orders.to_parquet(d / "orders.parquet", index=False)
    items.to_csv(d / "order_items.csv", index=False)
    uris = {"users": f"file://{d / 'users.csv'}", "orders": str(d / "orders.parquet"),
            "order_items": f"file://{d / 'order_items.csv'}"}
    return {"users": users, "orders": orders, "order_items": items, "uris": uris}


def _metadata() -> Metadata:
    md = Metadata()
    md.add_table("users", "user_id")
    md.add_table("orders", "order_id", fk={"user_id": "users.user_id"}, parent_context_cols=["country"])
    md.add_table("order_items", "item_id", fk={"order_id": "orders.order_id"})
    return md


def _privacy() -> PrivacyConfig:
    return PrivacyConfig(rules={"users": {"name": PIIRule(action="fake", kind="person_name", locale_column="country"),
                                          "email": "hash", "phone": "mask"}}, key=KEY)


def _read(spark, path: str):
    from pyspark_synth.spark.fit_database import read_tables

    return read_tables(spark, {"t": path})["t"]


def _check_output(spark, paths: dict[str, str], truth, n_users: int) -> dict:
    """Absolute paths, row counts, referential integrity (left-anti joins) and no original PII value."""
    assert set(paths) == {"users", "orders", "order_items"}
    assert all(os.path.isabs(p) and os.path.isdir(p) for p in paths.values())
    t = {name: _read(spark, p) for name, p in paths.items()}
    assert t["orders"].join(t["users"], "user_id", "left_anti").where("user_id IS NOT NULL").count() == 0
    assert t["order_items"].join(t["orders"], "order_id", "left_anti").where("order_id IS NOT NULL").count() == 0
    pdfs = {name: df.toPandas() for name, df in t.items()}
    assert len(pdfs["users"]) == n_users and len(pdfs["orders"]) > 0 and len(pdfs["order_items"]) > 0
    users = pdfs["users"]
    assert list(users.columns) == list(truth["users"].columns)  # the faked column is back in its place
    for col in PII:  # no original PII value anywhere in the output
        assert not set(users[col].dropna().astype(str)) & set(truth["users"][col].astype(str)), col
    return pdfs


@pytest.mark.slow
def test_seed_scenario_with_privacy_copula_delta_and_validation(spark, ground_truth, tmp_path):
    syn = Synthesizer(_metadata(), _privacy(), spark_session=spark, backend="copula",
                      report_dir=tmp_path / "reports")
    with pytest.raises(NotFittedError, match=r"Call fit\(\) first"):
        syn.sample({"users": 5})
    # a subset big enough that every country is held by k=5 rows or more (rare-value protection)
    syn.fit(ground_truth["uris"], sample_size=300, validate={"pairs": False, "privacy": False}, epochs=1, seed=3)
    # the config changed what the model saw: faked names never reached it, emails were hashed
    assert "name" not in syn.metadata_.table("users").column_names
    seen = syn.real_["users"].select("email", "phone").toPandas()
    assert not set(seen["email"]) & set(ground_truth["users"]["email"])
    assert seen["phone"].str.startswith("*").all()

    paths = syn.sample({"users": 25}, output_format="delta", output_path=f"file://{tmp_path / 'delta'}", seed=5)
    assert all(os.path.isdir(os.path.join(p, "_delta_log")) for p in paths.values())
    out = _check_output(spark, paths, ground_truth, 25)
    assert 0.5 < syn.validation_.score <= 1.0  # a copula of these tables scores well above chance
    assert Path(syn.report_path_).read_text().lstrip().startswith("<")
    assert Path(syn.report_path_).parent == (tmp_path / "reports").resolve()
    users = out["users"]
    jp = users.loc[users["country"] == "JP", "name"]
    assert len(jp) and jp.map(lambda s: any("\u3040" <= ch <= "\u9fff" for ch in s)).all()  # locale-aware fakes


def test_errors_before_any_training(spark, ground_truth, monkeypatch):
    from pyspark_synth.privacy.keys import ENV_VAR

    monkeypatch.delenv(ENV_VAR, raising=False)
    uris = ground_truth["uris"]
    with pytest.raises(SynthError, match=r"Unknown model backend 'nope'.*register_backend"):
        Synthesizer(_metadata(), spark_session=spark, backend="nope").fit(uris)
    with pytest.raises(DataError, match=r"no data for \['order_items'\]"):
        Synthesizer(_metadata(), spark_session=spark, backend="copula").fit({k: uris[k] for k in ("users", "orders")})
    with pytest.raises(DataError, match=r"unknown sampling_strategy 'random'"):
        Synthesizer(_metadata(), spark_session=spark).fit(uris, sampling_strategy="random")
    no_key = PrivacyConfig(rules={"users": {"email": "hash"}}, key_env="SYNTH_TEST_NO_SUCH_KEY")
    with pytest.raises(PrivacyError, match=r"users\.email.*\$SYNTH_TEST_NO_SUCH_KEY"):
        Synthesizer(_metadata(), no_key, spark_session=spark, backend="copula").fit(uris)


@pytest.mark.slow
def test_fake_rules_without_a_kind_sample_with_the_kind_of_their_column_names(spark, ground_truth, tmp_path):
    """Issue 22: this config passed config and fit, then sampling died on the executors (KeyError '')."""
    cfg = PrivacyConfig(rules={"users": {"name": "fake", "email": "fake"}}, key=KEY)
    assert {c: r.kind for c, r in cfg.rules["users"].items()} == {"name": "person_name", "email": "email"}
    syn = Synthesizer(_metadata(), cfg, spark_session=spark, backend="copula")
    syn.fit(ground_truth["uris"], sample_size=40, epochs=1, seed=3)
    paths = syn.sample({"users": 10}, output_format="parquet", output_path=f"file://{tmp_path / 'pq'}", seed=5)
    users = _read(spark, paths["users"]).toPandas()
    assert len(users) == 10 and users["email"].str.contains("@").all() and users["name"].str.len().gt(2).all()
    for col in ("name", "email"):
        assert not set(users[col]) & set(ground_truth["users"][col].astype(str)), col


def _marginals_backend() -> type:
    """A user's model defined in a function (so Spark ships it by value): independent marginals."""

    class Marginals(SynthModel):
        name = "marginals"

        def __init__(self, metadata=None, batch_size=500, epochs=300, **kwargs):
            self.metadata = metadata
            self.batch_size = batch_size
            self.epochs = epochs
            self.kwargs = kwargs

        def fit(self, data, context=None, **kw):
            self.columns_ = list(data.columns)
            self.values_ = {c: data[c].dropna().to_numpy() for c in data.columns}
            self.fitted_ = True
            return self

        def sample(self, num_rows, context=None, *, seed=None, conditions=None, **kw):
            rng = np.random.default_rng(seed)
            return pd.DataFrame({c: (rng.choice(v, num_rows) if len(v) else [None] * num_rows)
                                 for c, v in self.values_.items()})[self.columns_]

        def to_bytes(self):
            arrays = {f"v{i}": v.astype(str) if v.dtype == object else v
                      for i, v in enumerate(self.values_[c] for c in self.columns_)}
            return pack("marginals", {"columns": self.columns_}, arrays)

        @classmethod
        def from_bytes(cls, data):
            header, arrays = unpack(data, expected_kind="marginals")
            m = cls()
            m.columns_ = header["config"]["columns"]
            m.values_ = {c: arrays[f"v{i}"] for i, c in enumerate(m.columns_)}
            m.fitted_ = True
            return m

    return Marginals


@pytest.mark.slow
def test_user_backend_is_used_for_every_table_and_on_executors(spark, ground_truth, tmp_path):
    cls = _marginals_backend()
    register_backend("marginals", cls)
    syn = Synthesizer(_metadata(), _privacy(), spark_session=spark, backend="MARGINALS")
    syn.fit(ground_truth["uris"], sampling_strategy="none", seed=1)
    assert {e.backend for e in syn.fit_report_.entries.values()} == {"marginals"}
    paths = syn.sample({"users": 15}, output_format="parquet", output_path=tmp_path / "out", seed=2)
    assert not any(os.path.isdir(os.path.join(p, "_delta_log")) for p in paths.values())
    out = _check_output(spark, paths, ground_truth, 15)
    channels = set(out["orders"]["channel"])
    assert channels <= {"web", "app"} and channels  # values resampled from the (scrubbed) training data


@pytest.mark.slow
def test_ctgan_one_epoch(spark, ground_truth, tmp_path):
    syn = Synthesizer(_metadata(), _privacy(), spark_session=spark, backend="CTGAN", embedding_threshold=5)
    syn.fit(ground_truth["uris"], epochs=1, batch_size=20, seed=4, generator_dim=(16,), critic_dim=(16,), pac=2)
    assert {e.backend for e in syn.fit_report_.entries.values()} == {"ctgan"}
    paths = syn.sample({"users": 12}, output_format="delta", output_path=tmp_path / "ctgan", seed=4)
    _check_output(spark, paths, ground_truth, 12)
