"""CTGAN: shapes, gradients, every column type through the model, determinism, persistence, context."""

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
from pyspark_synth.models import ctgan as ctgan_module
from pyspark_synth.models.averaging import WeightAverage
from pyspark_synth.models.base import get_backend, load_model_bytes
from pyspark_synth.models.ctgan import CTGAN
from pyspark_synth.models.layers import activate

TINY = {"generator_dim": (16, 16), "critic_dim": (16, 16), "noise_dim": 8, "batch_size": 50, "max_modes": 3}


def _frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "key": np.arange(n, dtype="int64"),
        "amount": np.round(rng.gamma(2.0, 20.0, n), 2),
        "qty": rng.integers(1, 9, n).astype("int32"),
        "score": rng.normal(size=n),
        "color": rng.choice(["red", "green", "blue"], n),
        "zip": pd.Series([f"{i % 60:05d}" for i in range(n)], dtype=object),  # numeric-looking, > 50 values
        "flag": rng.random(n) < 0.3,
        "when": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 5000, n), unit="h"),
        "const": "same",
        "note": ["text"] * n,
    })
    df.loc[rng.random(n) < 0.25, "score"] = np.nan
    df.loc[rng.random(n) < 0.2, "color"] = None
    return df


META = Table(
    name="t",
    columns=(Column(name="key", type="id"), Column(name="note", type="text"), Column(name="amount", type="numerical")),
    primary_key=("key",),
    constraints={"amount": Constraint(min=1.0, max=150.0)},
)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def model(data) -> CTGAN:
    return CTGAN(META, epochs=2, seed=11, **TINY).fit(data, progress_bar=False)


def test_registered_backend():
    assert get_backend("ctgan") is CTGAN


def test_init_only_stores_arguments():
    m = CTGAN(None, epochs=7, batch_size=55)
    assert m.epochs == 7 and m.batch_size == 55 and not m.is_fitted
    assert not hasattr(m, "transformer_")


def test_not_fitted_message():
    with pytest.raises(NotFittedError, match=r"Call fit\(\) first"):
        CTGAN().sample(5)
    with pytest.raises(NotFittedError, match=r"Call fit\(\) first"):
        CTGAN().to_bytes()


def test_shapes(model):
    layout, sampler = model.layout_, model.sampler_
    z = torch.zeros(20, model.noise_dim)
    cond = torch.zeros(20, sampler.cond_dim)
    raw = model.generator_(z, cond)
    assert raw.shape == (20, layout.act_dim)
    assert layout.act_dim == model.transformer_.output_dim
    scores = model.critic_(activate(raw, layout.spans, generator=torch.Generator().manual_seed(0)), cond)
    assert scores.shape == (20 // model.pac, 1)
    kinds = {s.column: s.kind for s in layout.spans if s.is_discrete}
    assert kinds["zip"] == "embedding" and kinds["color"] == "category"
    assert "key" not in {s.column for s in layout.spans} and "note" not in {s.column for s in layout.spans}


def test_gradients_reach_embeddings_and_condition(model):
    gen, critic = model.generator_, model.critic_
    gen.train()
    critic.train()
    try:
        g = torch.Generator().manual_seed(0)
        cond = torch.from_numpy(model.sampler_.cond_vector(np.zeros(20, np.int64), np.zeros(20, np.int64)))
        cond.requires_grad_(True)
        raw = gen(torch.randn(20, model.noise_dim, generator=g), cond)
        fake = activate(raw, model.layout_.spans, generator=g)
        critic.zero_grad()
        critic(fake, cond, generator=g).mean().backward()
        assert len(critic.rows.weights) == 1
        assert critic.rows.weights[0].grad is not None and critic.rows.weights[0].grad.abs().sum() > 0
        assert cond.grad is not None and cond.grad.abs().sum() > 0
        first = gen.blocks[0].fc.weight.grad
        assert first is not None and first.abs().sum() > 0
    finally:
        gen.zero_grad()
        critic.zero_grad()
        model._finish()


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
    assert (out["const"] == "same").all()
    assert set(out["color"].dropna()) <= {"red", "green", "blue"}
    assert set(out["zip"]) <= set(data["zip"])
    assert out["flag"].dtype == bool
    assert abs(out["score"].isna().mean() - data["score"].isna().mean()) < 0.25
    assert abs(out["color"].isna().mean() - data["color"].isna().mean()) < 0.25


def test_same_seed_same_rows_different_seed_different(model):
    a = model.sample(200, seed=5)
    pd.testing.assert_frame_equal(a, model.sample(200, seed=5))
    assert not a.equals(model.sample(200, seed=6))


def test_chunking_does_not_change_rows(model, monkeypatch):
    full = model.sample(300, seed=9)
    monkeypatch.setattr(ctgan_module, "_CHUNK", 7)
    # the same draws; float32 matrix products of 7 rows may round differently from those of 300
    # (the CPU kernels block them differently), so numbers agree to float32 precision
    pd.testing.assert_frame_equal(full, model.sample(300, seed=9), check_exact=False, rtol=1e-5, atol=1e-6)


def test_save_load_identical(model, tmp_path):
    path = model.save(tmp_path / "m.synth")
    loaded = CTGAN.load(path)
    pd.testing.assert_frame_equal(model.sample(150, seed=3), loaded.sample(150, seed=3))
    again = load_model_bytes(model.to_bytes())
    pd.testing.assert_frame_equal(model.sample(150, seed=3), again.sample(150, seed=3))
    with pytest.raises(SerializationError, match="already exists"):
        model.save(path)
    model.save(path, overwrite=True)


def test_load_errors(model, tmp_path):
    with pytest.raises(SerializationError, match="file not found"):
        CTGAN.load(tmp_path / "missing.synth")
    bad = tmp_path / "bad.synth"
    bad.write_bytes(model.to_bytes()[:100])
    with pytest.raises(SerializationError, match="corrupt or truncated"):
        CTGAN.load(bad)
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(model.to_bytes())) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.namelist():
            content = src.read(item)
            if item == "config.json":
                header = json.loads(content)
                header["format_version"] = 999
                content = json.dumps(header).encode()
            dst.writestr(item, content)
    with pytest.raises(ModelVersionError, match="Upgrade pyspark_synth"):
        CTGAN.from_bytes(buf.getvalue())
    from pyspark_synth.models._archive import pack

    with pytest.raises(SerializationError, match="not a 'ctgan' model"):
        CTGAN.from_bytes(pack("copula", {}, {}))


