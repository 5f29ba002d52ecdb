"""Rare-value protection (issue 19): no category of fewer than k rows and no single record's extreme
comes back from any backend, the threshold is configurable, and the fit notes say what was changed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.errors import DataError, PrivacyError
from pyspark_synth.metadata import Column, Table
from pyspark_synth.models.base import load_model_bytes
from pyspark_synth.privacy.config import PrivacyConfig
from pyspark_synth.training import TrainingJob, train_table
from pyspark_synth.transformers.rare import protect_rare_values

RARE = "Tiny Village"
N = 400
TABLE = Table(name="people", primary_key=("id",), columns=(
    Column(name="id", type="id"), Column(name="city", type="categorical"),
    Column(name="salary", type="numerical"), Column(name="age", type="numerical"),
    Column(name="joined", type="datetime")))
ARGS = {"copula": {}, "ctgan": {"epochs": 1, "batch_size": 100}, "autoregressive": {"epochs": 1}}


def people() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "id": np.arange(N), "city": rng.choice(["Paris", "Lyon", "Nice"], N),
        "salary": rng.normal(50_000, 5_000, N).round(2), "age": rng.integers(20, 60, N),
        "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, N), unit="D")})
    df.loc[7, "city"] = RARE  # one person's village
    df.loc[11, "salary"] = 9_999_999.0  # one person's salary, the maximum
    df.loc[12, "salary"] = 1.5  # and another's, the minimum
    df.loc[13, "age"] = 99
    df.loc[14, "joined"] = pd.Timestamp("1990-05-05")
    return df



@pytest.fixture(scope="module", params=sorted(ARGS))
def fitted(request):
    backend = request.param
    job = TrainingJob(table=TABLE, backend=backend, arguments=ARGS[backend], seed=3, rare_threshold=5)
    trained = train_table(job, people())
    return backend, trained, load_model_bytes(trained.model_bytes).sample(100_000, seed=11)


def test_rare_category_and_extremes_never_in_100k_rows(fitted):
    backend, _, rows = fitted
    assert len(rows) == 100_000
    assert not (rows["city"] == RARE).any(), backend
    assert not (rows["salary"] >= 9_999_999.0).any() and not (rows["salary"] <= 1.5).any(), backend
    assert not (rows["age"] == 99).any(), backend
    assert not (pd.to_datetime(rows["joined"]) <= pd.Timestamp("1990-05-05")).any(), backend
    real = people()
    # the generated range stays within the k-th smallest and k-th largest real values
    assert rows["salary"].max() <= np.sort(real["salary"])[-5] + 1e-6
    assert rows["salary"].min() >= np.sort(real["salary"])[4] - 1e-6


def test_fit_notes_say_what_was_changed_without_values(fitted):
    backend, trained, _ = fitted
    notes = [n for n in trained.notes if "rare-value protection (k=5)" in n]
    assert any("'city'" in n and "1 value(s) of fewer than k rows (1 row(s))" in n for n in notes), (backend, notes)
    assert any("'salary'" in n and "clipped" in n for n in notes), (backend, notes)
    assert not any(RARE in n or "9999999" in n for n in trained.notes)


def test_copula_replays_the_rare_value_when_protection_is_off():
    """The check above can fail: without protection the copula replays the village and nears the salary."""
    job = TrainingJob(table=TABLE, backend="copula", seed=3, rare_threshold=1)
    rows = load_model_bytes(train_table(job, people()).model_bytes).sample(100_000, seed=11)
    assert (rows["city"] == RARE).any() and rows["salary"].max() > 1_000_000  # near the one large salary


def test_threshold_is_configurable():
    df = people()
    df.loc[20:22, "city"] = "Small Town"  # 3 rows
    kept, found = protect_rare_values(df, TABLE, threshold=3)
    assert (kept["city"] == "Small Town").sum() == 3 and (kept["city"] != RARE).all()
    kept, found = protect_rare_values(df, TABLE, threshold=4)
    assert not (kept["city"] == "Small Town").any()
    assert {r.column: r.rare_rows for r in found}["city"] == 4
    same, none = protect_rare_values(df, TABLE, threshold=0)
    assert none == [] and same is df
    assert PrivacyConfig(rare_threshold=0).rare_k == 1 and PrivacyConfig().rare_k == 5
    assert PrivacyConfig(rare_threshold=None).rare_k == 1
    with pytest.raises(PrivacyError, match="rare_threshold must be a whole number"):
        PrivacyConfig(rare_threshold=2.5)
    with pytest.raises(DataError, match="rare-value threshold"):
        protect_rare_values(df, TABLE, threshold=-1)


def test_keys_dtypes_and_categorical_categories():
    df = people()
    df["code"] = pd.Categorical(np.where(np.arange(N) == 5, "zz", "a"))
    df.loc[3, "code"] = "a"
    kept, found = protect_rare_values(df, TABLE, threshold=5)
    assert (kept["id"] == df["id"]).all()  # keys are not touched
    assert list(kept.dtypes.drop("code")) == list(df.dtypes.drop("code"))
    assert "zz" not in list(kept["code"].cat.categories)
    assert kept["salary"].max() == np.sort(df["salary"])[-5] and (kept["salary"] == np.sort(df["salary"])[-5]).sum() >= 5


def test_user_backend_gets_protected_rows():
    """A backend without its own protection (no rare_threshold parameter) is trained on protected rows."""
    from pyspark_synth.models.copula import GaussianCopula

    seen = {}

    class Plain(GaussianCopula):
        def __init__(self, metadata=None, *, seed=None):
            super().__init__(metadata, seed=seed, rare_threshold=1)

        def fit(self, data, context=None, **kw):
            seen["data"] = data.copy()
            return super().fit(data, context, **kw)

    trained = train_table(TrainingJob(table=TABLE, backend="plain", seed=1, rare_threshold=5), people(),
                          backend_class=Plain)
    assert not (seen["data"]["city"] == RARE).any() and seen["data"]["salary"].max() < 9_999_999.0
    assert any("rare-value protection (k=5) on 'city'" in n for n in trained.notes)


@pytest.mark.parametrize("backend", sorted(ARGS))
def test_a_text_column_without_any_frequent_value_gets_format_text_not_nulls(backend):
    # 60 staff, each name its own (every value under k=5): the column must not come back null,
    # and no real name may come back; the generated names keep the real shape and null share
    rng = np.random.default_rng(4)
    first = ["Mary", "Patricia", "Linda", "Barbara", "Elizabeth", "Jennifer", "Maria", "Susan", "Margaret", "Dorothy"]
    names = [f"{first[i % 10]}{chr(65 + i // 10)}" for i in range(60)]
    df = pd.DataFrame({"id": np.arange(60), "name": names, "team": rng.choice(["a", "b"], 60),
                       "pay": rng.normal(10, 2, 60).round(2)})
    df.loc[:5, "name"] = None
    table = Table(name="staff", primary_key=("id",), columns=(
        Column(name="id", type="id"), Column(name="name", type="categorical"), Column(name="team", type="categorical"),
        Column(name="pay", type="numerical")))
    job = TrainingJob(table=table, backend=backend, arguments=ARGS[backend], seed=1, rare_threshold=5)
    out = load_model_bytes(train_table(job, df).model_bytes).sample(2_000, seed=2)
    present = out["name"].dropna()
    assert 0.7 < len(present) / len(out) <= 1.0, len(present)
    assert not set(present) & set(names)  # no real value
    assert present.str.fullmatch(r"[A-Za-z]+").all() and present.str.len().between(4, 11).all()
