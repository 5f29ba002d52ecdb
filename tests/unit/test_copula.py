"""The Gaussian copula backend: marginals, dtypes, nulls, dependence, context, conditions, persistence."""

from __future__ import annotations

import datetime as dt
import decimal
import random

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from pyspark_synth.errors import DataError, NotFittedError, SerializationError, SynthError
from pyspark_synth.metadata import Column, Constraint, Table
from pyspark_synth.models import base
from pyspark_synth.models._archive import unpack
from pyspark_synth.models.constraints import check
from pyspark_synth.models.copula import GaussianCopula

N = 5000


def _frame(n: int = N, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = 0.8 * a + 0.6 * rng.normal(size=n)
    bimodal = np.where(rng.random(n) < 0.4, rng.normal(-5, 1, n), rng.normal(5, 0.5, n))
    return pd.DataFrame({
        "i64": rng.integers(10, 100, n),
        "i32": rng.integers(-5, 5, n).astype(np.int32),
        "nullable_int": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 10, n)), dtype="Int64"),
        "a": a,
        "b": b,
        "with_nulls": np.where(a > 1.0, np.nan, b).round(2),  # nulls depend on `a`
        "f32": bimodal.astype(np.float32),
        "ts": pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")),
        "ts_tz": pd.Series(pd.date_range("2021-01-01", periods=n, freq="h", tz="Europe/Paris")),
        "ts_null": pd.Series(pd.to_datetime("2022-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s")).where(rng.random(n) > 0.2),
        "flag": rng.random(n) < 0.3,
        "flag_null": pd.array(np.where(rng.random(n) < 0.1, None, rng.random(n) < 0.5), dtype="boolean"),
        "color": rng.choice(["red", "green", "blue", "black"], n, p=[0.5, 0.3, 0.15, 0.05]),
        "color_null": np.where(rng.random(n) < 0.15, None, rng.choice(["x", "y"], n)).astype(object),
        "cat": pd.Categorical(rng.choice(["u", "v"], n), categories=["u", "v", "w"]),
        "string": pd.array(rng.choice(["p", "q"], n), dtype="string"),
        "const_int": np.full(n, 7),
        "const_str": "k",
        "all_null": np.full(n, np.nan),
        "date": [dt.date(2020, 1, 1) + dt.timedelta(days=int(k)) for k in rng.integers(0, 100, n)],
        "money": [decimal.Decimal(f"{v:.2f}") for v in rng.random(n) * 100],
    })


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def model(data) -> GaussianCopula:
    return GaussianCopula(seed=1).fit(data)


@pytest.fixture(scope="module")
def synth(model) -> pd.DataFrame:
    return model.sample(N, seed=3)


def test_registered_under_both_names():
    # the registry itself, not get_backend(): that also imports the other built-in backends (torch)
    assert base._BACKENDS["copula"] is GaussianCopula and base._BACKENDS["gaussian_copula"] is GaussianCopula


def test_init_only_stores_arguments():
    m = GaussianCopula(None, seed=3, n_quantiles=50)
    assert m.get_params() == {"seed": 3, "max_fit_rows": 100_000, "n_quantiles": 50, "latent_sweeps": 10,
                              "latent_rows": 5_000, "context_ridge": 0.05, "rare_threshold": 5}
    assert not m.is_fitted


def test_hyper_parameters_are_explicit():
    # a misspelt hyper-parameter is an error, not silently ignored
    with pytest.raises(TypeError, match="n_quantile"):
        GaussianCopula(None, n_quantile=50)
    from pyspark_synth.models.base import backend_arguments

    with pytest.raises(SynthError, match=r"Backend 'copula' has no parameter 'n_quantile'\. Did you mean 'n_quantiles'"):
        backend_arguments("copula", GaussianCopula, {"n_quantile": 50})
    # the fit functions give epochs and batch_size to every backend: the copula does not take them
    args, notes = backend_arguments("copula", GaussianCopula, {"epochs": 3, "batch_size": None, "latent_rows": 10})
    assert args == {"latent_rows": 10}
    assert notes == ["epochs=3 not used: the 'copula' backend does not train in epochs or batches"]
    with pytest.warns(DeprecationWarning, match="ignores epochs"):
        GaussianCopula(None, epochs=3)


