"""Autoregressive backend (flat): shapes, every column type, nulls, determinism, persistence,
conditions, context, rare-value protection, temperature, constraints and the fit report."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from pyspark_synth.errors import DataError, ModelVersionError, NotFittedError, SerializationError
from pyspark_synth.metadata import Column, Constraint, Table
from pyspark_synth.models import autoregressive as ar_module
from pyspark_synth.models._ar_nets import hash_uniforms, pick_tokens, visibility
from pyspark_synth.models.autoregressive import AutoregressiveModel
from pyspark_synth.models.base import get_backend, list_backends, load_model_bytes

TINY = {"hidden_size": 16, "context_size": 8, "max_bins": 8, "fine_bins": 4}


def _frame(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "key": np.arange(n, dtype="int64"),
        "amount": np.round(rng.gamma(2.0, 20.0, n), 2),
        "qty": rng.integers(1, 9, n).astype("int32"),
        "score": rng.normal(size=n),
        "color": rng.choice(["red", "green", "blue"], n),
        "size": pd.Categorical(rng.choice(["S", "M", "L"], n), categories=["S", "M", "L", "XL"]),
        "flag": rng.random(n) < 0.3,
        "maybe": pd.array(np.where(rng.random(n) < 0.2, None, rng.random(n) < 0.5), dtype="boolean"),
        "count": pd.array(np.where(rng.random(n) < 0.3, None, rng.integers(0, 50, n)), dtype="Int64"),
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 5000, n), unit="h"),
        "when_tz": pd.Timestamp("2024-01-01", tz="Europe/Paris") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
        "day": pd.Series((pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"))
                         .strftime("%Y-%m-%d"), dtype=object),
        "const": "same",
        "note": ["text"] * n,
    })
    df.loc[rng.random(n) < 0.25, "score"] = np.nan
    df.loc[rng.random(n) < 0.2, "color"] = None
    df.loc[rng.random(n) < 0.1, "when"] = pd.NaT
    return df


META = Table(
    name="t",
    columns=(Column(name="key", type="id"), Column(name="note", type="text"), Column(name="amount", type="numerical"),
             Column(name="day", type="datetime")),
    primary_key=("key",),
    constraints={"amount": Constraint(min=1.0, max=150.0)},
)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def model(data) -> AutoregressiveModel:
    return AutoregressiveModel(META, epochs=3, seed=11, **TINY).fit(data)


def test_registered_backends():
    from pyspark_synth.models.autoregressive_sequence import SequentialAutoregressiveModel

    assert get_backend("autoregressive") is AutoregressiveModel
    assert get_backend("Autoregressive_Sequential") is SequentialAutoregressiveModel
    assert {"autoregressive", "autoregressive_sequential", "ctgan", "copula"} <= set(list_backends())


def test_init_only_stores_arguments_and_rejects_misspelt_ones():
    m = AutoregressiveModel(None, epochs=7, batch_size=55, rare_threshold=3)
    assert m.epochs == 7 and m.batch_size == 55 and m.rare_threshold == 3 and not m.is_fitted
    assert not hasattr(m, "encoding_")
    with pytest.raises(TypeError, match="epoch"):
        AutoregressiveModel(None, epoch=3)  # type: ignore[call-arg]


def test_not_fitted_message():
    with pytest.raises(NotFittedError, match=r"Call fit\(\) first"):
        AutoregressiveModel().sample(5)
    with pytest.raises(NotFittedError, match=r"Call fit\(\) first"):
        AutoregressiveModel().to_bytes()


def test_shapes(model, data):
    enc = model.encoding_
    assert "key" not in enc.learned_columns and "note" not in enc.learned_columns and "const" not in enc.learned_columns
    tokens = enc.encode(data)
    assert tokens.shape == (len(data), len(enc.sizes))
    assert (tokens >= 0).all() and (tokens < np.array(enc.sizes)).all()
    net = model.net_
    emb = net.embeddings(torch.from_numpy(tokens[:20]))
    assert emb.shape == (20, sum(enc.dims))
    vis = visibility(enc.owner, enc.dims, np.arange(len(enc.learned)), "cpu")
    hid = net.regressors.hidden_all(emb, None, vis)
    assert hid.shape == (len(enc.sizes), 20, model.hidden_size)
    for s, v in enumerate(enc.sizes):
        assert net.regressors.logits(s, hid[s]).shape == (20, v)
    # the first column sees nothing, a numeric column's fine token sees its own first token
    assert vis[0].sum() == 0
    amount = enc.subs[enc.learned_columns.index("amount")]
    assert len(amount) == 2 and vis[amount[1]].sum() > vis[amount[0]].sum()


def test_mask_hides_later_columns(model, data):
    """A token's logits do not change when a later column's token changes (the order is respected)."""
    enc, net = model.encoding_, model.net_
    tokens = torch.from_numpy(enc.encode(data.head(30)))
    vis = visibility(enc.owner, enc.dims, np.arange(len(enc.learned)), "cpu")
    other = tokens.clone()
    last = len(enc.sizes) - 1
    other[:, last] = (other[:, last] + 1) % enc.sizes[last]
    with torch.no_grad():
        a = net.regressors.hidden_all(net.embeddings(tokens), None, vis)
        b = net.regressors.hidden_all(net.embeddings(other), None, vis)
    assert torch.equal(a[:last], b[:last])


def test_every_column_type_round_trips(model, data):
    out = model.sample(400, seed=1)
    assert list(out.columns) == list(data.columns)
    for col in data.columns:
        if col == "key":
            assert str(out[col].dtype) == "Int64" and out[col].isna().all()
        elif col == "note":
            assert out[col].isna().all()
        else:
            assert out[col].dtype == data[col].dtype, col
    assert out["qty"].between(data["qty"].min(), data["qty"].max()).all()
    assert out["amount"].between(1.0, 150.0).all()  # constraint enforced
    assert (out["amount"] * 100).round().eq(out["amount"] * 100).all() or np.allclose(out["amount"], out["amount"].round(2))
    assert (out["const"] == "same").all()
    assert set(out["color"].dropna()) <= {"red", "green", "blue"}
    assert list(out["size"].cat.categories) == ["S", "M", "L", "XL"] and set(out["size"]) <= {"S", "M", "L"}
    assert out["flag"].dtype == bool and out["maybe"].dtype == "boolean"
    assert str(out["count"].dtype) == "Int64" and set(out["count"].dropna()) <= set(data["count"].dropna())
    assert str(out["when_tz"].dtype) == "datetime64[ns, Europe/Paris]"
    assert out["when"].dropna().between(data["when"].min(), data["when"].max()).all()
    assert (out["when"].dropna().dt.minute == 0).all()  # hourly data stays hourly
    parsed = pd.to_datetime(out["day"], format="%Y-%m-%d")
    assert parsed.between(pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-31")).all()


def test_nulls_keep_their_rate(model, data):
    out = model.sample(4000, seed=2)
    for col in ("score", "color", "maybe", "count", "when"):
        assert abs(out[col].isna().mean() - data[col].isna().mean()) < 0.06, col
    assert out["flag"].notna().all() and out["amount"].notna().all()


def test_same_seed_same_rows_different_seed_different(model):
    a = model.sample(300, seed=5)
    pd.testing.assert_frame_equal(a, model.sample(300, seed=5))
    assert not a.equals(model.sample(300, seed=6))


def test_chunking_does_not_change_rows(model, monkeypatch):
    full = model.sample(300, seed=9)
    monkeypatch.setattr(ar_module, "_CHUNK", 7)
    pd.testing.assert_frame_equal(full, model.sample(300, seed=9))
    # a shorter request gives the first rows of a longer one
    pd.testing.assert_frame_equal(full.head(100), model.sample(100, seed=9))


def test_save_load_identical(model, tmp_path):
    path = model.save(tmp_path / "m.synth")
    loaded = AutoregressiveModel.load(path)
    pd.testing.assert_frame_equal(model.sample(150, seed=3), loaded.sample(150, seed=3))
    again = load_model_bytes(model.to_bytes())
    assert isinstance(again, AutoregressiveModel)
    pd.testing.assert_frame_equal(model.sample(150, seed=3), again.sample(150, seed=3))
    assert loaded.fit_report_ == model.fit_report_
    with pytest.raises(SerializationError, match="already exists"):
        model.save(path)


def test_archive_has_no_pickle_and_checks_its_kind(model):
    raw = model.to_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        assert sorted(zf.namelist()) == ["arrays.npz", "config.json"]
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.namelist():
            content = src.read(item)
            if item == "config.json":
                header = json.loads(content)
                header["format_version"] = 999
                content = json.dumps(header).encode()
            dst.writestr(item, content)
    with pytest.raises(ModelVersionError, match="Upgrade pyspark_synth"):
        AutoregressiveModel.from_bytes(buf.getvalue())
    from pyspark_synth.models._archive import pack

    with pytest.raises(SerializationError, match="not a 'autoregressive' model"):
        AutoregressiveModel.from_bytes(pack("ctgan", {}, {}))
    with pytest.raises(SerializationError, match="corrupt or truncated"):
        AutoregressiveModel.from_bytes(raw[:100])


def test_fit_seed_reproducible(data):
    small = data[["amount", "color", "when"]]
    a = AutoregressiveModel(epochs=2, seed=4, **TINY).fit(small).sample(80, seed=0)
    b = AutoregressiveModel(epochs=2, seed=4, **TINY).fit(small).sample(80, seed=0)
    pd.testing.assert_frame_equal(a, b)
    c = AutoregressiveModel(epochs=2, seed=5, **TINY).fit(small).sample(80, seed=0)
    assert not a.equals(c)


def test_no_global_random_state_touched(data):
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()
    threads = torch.get_num_threads()
    m = AutoregressiveModel(None, epochs=1, seed=3, num_threads=1, **TINY).fit(data.drop(columns=["key", "note"]))
    m.sample(50, seed=1)
    AutoregressiveModel.from_bytes(m.to_bytes()).sample(50, seed=1)
    assert torch.equal(torch_state, torch.random.get_rng_state())
    after = np.random.get_state()
    assert np_state[0] == after[0] and np.array_equal(np_state[1], after[1]) and np_state[2:] == after[2:]
    assert torch.get_num_threads() == threads


def test_fitted_weights_are_the_moving_average(data):
    small = data[["amount", "color"]]
    plain = AutoregressiveModel(epochs=3, seed=2, ema_decay=None, **TINY).fit(small)
    averaged = AutoregressiveModel(epochs=3, seed=2, ema_decay=0.9, **TINY).fit(small)
    # the same training trajectory (the average never feeds back), other weights to sample from
    assert [h["train_loss"] for h in plain.history_] == [h["train_loss"] for h in averaged.history_]
    assert [h["validation_loss"] for h in plain.history_] != [h["validation_loss"] for h in averaged.history_]
    assert not torch.equal(plain.net_.regressors.w_in, averaged.net_.regressors.w_in)
    again = AutoregressiveModel.from_bytes(averaged.to_bytes())
    assert torch.equal(again.net_.regressors.w_in, averaged.net_.regressors.w_in)


# ----------------------------------------------------------------------------- learning
def _dependent(n: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    value = np.where(group == "a", rng.normal(0, 1, n), np.where(group == "b", rng.normal(10, 1, n),
                                                                   rng.normal(-10, 1, n)))
    level = np.where(value > 5, "high", np.where(value < -5, "low", "mid"))
    return pd.DataFrame({"group": group, "value": np.round(value, 3), "level": level})


@pytest.fixture(scope="module")
def dependent_model() -> AutoregressiveModel:
    return AutoregressiveModel(epochs=25, seed=0, hidden_size=32, batch_size=128, condition_share=0.5,
                               learning_rate=1e-2).fit(_dependent())


def test_learns_the_joint_law(dependent_model):
    out = dependent_model.sample(3000, seed=1)
    real = _dependent()
    for g in "abc":
        assert abs((out["group"] == g).mean() - (real["group"] == g).mean()) < 0.05
    means = out.groupby("group")["value"].mean()
    assert abs(means["a"]) < 1.5 and abs(means["b"] - 10) < 1.5 and abs(means["c"] + 10) < 1.5
    consistent = ((out["value"] > 5) == (out["level"] == "high")).mean()
    assert consistent > 0.9


def test_conditions_honoured(dependent_model):
    out = dependent_model.sample(500, seed=2, conditions={"group": "b"})
    assert (out["group"] == "b").all() and abs(out["value"].mean() - 10) < 1.5
    # conditioning on a later column steers the earlier ones (any subset can condition)
    low = dependent_model.sample(500, seed=2, conditions={"level": "low"})
    assert (low["level"] == "low").all() and (low["group"] == "c").mean() > 0.8 and low["value"].mean() < -5
    both = dependent_model.sample(50, seed=2, conditions={"level": "high", "value": 9.5})
    assert (both["value"] == 9.5).all() and (both["group"] == "b").mean() > 0.8
    with pytest.raises(DataError, match="never seen"):
        dependent_model.sample(10, seed=2, conditions={"group": "purple"})
    with pytest.raises(DataError, match="unknown column"):
        dependent_model.sample(10, seed=2, conditions={"nope": 1})


def test_temperature_sharpens(dependent_model):
    cold = dependent_model.sample(3000, seed=3, temperature=0.3)
    warm = dependent_model.sample(3000, seed=3)
    assert (cold["group"] == "a").mean() > (warm["group"] == "a").mean() + 0.1
    with pytest.raises(DataError, match="temperature"):
        dependent_model.sample(10, seed=1, temperature=0)


@pytest.mark.parametrize("order", ["random", ["level", "value"]])
def test_other_column_orders(order):
    m = AutoregressiveModel(epochs=20, seed=0, hidden_size=32, batch_size=128, learning_rate=1e-2,
                            column_order=order).fit(_dependent())
    out = m.sample(2000, seed=1)
    assert ((out["value"] > 5) == (out["level"] == "high")).mean() > 0.85
    if isinstance(order, list):
        assert m.fit_report_["column_order"] == ["level", "value", "group"]
    low = m.sample(300, seed=2, conditions={"level": "low"})
    assert (low["group"] == "c").mean() > 0.7


def test_context_changes_the_output():
    rng = np.random.default_rng(0)
    n = 800
    parent = pd.DataFrame({"p": rng.choice(["red", "green", "blue"], n), "q": rng.normal(size=n)})
    child = pd.DataFrame({"c": parent["p"].str[0].str.upper(), "v": parent["q"] * 3 + rng.normal(0, 0.3, n)})
    m = AutoregressiveModel(epochs=25, seed=0, hidden_size=32, batch_size=64, learning_rate=1e-2).fit(
        child, context=parent)
    ctx = parent.sample(400, random_state=1).reset_index(drop=True)
    out = m.sample(400, context=ctx, seed=5)
    assert (out["c"] == ctx["p"].str[0].str.upper()).mean() > 0.8  # chance is about 1/3
    assert np.corrcoef(out["v"], ctx["q"])[0, 1] > 0.8
    with pytest.raises(DataError, match="context"):
        m.sample(10, seed=1)
    with pytest.raises(DataError, match="must match"):
        m.sample(10, context=ctx, seed=1)
    loaded = AutoregressiveModel.from_bytes(m.to_bytes())
    pd.testing.assert_frame_equal(out, loaded.sample(400, context=ctx, seed=5))


# ----------------------------------------------------------------------------- privacy
def test_rare_categories_never_appear_in_100k_rows():
    rng = np.random.default_rng(0)
    n = 600
    city = rng.choice(["Paris", "Lyon", "Nice"], n).astype(object)
    city[:2] = "Smallville"  # 2 rows
    city[2:6] = "Tinytown"  # 4 rows: still below k = 5
    df = pd.DataFrame({"city": city, "x": rng.normal(size=n)})
    m = AutoregressiveModel(epochs=2, seed=0, **TINY).fit(df)
    out = m.sample(100_000, seed=1)
    assert not out["city"].isin(["Smallville", "Tinytown"]).any()
    assert set(out["city"]) == {"Paris", "Lyon", "Nice"}
    assert b"Smallville" not in m.to_bytes() and b"Tinytown" not in m.to_bytes()
    assert m.fit_report_["rare_values"]["city"] == {"values_pooled": 2, "rows": 6}
    # the protection is what keeps them out: with k = 1 they come back
    open_model = AutoregressiveModel(epochs=2, seed=0, rare_threshold=1, **TINY).fit(df)
    assert open_model.sample(100_000, seed=1)["city"].isin(["Smallville", "Tinytown"]).any()


def test_rare_context_values_are_not_stored():
    rng = np.random.default_rng(0)
    parent = pd.DataFrame({"region": rng.choice(["north", "south"], 300).astype(object), "size": rng.normal(size=300)})
    parent.loc[:1, "region"] = "Hamlet-on-Sea"
    parent.loc[2, "size"] = 1234.5678
    child = pd.DataFrame({"v": rng.normal(size=300)})
    m = AutoregressiveModel(epochs=1, seed=0, **TINY).fit(child, context=parent)
    from pyspark_synth.models._archive import unpack

    header, arrays = unpack(m.to_bytes())
    assert "Hamlet-on-Sea" not in json.dumps(header) and "1234.5678" not in json.dumps(header)
    assert not any(np.isin(1234.5678, a).any() for a in arrays.values() if a.dtype.kind == "f")
    assert len(m.sample(3, context=parent.head(3), seed=0)) == 3  # a rare or unseen context value still works


def test_outlier_maximum_is_not_reproduced():
    rng = np.random.default_rng(0)
    n = 800
    salary = rng.integers(20_000, 90_000, n)
    salary[:3] = [950_000, 610_000, 400_000]  # three people far out in the tail
    df = pd.DataFrame({"salary": salary, "dept": rng.choice(["a", "b"], n)})
    m = AutoregressiveModel(epochs=2, seed=0, **TINY).fit(df)
    out = m.sample(100_000, seed=1)
    assert out["salary"].max() < 400_000
    assert not out["salary"].isin([950_000, 610_000, 400_000]).any()
    top = np.sort(salary)[-5]  # the k-th largest bounds the output
    assert out["salary"].max() <= top
    assert m.fit_report_["rare_values"]["salary"]["tail_rows_clipped"]["high"] == 4


def test_point_masses_and_few_valued_columns_are_exact():
    rng = np.random.default_rng(0)
    n = 1000
    gain = np.where(rng.random(n) < 0.7, 0.0, np.round(rng.lognormal(8, 1, n), 2))
    years = rng.choice([8, 10, 12, 16], n)
    m = AutoregressiveModel(epochs=3, seed=0, **TINY).fit(pd.DataFrame({"gain": gain, "years": years}))
    out = m.sample(5000, seed=1)
    assert abs((out["gain"] == 0).mean() - 0.7) < 0.05
    assert set(out["years"]) <= {8, 10, 12, 16}
    rep = m.fit_report_["columns"]
    assert rep["years"]["exact_values"] == 4 and rep["years"]["bins"] == 0
    assert rep["gain"]["exact_values"] >= 1 and rep["gain"]["bins"] >= 1


# ----------------------------------------------------------------------------- training control
def test_fit_report_and_early_stopping():
    m = AutoregressiveModel(seed=0, early_stopping_patience=1, **TINY).fit(_dependent(600))
    rep = m.fit_report_
    assert rep["stop_reason"] in ("early_stopping", "epochs") and rep["epochs"] == len(m.history_) <= 100
    assert rep["column_order"] == ["group", "value", "level"] and rep["rows_validation"] == 60
    assert rep["columns"]["value"]["bins"] >= 1 and rep["device"] == "cpu" and rep["parameters"] > 0
    assert list(m.training_history_.columns) >= ["epoch", "train_loss", "validation_loss"]


def test_time_budget_and_bounded_sample():
    m = AutoregressiveModel(seed=0, max_training_seconds=0.0, max_training_rows=300, **TINY).fit(_dependent(1000))
    assert m.fit_report_["stop_reason"] == "time_budget" and m.fit_report_["epochs"] == 1
    assert m.fit_report_["rows_trained"] + m.fit_report_["rows_validation"] == 300
    assert len(m.sample(20, seed=0)) == 20


def test_tiny_table_and_nothing_to_learn():
    m = AutoregressiveModel(epochs=2, seed=0, **TINY).fit(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "x"]}))
    assert m.fit_report_["rows_validation"] == 0
    assert len(m.sample(5, seed=0)) == 5
    const = AutoregressiveModel(epochs=2, seed=0).fit(pd.DataFrame({"a": ["k"] * 10}))
    assert const.fit_report_["stop_reason"] == "nothing_to_learn"
    assert (const.sample(4, seed=0)["a"] == "k").all()


def test_bad_inputs():
    with pytest.raises(DataError, match="non-empty"):
        AutoregressiveModel().fit(pd.DataFrame())
    with pytest.raises(DataError, match="one row per data row"):
        AutoregressiveModel().fit(pd.DataFrame({"a": [1, 2]}), context=pd.DataFrame({"b": [1]}))
    with pytest.raises(DataError, match="rare_threshold"):
        AutoregressiveModel(rare_threshold=0).fit(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(DataError, match="column_order"):
        AutoregressiveModel(column_order="sorted").fit(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(DataError, match="unknown columns"):
        AutoregressiveModel(column_order=["zz"]).fit(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(DataError, match="more than once"):
        AutoregressiveModel().fit(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    m = AutoregressiveModel(epochs=1, seed=0, **TINY).fit(pd.DataFrame({"a": [1, 2, 3] * 5}))
    with pytest.raises(DataError, match="num_rows"):
        m.sample(-1)


def test_uniforms_and_token_picks():
    u = hash_uniforms(7, np.arange(1000)[:, None], np.arange(3)[None, :])
    assert u.shape == (1000, 3) and 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.03
    assert np.array_equal(u[10:20], hash_uniforms(7, np.arange(10, 20)[:, None], np.arange(3)[None, :]))
    assert not np.array_equal(u, hash_uniforms(8, np.arange(1000)[:, None], np.arange(3)[None, :]))
    logits = torch.tensor([[0.0, 0.0, 5.0]] * 4)
    picks = pick_tokens(logits, np.array([0.0, 0.3, 0.7, 0.999999]), banned=[2])
    assert set(picks.tolist()) <= {0, 1}  # a banned token is never drawn, even where it has the mass


def test_device_is_chosen_automatically_and_overridable(monkeypatch):
    from pyspark_synth.models import _ar_nets

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _ar_nets.resolve_device(None).type == "cuda"
    assert _ar_nets.resolve_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _ar_nets.resolve_device(None).type == "cpu"
    m = AutoregressiveModel(epochs=1, seed=0, device="cpu", **TINY).fit(pd.DataFrame({"a": [1, 2, 3] * 20}))
    assert m.fit_report_["device"] == "cpu" and m.get_params()["device"] == "cpu"


def test_default_threads_leave_half_the_cores(monkeypatch):
    from pyspark_synth.models import _ar_nets

    monkeypatch.setattr(_ar_nets.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert _ar_nets.default_threads() == min(4, torch.get_num_threads())
    monkeypatch.setattr(_ar_nets.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert _ar_nets.default_threads() == 1
