"""The generation kernel's sequence path: a block of parents' children from a sequence model, then
the same finishing steps as every block (driving key and its nulls, keys from row ids, types)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.errors import DataError
from pyspark_synth.kernel import TableKernel, driving_null_label, key_null_mask
from pyspark_synth.metadata import Column, ForeignKey, Table
from pyspark_synth.models.autoregressive_sequence import SequentialAutoregressiveModel
from pyspark_synth.relational.primary_keys import KeySpec
from pyspark_synth.spec import CountLawSpec, DrivingRelation, ModelReference, TableSpec

TINY = {"hidden_size": 16, "context_size": 8, "history_size": 16, "max_bins": 8, "fine_bins": 4}


def _table() -> Table:
    return Table(name="visits", primary_key=("visit_id",), columns=(
        Column(name="visit_id", type="id", sql_type="bigint"), Column(name="shop_id", type="id", sql_type="int"),
        Column(name="minutes", type="numerical", sql_type="double"),
        Column(name="kind", type="categorical", sql_type="string")),
        foreign_keys=(ForeignKey(columns=("shop_id",), parent_table="shops", parent_columns=("shop_id",)),))


@pytest.fixture(scope="module")
def kernel() -> TableKernel:
    rng = np.random.default_rng(0)
    p = 120
    size = rng.choice(["s", "l"], p)
    counts = np.where(size == "l", rng.integers(2, 9, p), rng.integers(0, 2, p))
    group = np.repeat(np.arange(p), counts)
    children = pd.DataFrame({"visit_id": np.arange(len(group)), "shop_id": group,
                             "minutes": rng.gamma(2, 10, len(group)).round(1), "kind": rng.choice(["a", "b"], len(group))})
    model = SequentialAutoregressiveModel(_table(), epochs=2, seed=0, **TINY).fit(
        children, group=group, parent_context=pd.DataFrame({"size": size}))
    schema = json.dumps({"type": "struct", "fields": [
        {"name": n, "type": t, "nullable": True, "metadata": {}}
        for n, t in (("visit_id", "long"), ("shop_id", "integer"), ("minutes", "double"), ("kind", "string"))]})
    law = CountLawSpec.model_validate(dict(zip(("values", "cumprobs"), _law(counts), strict=True)))
    spec = TableSpec(name="visits", backend="autoregressive_sequential", seed=1, table=_table(), spark_schema=schema,
                     row_count=len(children), training_rows=len(children), context=("size",),
                     keys=(KeySpec(column="visit_id", kind="int", offset=100),),
                     driving=DrivingRelation(columns=("shop_id",), parent_table="shops", parent_columns=("shop_id",),
                                             counts="sequence", children=law, null_rate=0.3,
                                             nulled_columns=("shop_id",)),
                     model=ModelReference(size=1, sha256="x"))
    return TableKernel(spec, model.to_bytes())


def _law(counts: np.ndarray) -> tuple[tuple[int, ...], tuple[float, ...]]:
    vals, freq = np.unique(counts, return_counts=True)
    cum = np.cumsum(freq) / freq.sum()
    cum[-1] = 1.0
    return tuple(int(v) for v in vals), tuple(float(c) for c in cum)


def test_candidate_counts_are_the_models_length_draws(kernel):
    ctx = pd.DataFrame({"size": ["s", "l"] * 20})
    counts = kernel.sequence_lengths(40, model_seeds=[3, 4, 5], context=ctx)
    assert counts.shape == (40, 3) and counts.dtype == np.int64
    for j, s in enumerate((3, 4, 5)):
        assert np.array_equal(counts[:, j], kernel.model.sample_lengths(ctx, seed=s))
    assert not np.array_equal(counts[:, 0], counts[:, 1])  # each candidate is its own draw


def test_a_block_of_parents_gets_its_children_with_dense_ids_and_the_parents_keys(kernel):
    ctx = pd.DataFrame({"size": ["l", "s", "l", "l", "s"]})
    counts = np.array([3, 0, 5, 1, 2])
    first = np.array([1000, -1, 1003, 1008, 1009])  # a parent without children has no first id
    keys = pd.DataFrame({"__k0": [7, 8, 9, 10, 11]})
    block, ids = kernel.generate_sequences(counts, first, seed=2, model_seed=11, context=ctx, parent_keys=keys)
    assert list(block.columns) == ["visit_id", "shop_id", "minutes", "kind"] and len(block) == counts.sum()
    assert np.array_equal(ids, np.arange(1000, 1011))
    assert block["visit_id"].tolist() == list(range(1100, 1111))  # keys from row ids (offset 100)
    expected_keys = np.repeat(keys["__k0"].to_numpy(), counts).astype(object)
    null = key_null_mask(2, driving_null_label("visits"), ids, 0.3)
    expected_keys[null] = None
    assert block["shop_id"].astype(object).where(block["shop_id"].notna(), None).tolist() == list(expected_keys)
    assert str(block["shop_id"].dtype) == "Int32" and block["kind"].isin(["a", "b"]).all()
    again, _ = kernel.generate_sequences(counts, first, seed=2, model_seed=11, context=ctx, parent_keys=keys)
    pd.testing.assert_frame_equal(block, again)


def test_a_sequential_table_is_not_generated_row_by_row(kernel):
    with pytest.raises(DataError, match=r"draws its children as one sequence per parent .*sample_children\(\)"):
        kernel.generate(np.arange(5), seed=1, model_seed=1)
