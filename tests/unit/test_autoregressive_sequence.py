"""Autoregressive backend, sequential mode: child-count law (zeros, mean, long tail), context,
sequence order, determinism, persistence and input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.errors import DataError, NotFittedError
from pyspark_synth.models import autoregressive_sequence as seq_module
from pyspark_synth.models.autoregressive_sequence import SequentialAutoregressiveModel
from pyspark_synth.models.base import load_model_bytes


def _database(p: int = 500, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """Parents with 30% zero-child parents, a long tail of counts, and children that depend on the
    parent (amount) and on their place in the sequence (rank)."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["small", "big"], p, p=[0.6, 0.4])
    parents = pd.DataFrame({"segment": segment, "age": rng.integers(18, 80, p)})
    tail = np.minimum(rng.zipf(1.7, p), 60)
    counts = np.where(rng.random(p) < 0.3, 0, np.where(segment == "big", 4 + tail, tail))
    group = np.repeat(np.arange(p), counts)
    n = len(group)
    rank = np.concatenate([np.arange(c) for c in counts]) if n else np.zeros(0, dtype=int)
    children = pd.DataFrame({
        "amount": np.round(np.where(segment[group] == "big", 100.0, 10.0) + rng.normal(0, 2, n), 2),
        "rank": np.minimum(rank, 9).astype("int64"),
        "kind": rng.choice(["x", "y"], n),
    })
    return children, parents, group, counts


TINY = {"hidden_size": 32, "context_size": 16, "history_size": 32, "max_bins": 8, "fine_bins": 4}


@pytest.fixture(scope="module")
def fitted():
    children, parents, group, counts = _database()
    model = SequentialAutoregressiveModel(seed=0, **TINY).fit(children, group=group, parent_context=parents)
    return model, children, parents, group, counts


def test_child_count_law_keeps_zeros_and_the_long_tail():
    children, _, group, counts = _database(p=600, seed=1)
    model = SequentialAutoregressiveModel(epochs=20, seed=0, learning_rate=1e-2, **TINY).fit(
        children, group=group, num_parents=600)
    out, parent = model.sample(num_parents=3000, seed=1)
    gen = np.bincount(parent, minlength=3000)
    assert len(out) == len(parent) == gen.sum()
    assert abs((gen == 0).mean() - (counts == 0).mean()) < 0.06
    assert abs(gen.mean() - counts.mean()) < 0.25 * counts.mean()
    assert 0.5 * counts.max() <= gen.max() <= counts.max()
    assert np.quantile(gen, 0.95) >= 0.6 * np.quantile(counts, 0.95)  # the tail is there, not only the max
    rep = model.fit_report_["children_per_parent"]
    assert rep["max"] == counts.max() and abs(rep["zero_share"] - (counts == 0).mean()) < 1e-9


def test_parent_context_drives_counts_and_values(fitted):
    model, children, parents, group, counts = fitted
    many = pd.concat([parents] * 20, ignore_index=True)  # counts have a long tail: average over many draws
    out, parent = model.sample(many, seed=3)
    gen = np.bincount(parent, minlength=len(many))
    big, big_real = many["segment"].to_numpy() == "big", parents["segment"].to_numpy() == "big"
    real_gap = np.log1p(counts[big_real]).mean() - np.log1p(counts[~big_real]).mean()
    gen_gap = np.log1p(gen[big]).mean() - np.log1p(gen[~big]).mean()
    assert real_gap > 0.5 and gen_gap > 0.6 * real_gap
    assert (gen[big] == 1).mean() < 0.05 and (gen[~big] == 1).mean() > 0.2  # a big parent has 0 or 5+
    amount_big = out["amount"][big[parent]].mean()
    amount_small = out["amount"][~big[parent]].mean()
    assert amount_big > 70 and amount_small < 40


def test_sequence_order_is_learned(fitted):
    model, children, parents, group, counts = fitted
    out, parent = model.sample(parents, seed=4)
    position = np.arange(len(parent)) - np.searchsorted(parent, parent)
    expected = np.minimum(position, 9)
    assert (out["rank"].to_numpy() == expected).mean() > 0.8