def test_conditions_honoured(model):
    out = model.sample(100, seed=2, conditions={"color": "green", "zip": "00007"})
    assert (out["color"] == "green").all() and (out["zip"] == "00007").all()
    with pytest.raises(DataError, match="never seen"):
        model.sample(10, seed=2, conditions={"color": "purple"})
    with pytest.raises(DataError, match="unknown column"):
        model.sample(10, seed=2, conditions={"nope": 1})


def test_no_global_random_state_touched(data):
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()
    threads = torch.get_num_threads()
    m = CTGAN(None, epochs=1, seed=3, **TINY).fit(data.drop(columns=["key", "note"]), progress_bar=False)
    m.sample(50, seed=1)
    CTGAN.from_bytes(m.to_bytes()).sample(50, seed=1)
    assert torch.equal(torch_state, torch.random.get_rng_state())
    after = np.random.get_state()
    assert np_state[0] == after[0] and np.array_equal(np_state[1], after[1]) and np_state[2:] == after[2:]
    assert torch.get_num_threads() == threads


def test_fit_seed_reproducible(data):
    small = data[["amount", "color"]]
    a = CTGAN(epochs=1, seed=4, **TINY).fit(small, progress_bar=False).sample(50, seed=0)
    b = CTGAN(epochs=1, seed=4, **TINY).fit(small, progress_bar=False).sample(50, seed=0)
    pd.testing.assert_frame_equal(a, b)


def test_batch_not_multiple_of_pac_checkpoints_and_metrics(data, tmp_path):
    small = data[["amount", "color", "flag"]]
    m = CTGAN(epochs=2, seed=1, **{**TINY, "batch_size": 33}).fit(
        small, progress_bar=False, checkpoint_dir=tmp_path, checkpoint_interval=1, table_name="tiny")
    assert (tmp_path / "tiny_epoch0001.synth").exists() and (tmp_path / "tiny_final.synth").exists()
    metrics = pd.read_csv(tmp_path / "tiny_metrics.csv")
    assert list(metrics["epoch"]) == [1, 2] and "critic_loss" in metrics
    assert len(m.sample(7, seed=0)) == 7


@pytest.mark.slow  # 40 epochs of training
def test_context_conditioning_learns_parent_category():
    rng = np.random.default_rng(0)
    n = 500
    parent = pd.DataFrame({"p": rng.choice(["red", "green", "blue"], n), "q": rng.normal(size=n)})
    child = pd.DataFrame({"c": parent["p"].str[0].str.upper(), "v": rng.normal(size=n)})
    m = CTGAN(epochs=40, batch_size=100, seed=0, generator_dim=(32, 32), critic_dim=(32, 32),
              generator_lr=1e-3, critic_lr=1e-3, max_modes=3).fit(child, context=parent, progress_bar=False)
    ctx = parent.sample(300, random_state=1).reset_index(drop=True)
    out = m.sample(300, context=ctx, seed=5)
    assert len(out) == 300
    match = (out["c"] == ctx["p"].str[0].str.upper()).mean()
    assert match > 0.7  # chance is about 1/3
    with pytest.raises(DataError, match="context"):
        m.sample(10, seed=1)
    with pytest.raises(DataError, match="must match"):
        m.sample(10, context=ctx, seed=1)
    loaded = CTGAN.from_bytes(m.to_bytes())
    pd.testing.assert_frame_equal(out, loaded.sample(300, context=ctx, seed=5))