def test_archives_with_the_old_keyword_hyper_parameters_still_load(model):
    from pyspark_synth.models._archive import pack, unpack

    header, arrays = unpack(model.to_bytes())
    cfg = header["config"]
    cfg["params"] = {"batch_size": 500, "epochs": 300, "seed": 5, "kwargs": {"n_quantiles": 77, "latent_rows": 9}}
    old = GaussianCopula.from_bytes(pack("copula", cfg, arrays))
    assert (old.seed, old.n_quantiles, old.latent_rows, old.max_fit_rows) == (5, 77, 9, 100_000)
    pd.testing.assert_frame_equal(old.sample(50, seed=1), model.sample(50, seed=1))


def test_columns_dtypes_and_null_rates_round_trip(data, synth):
    assert list(synth.columns) == list(data.columns) and len(synth) == N
    for col in data.columns:
        assert synth[col].dtype == data[col].dtype, col
        assert abs(synth[col].isna().mean() - data[col].isna().mean()) < 0.03, col
    assert synth["cat"].dtype.categories.tolist() == ["u", "v", "w"]
    assert (synth["const_int"] == 7).all() and (synth["const_str"] == "k").all()
    assert synth["all_null"].isna().all()
    assert all(type(v) is dt.date for v in synth["date"])
    assert all(isinstance(v, decimal.Decimal) and v.as_tuple().exponent == -2 for v in synth["money"])


def test_numerical_marginals(data, synth):
    for col in ("i64", "i32"):
        assert synth[col].min() >= data[col].min() and synth[col].max() <= data[col].max()
        assert synth[col].nunique() > 5
    assert (synth["with_nulls"].dropna() == synth["with_nulls"].dropna().round(2)).all()  # decimals kept
    assert ks_2samp(synth["f32"], data["f32"]).statistic < 0.05  # bimodal shape reproduced
    assert ks_2samp(synth["ts"].astype("int64"), data["ts"].astype("int64")).statistic < 0.05
    assert (synth["ts"].dt.normalize() == synth["ts"]).all()  # dates stay at midnight
    assert (synth["ts_tz"].dt.minute == 0).all()


def test_correlation_kept(data, synth):
    real = np.corrcoef(data["a"], data["b"])[0, 1]
    fake = np.corrcoef(synth["a"], synth["b"])[0, 1]
    assert abs(real - fake) < 0.1


def test_nulls_correlate_with_other_columns(synth):
    null = synth["with_nulls"].isna()
    assert null[synth["a"] > 1.2].mean() > 0.6 and null[synth["a"] < 0].mean() < 0.03


def test_categorical_frequencies(data, synth):
    for col in ("color", "color_null", "flag"):
        p = data[col].value_counts(normalize=True, dropna=False)
        q = synth[col].value_counts(normalize=True, dropna=False).reindex(p.index, fill_value=0)
        assert 0.5 * np.abs(p - q).sum() < 0.05, col


def test_deterministic_for_the_same_seed(model):
    pd.testing.assert_frame_equal(model.sample(300, seed=9), model.sample(300, seed=9))
    assert not model.sample(300, seed=9).equals(model.sample(300, seed=10))


def test_no_global_random_state_touched(data):
    np_state, py_state = np.random.get_state(), random.getstate()
    GaussianCopula(seed=2).fit(data.head(500)).sample(100, seed=1)
    after = np.random.get_state()
    assert np_state[0] == after[0] and np.array_equal(np_state[1], after[1]) and np_state[2:] == after[2:]
    assert random.getstate() == py_state


def test_bytes_round_trip_gives_identical_samples(model, tmp_path):
    raw = model.to_bytes()
    header, arrays = unpack(raw)
    assert header["kind"] == "copula" and all(a.dtype != object for a in arrays.values())
    again = GaussianCopula.from_bytes(raw)
    pd.testing.assert_frame_equal(again.sample(500, seed=4), model.sample(500, seed=4))
    path = model.save(tmp_path / "m.zip")
    pd.testing.assert_frame_equal(GaussianCopula.load(path).sample(50, seed=2), model.sample(50, seed=2))
    with pytest.raises(SerializationError, match="already exists"):
        model.save(path)


def test_not_fitted():
    with pytest.raises(NotFittedError, match=r"Call fit\(\) first"):
        GaussianCopula().sample(3)
    with pytest.raises(NotFittedError, match=r"Call fit\(\) first"):
        GaussianCopula().to_bytes()