def test_same_seed_same_children_and_chunking(fitted, monkeypatch):
    model, _, parents, _, _ = fitted
    a, pa = model.sample(parents, seed=7)
    b, pb = model.sample(parents, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert np.array_equal(pa, pb)
    c, pc = model.sample(parents, seed=8)
    assert not (len(a) == len(c) and a.equals(c))
    monkeypatch.setattr(seq_module, "_PARENT_CHUNK", 37)
    d, pd_ = model.sample(parents, seed=7)
    pd.testing.assert_frame_equal(a, d)
    assert np.array_equal(pa, pd_)


def test_save_load_same_children(fitted, tmp_path):
    model, _, parents, _, _ = fitted
    path = model.save(tmp_path / "seq.synth")
    loaded = SequentialAutoregressiveModel.load(path)
    a, pa = model.sample(parents, seed=2)
    b, pb = loaded.sample(parents, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert np.array_equal(pa, pb)
    assert isinstance(load_model_bytes(model.to_bytes()), SequentialAutoregressiveModel)


def test_dtypes_and_parent_index(fitted):
    model, children, parents, _, _ = fitted
    out, parent = model.sample(parents.head(50), seed=1)
    assert list(out.columns) == list(children.columns)
    assert all(out[c].dtype == children[c].dtype for c in children.columns)
    assert parent.dtype == np.int64 and (np.diff(parent) >= 0).all()
    assert parent.min(initial=0) >= 0 and parent.max(initial=0) < 50


def test_errors():
    children, parents, group, _ = _database(p=40)
    with pytest.raises(NotFittedError, match=r"Call fit\(\) first"):
        SequentialAutoregressiveModel().sample(num_parents=3, seed=0)
    with pytest.raises(DataError, match=r"give group= .*fit_database\(\.\.\., sequential=\{'table'\}\)"):
        SequentialAutoregressiveModel().fit(children)  # as fit_table would call a flat backend
    with pytest.raises(DataError, match="one parent index per child"):
        SequentialAutoregressiveModel().fit(children, group=group[:-1], parent_context=parents)
    with pytest.raises(DataError, match=r"in \[0, 40\)"):
        SequentialAutoregressiveModel().fit(children, group=group + 40, parent_context=parents)
    with pytest.raises(DataError, match="num_parents"):
        SequentialAutoregressiveModel().fit(children, group=group, parent_context=parents, num_parents=3)
    with pytest.raises(TypeError, match="histroy_size"):
        SequentialAutoregressiveModel(histroy_size=3)  # type: ignore[call-arg]
    m = SequentialAutoregressiveModel(epochs=1, seed=0, **TINY).fit(children, group=group, parent_context=parents)
    with pytest.raises(DataError, match="parent_context"):
        m.sample(seed=0)
    with pytest.raises(DataError, match="context"):
        m.sample(num_parents=5, seed=0)
    with pytest.raises(DataError, match="match"):
        m.sample(parents, num_parents=3, seed=0)


def test_bounded_sample_keeps_whole_parents():
    children, parents, group, counts = _database(p=300)
    m = SequentialAutoregressiveModel(epochs=1, seed=0, max_training_rows=200, **TINY).fit(
        children, group=group, parent_context=parents)
    rep = m.fit_report_
    assert rep["child_rows"] <= 200 < len(children)
    assert rep["parents_trained"] + rep["parents_validation"] < len(parents)
    assert len(m.sample(parents.head(10), seed=0)[1]) >= 0


def test_parents_without_any_child():
    children = pd.DataFrame({"v": pd.Series([], dtype="float64"), "c": pd.Series([], dtype=object)})
    m = SequentialAutoregressiveModel(epochs=2, seed=0, **TINY).fit(
        children, group=np.zeros(0, dtype=np.int64), num_parents=20)
    out, parent = m.sample(num_parents=100, seed=0)
    assert len(out) == 0 and len(parent) == 0 and list(out.columns) == ["v", "c"]


def test_lengths_drawn_alone_are_those_of_the_full_draw(fitted):
    model, _, parents, _, _ = fitted
    out, parent = model.sample(parents, seed=5)
    lengths = model.sample_lengths(parents, seed=5)
    assert lengths.dtype == np.int64 and len(lengths) == len(parents)
    assert np.array_equal(lengths, np.bincount(parent, minlength=len(parents)))
    # children drawn for lengths given back are the rows of the full draw
    again, parent_again = model.sample(parents, seed=5, lengths=lengths)
    pd.testing.assert_frame_equal(out, again)
    assert np.array_equal(parent, parent_again)
    other = model.sample_lengths(parents, seed=6)
    assert not np.array_equal(lengths, other)


def test_given_lengths_are_honoured(fitted):
    model, _, parents, _, _ = fitted
    head = parents.head(30)
    wanted = np.arange(30) % 4
    out, parent = model.sample(head, seed=1, lengths=wanted)
    assert np.array_equal(np.bincount(parent, minlength=30), wanted) and len(out) == wanted.sum()
    with pytest.raises(DataError, match="one non-negative integer per parent"):
        model.sample(head, seed=1, lengths=wanted[:-1])
    with pytest.raises(DataError, match="one non-negative integer per parent"):
        model.sample(head, seed=1, lengths=wanted - 1)


def test_a_table_of_keys_only_learns_its_sequence_lengths():
    # a link table (playlist_track): both columns are keys, filled by the relational layer; only the
    # number of children per parent is learned
    from pyspark_synth.metadata import Column, ForeignKey, Table

    table = Table(name="link", primary_key=("a", "b"),
                  columns=(Column(name="a", type="id", sql_type="bigint"), Column(name="b", type="id", sql_type="bigint")),
                  foreign_keys=(ForeignKey(columns=("b",), parent_table="p", parent_columns=("b",)),))
    rng = np.random.default_rng(0)
    kind = rng.choice(["few", "many"], 300)
    counts = np.where(kind == "many", rng.integers(5, 9, 300), rng.integers(0, 2, 300))
    group = np.repeat(np.arange(300), counts)
    children = pd.DataFrame({"a": rng.integers(0, 50, len(group)), "b": group})
    model = SequentialAutoregressiveModel(table, epochs=15, seed=0, learning_rate=1e-2, **TINY).fit(
        children, group=group, parent_context=pd.DataFrame({"kind": kind}))
    ctx = pd.DataFrame({"kind": ["few", "many"] * 100})
    out, parent = model.sample(ctx, seed=2)
    gen = np.bincount(parent, minlength=200)
    assert list(out.columns) == ["a", "b"] and len(out) == gen.sum()
    assert np.array_equal(gen, model.sample_lengths(ctx, seed=2))
    assert gen[1::2].mean() > 3 * gen[::2].mean()  # the context still drives the counts
    again = SequentialAutoregressiveModel.from_bytes(model.to_bytes()).sample(ctx, seed=2)[1]
    assert np.array_equal(parent, again)