def test_bad_inputs():
    with pytest.raises(DataError, match="non-empty"):
        CTGAN().fit(pd.DataFrame())
    with pytest.raises(DataError, match="one row per data row"):
        CTGAN().fit(pd.DataFrame({"a": [1, 2]}), context=pd.DataFrame({"b": [1]}))


def test_weight_average_is_exponential_and_swap_restores():
    layer = torch.nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.fill_(0.0)
        layer.bias.fill_(0.0)
    avg = WeightAverage(layer, decay=0.9)
    expected = 0.0
    for step, value in enumerate([1.0, 2.0, 3.0, 4.0, 5.0], start=1):
        with torch.no_grad():
            layer.weight.fill_(value)
            layer.bias.fill_(value)
        avg.update()
        d = min(0.9, (1 + step) / (10 + step))
        expected = d * expected + (1 - d) * value
    avg.swap()
    assert torch.allclose(layer.weight, torch.full((1, 2), expected)) and abs(expected - 5.0) > 0.5
    avg.swap()
    assert torch.all(layer.weight == 5.0) and torch.all(layer.bias == 5.0)


def test_fitted_generator_is_the_average(data, tmp_path):
    small = data[["amount", "color"]]
    kw = {**TINY, "epochs": 3, "seed": 2}
    plain = CTGAN(ema_decay=None, **kw).fit(small, progress_bar=False, checkpoint_dir=tmp_path, table_name="p")
    averaged = CTGAN(ema_decay=0.9, **kw).fit(small, progress_bar=False, checkpoint_dir=tmp_path, table_name="a")
    # Same training trajectory (the average never feeds back), different weights to sample from.
    assert plain.history_[-1]["generator_loss"] == averaged.history_[-1]["generator_loss"]
    w_plain = plain.generator_.out.weight
    w_avg = averaged.generator_.out.weight
    assert not torch.equal(w_plain, w_avg)
    # The checkpoint holds the averaged weights too.
    again = CTGAN.load(tmp_path / "a_final.synth")
    assert torch.equal(again.generator_.out.weight, w_avg)


def test_high_cardinality_conditions_are_embedded_not_one_hot():
    """A column of many values costs an embedding's width in both networks, not a slot per value
    (pac times in the critic): issue 23, 5,000 strings took minutes per epoch."""
    rng = np.random.default_rng(0)
    n, k = 600, 400
    names = np.array([f"n{i:04d}" for i in range(k)])
    df = pd.DataFrame({"name": np.r_[names, rng.choice(names, n - k)], "city": rng.choice(list("abc"), n),
                       "x": rng.normal(size=n)})
    # rare_threshold=1: every value is held by 1-2 rows, which rare-value protection would merge
    model = CTGAN(epochs=1, seed=0, pac=5, rare_threshold=1, **{**TINY, "batch_size": 100}).fit(df, progress_bar=False)
    assert model.sampler_.cond_dim >= k  # the conditional vector still covers every value
    critic_in = model.critic_.layers[0].in_features
    gen_in = model.generator_.blocks[0].fc.in_features
    assert critic_in < model.pac * k // 2 and gen_in < k // 2, (critic_in, gen_in)
    # conditioning on a rare value still steers the generator, and the model round-trips
    out = model.sample(50, seed=1, conditions={"name": "n0007"})
    assert (out["name"] == "n0007").all()
    again = CTGAN.from_bytes(model.to_bytes())
    pd.testing.assert_frame_equal(again.sample(80, seed=2), model.sample(80, seed=2))
    # the one-hot vector (models saved before the embedding) still builds, trains and loads
    plain = CTGAN(epochs=1, seed=0, pac=5, conditional_embedding=False, rare_threshold=1,
                  **{**TINY, "batch_size": 100}).fit(
        df, progress_bar=False)
    assert plain.critic_.layers[0].in_features > model.pac * k
    loaded = CTGAN.from_bytes(plain.to_bytes())
    assert not loaded.conditional_embedding
    pd.testing.assert_frame_equal(loaded.sample(80, seed=2), plain.sample(80, seed=2))