def test_bad_input():
    with pytest.raises(DataError, match="non-empty"):
        GaussianCopula().fit(pd.DataFrame({"a": []}))
    with pytest.raises(DataError, match="context has 2 rows but data has 3"):
        GaussianCopula().fit(pd.DataFrame({"a": [1, 2, 3]}), pd.DataFrame({"c": [1, 2]}))


def test_conditions_exact_values(model):
    out = model.sample(400, seed=5, conditions={"color": "black", "flag": True, "i64": 42, "color_null": None})
    assert (out["color"] == "black").all() and out["flag"].all() and (out["i64"] == 42).all()
    assert out["color_null"].isna().all() and out["i64"].dtype == np.int64
    with pytest.raises(DataError, match="'purple' was never seen in training. Known values"):
        model.sample(5, conditions={"color": "purple"})
    with pytest.raises(DataError, match="unknown column 'nope'"):
        model.sample(5, conditions={"nope": 1})


def test_conditions_shift_the_other_columns():
    rng = np.random.default_rng(0)
    kind = rng.choice(["small", "large"], 4000)
    df = pd.DataFrame({"kind": kind, "size": np.where(kind == "large", 100.0, 10.0) + rng.normal(0, 1, 4000)})
    m = GaussianCopula(seed=0).fit(df)
    large = m.sample(500, seed=1, conditions={"kind": "large"})
    small = m.sample(500, seed=1, conditions={"kind": "small"})
    assert large["size"].mean() > 85 and small["size"].mean() < 25


def _parent_child(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    segment = rng.choice(["gold", "basic", "silver"], n, p=[0.3, 0.5, 0.2])
    income = rng.lognormal(3, 0.5, n)
    context = pd.DataFrame({"segment": segment, "income": income})
    amount = np.select([segment == "gold", segment == "silver"], [100.0, 60.0], 20.0) + rng.normal(0, 5, n)
    child = pd.DataFrame({"amount": amount.round(2), "late": rng.random(n) < np.where(segment == "gold", 0.1, 0.5)})
    return child, context


def test_context_conditioning_reproduces_parent_dependence():
    child, context = _parent_child()
    m = GaussianCopula(seed=0).fit(child, context)
    new = pd.DataFrame({"segment": ["gold"] * 1000 + ["basic"] * 1000 + ["silver"] * 1000,
                        "income": np.full(3000, 20.0)})
    out = m.sample(len(new), new, seed=1)
    assert len(out) == 3000 and list(out.columns) == ["amount", "late"]
    means = out.groupby(new["segment"].to_numpy())["amount"].mean()
    assert means["gold"] > 85 and means["basic"] < 35 and means["basic"] < means["silver"] < means["gold"]
    late = out.groupby(new["segment"].to_numpy())["late"].mean()
    assert late["gold"] < late["basic"] - 0.2
    # same context and seed -> same rows; unseen categories and nulls are neutral, not errors
    pd.testing.assert_frame_equal(m.sample(3000, new, seed=1), out)
    odd = pd.DataFrame({"segment": ["platinum", None, "gold"], "income": [np.nan, 10.0, 30.0]})
    assert len(m.sample(3, odd, seed=2)) == 3
    # without a context the model samples the table's own marginal
    assert abs(m.sample(4000, seed=3)["amount"].mean() - child["amount"].mean()) < 8


def test_context_errors():
    child, context = _parent_child(500)
    m = GaussianCopula(seed=0).fit(child, context)
    with pytest.raises(DataError, match="num_rows=5 but context has 3 rows"):
        m.sample(5, context.head(3))
    with pytest.raises(DataError, match=r"lacks column\(s\) \['income'\]"):
        m.sample(3, context[["segment"]].head(3))


def test_context_survives_bytes_round_trip():
    child, context = _parent_child(800)
    m = GaussianCopula(seed=0).fit(child, context)
    again = GaussianCopula.from_bytes(m.to_bytes())
    pd.testing.assert_frame_equal(again.sample(200, context.head(200), seed=7), m.sample(200, context.head(200), seed=7))


def test_id_text_and_key_columns_are_emitted_as_nulls():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"id": np.arange(300), "parent_id": rng.integers(0, 10, 300), "note": ["t"] * 300,
                       "x": rng.normal(size=300), "ok": rng.random(300) < 0.5})
    table = Table(name="orders", primary_key=("id",),
                  columns=(Column(name="id", type="numerical"), Column(name="parent_id", type="id"),
                           Column(name="note", type="text"), Column(name="x", type="numerical"),
                           Column(name="ok", type="boolean")))
    out = GaussianCopula(table, seed=0).fit(df).sample(20, seed=1)
    assert str(out["id"].dtype) == "Int64" and out["id"].isna().all()
    assert str(out["parent_id"].dtype) == "Int64" and out["note"].isna().all()
    assert out["x"].notna().all() and out["ok"].dtype == bool


