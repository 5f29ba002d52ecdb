"""`udfs.table_blocks`, the executor loop of `sample_table`, without Spark: consecutive blocks are
handed over as larger frames, and the rows do not depend on how blocks are batched or split."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.metadata import Column, Table
from pyspark_synth.models.autoregressive import AutoregressiveModel
from pyspark_synth.relational.primary_keys import KeySpec
from pyspark_synth.spark.udfs import BATCH_ROWS, table_blocks
from pyspark_synth.spec import ModelReference, TableSpec


def _table() -> Table:
    return Table(name="orders", primary_key=("order_id",), columns=(
        Column(name="order_id", type="id", sql_type="bigint"), Column(name="amount", type="numerical", sql_type="double"),
        Column(name="kind", type="categorical", sql_type="string"), Column(name="qty", type="numerical", sql_type="int")))


@pytest.fixture(scope="module")
def blocks() -> tuple[str, bytes]:
    rng = np.random.default_rng(0)
    n = 300
    data = pd.DataFrame({"order_id": np.arange(n), "amount": rng.gamma(2, 10, n).round(2),
                         "kind": rng.choice(["a", "b", "c"], n), "qty": rng.integers(1, 5, n)})
    model = AutoregressiveModel(_table(), epochs=1, seed=0, hidden_size=8, max_bins=4, fine_bins=2).fit(data)
    schema = json.dumps({"type": "struct", "fields": [
        {"name": c, "type": t, "nullable": True, "metadata": {}}
        for c, t in (("order_id", "long"), ("amount", "double"), ("kind", "string"), ("qty", "integer"))]})
    spec = TableSpec(name="orders", backend="autoregressive", seed=1, table=_table(), spark_schema=schema, row_count=n,
                     training_rows=n, keys=(KeySpec(column="order_id", kind="int", offset=1),),
                     model=ModelReference(size=1, sha256="x"))
    return spec.to_json(), model.to_bytes()


def _run(blocks: tuple[str, bytes], batches: list[list[int]], *, batch_rows: int, num_rows: int = 1000,
         block_size: int = 64) -> list[pd.DataFrame]:
    spec_json, model_bytes = blocks
    fn = table_blocks(spec_json, model_bytes, seed=5, num_rows=num_rows, block_size=block_size, batch_rows=batch_rows)
    return list(fn(iter(pd.DataFrame({"block": np.asarray(b, dtype=np.int64)}) for b in batches)))


def test_blocks_are_handed_over_in_larger_frames(blocks):
    frames = _run(blocks, [[0, 1, 2], [3, 4, 5, 6, 7]], batch_rows=200)
    assert [len(f) for f in frames] == [256, 256]  # whole blocks, at least batch_rows rows, across input batches
    last = _run(blocks, [[14, 15, 16]], batch_rows=200)  # block 15 ends at num_rows; block 16 is empty
    assert [len(f) for f in last] == [64 + 1000 - 15 * 64]
    assert BATCH_ROWS >= 4096  # several default-sized blocks per frame


def test_rows_do_not_depend_on_batching_or_partitioning(blocks):
    one = pd.concat(_run(blocks, [list(range(16))], batch_rows=1), ignore_index=True)  # a frame per block
    assert len(one) == 1000 and one["order_id"].tolist() == list(range(1, 1001))
    for batch_rows, layout in ((200, [list(range(16))]), (10**9, [[0, 1], [2, 3, 4, 5, 6], list(range(7, 16))])):
        pd.testing.assert_frame_equal(one, pd.concat(_run(blocks, layout, batch_rows=batch_rows), ignore_index=True))
    # two partitions holding blocks 0-8 and 9-15: the same rows
    split = pd.concat(_run(blocks, [list(range(9))], batch_rows=300) + _run(blocks, [list(range(9, 16))], batch_rows=300),
                      ignore_index=True)
    pd.testing.assert_frame_equal(one, split)
    assert one.dtypes.to_dict() == split.dtypes.to_dict()