def test_constraints_enforced():
    rng = np.random.default_rng(0)
    start = rng.integers(0, 100, 2000)
    df = pd.DataFrame({"start": start, "end": start + rng.integers(0, 20, 2000),  # some end == start
                       "price": rng.gamma(2, 10, 2000), "tier": rng.choice(["a", "b", "c"], 2000)})
    table = Table(name="t", constraints={"end": Constraint(greater_than="start"),
                                         "price": Constraint(min=5, max=40),
                                         "tier": Constraint(allowed_values=["a", "b"])})
    m = GaussianCopula(table, seed=0).fit(df)
    out = m.sample(3000, seed=1)
    assert set(check(out, table).values()) == {0}
    assert out["end"].dtype == np.int64
    raw = m.sample(3000, seed=1, enforce_constraints=False)
    assert check(raw, table)["tier.allowed_values"] > 0


def test_fit_uses_a_bounded_sample(data):
    m = GaussianCopula(seed=0, max_fit_rows=1000, n_quantiles=100).fit(data)
    assert m.n_fit_rows_ == 1000 and all(len(a) <= 100 for a in m.var_arrays_)
    assert m.sample(10, seed=0).shape == (10, data.shape[1])


def test_zero_rows(model, data):
    out = model.sample(0, seed=1)
    assert len(out) == 0 and list(out.columns) == list(data.columns)


def test_context_unlike_any_training_parent_is_not_extrapolated():
    # Three parents only (as weather has three airports): their attributes are perfectly collinear
    # in training, so a generated parent mixing them lies in a direction the data never spanned.
    rng = np.random.default_rng(3)
    n = 6000
    parents = pd.DataFrame({"lat": [40.69, 40.64, 40.78], "lon": [-74.17, -73.78, -73.87], "alt": [18.0, 13.0, 22.0]})
    which = rng.integers(3, size=n)
    data = pd.DataFrame({"month": rng.integers(1, 13, n), "temp": rng.normal(55, 18, n) + which})
    context = parents.iloc[which].reset_index(drop=True)
    novel = pd.DataFrame({"lat": rng.uniform(25, 48, n), "lon": rng.uniform(-120, -70, n), "alt": rng.uniform(0, 3000, n)})
    for ridge, ok in ((0.05, True), (0.0, False)):
        m = GaussianCopula(seed=0, context_ridge=ridge).fit(data, context=context)
        seen = m.sample(n, context=context, seed=1)
        out = m.sample(n, context=novel, seed=1)
        assert abs(seen["month"].mean() - data["month"].mean()) < 0.2
        close = abs(out["month"].mean() - data["month"].mean()) < 0.5 and abs(out["temp"].mean() - data["temp"].mean()) < 4
        assert close == ok, (ridge, out.describe())


def test_categories_unordered_by_frequency_keep_their_relation_to_a_number():
    """A category's code says nothing about its length, and its frequency neither: ordered by
    frequency on the uniform, the relation is not monotone and a Gaussian copula loses it (each
    genre's mean length came back near the overall mean). Ordered by the number they explain
    best, each category keeps its own mean."""
    rng = np.random.default_rng(4)
    shares = np.array([0.22, 0.18, 0.15, 0.12, 0.1, 0.09, 0.08, 0.06])
    length = np.array([3, 7, 1, 6, 0, 5, 2, 4]) * 10.0  # no order of frequency
    genre = rng.choice(8, 4000, p=shares)
    real = pd.DataFrame({"genre": pd.Series([f"g{i}" for i in genre], dtype=object),
                         "seconds": length[genre] + rng.normal(0, 2, 4000)})
    synth = GaussianCopula(seed=0).fit(real).sample(4000, seed=1)
    means = synth.groupby("genre")["seconds"].mean().reindex([f"g{i}" for i in range(8)])
    assert np.corrcoef(means.to_numpy(), length)[0, 1] > 0.95
    assert (means.to_numpy() - length).__abs__().max() < 6
    freq = synth["genre"].value_counts(normalize=True).reindex([f"g{i}" for i in range(8)]).to_numpy()
    assert np.abs(freq - shares).max() < 0.03  # the categories keep their shares
