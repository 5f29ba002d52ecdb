"""mapInPandas factories that run a fitted model on executors, one deterministic block at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from pyspark_synth.seeds import derive_seed

__all__ = ["block_generator", "fill_self_refs", "set_executor_threads"]


def set_executor_threads(threads: int) -> None:
    """Limit torch's intra-op threads on an executor so Python workers do not oversubscribe cores."""
    try:
        import torch
    except ImportError:  # a backend without torch
        return
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def block_generator(
    model_bytes: bytes,
    schema_json: str,
    key_specs: list[dict[str, Any]],
    *,
    table: str,
    seed: int,
    num_rows: int,
    block_size: int,
    threads: int = 1,
    self_refs: list[dict[str, Any]] | None = None,
    backend: type | None = None,
    text_specs: list[dict[str, Any]] | None = None,
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """Build the function given to `mapInPandas` over a frame of block ids (column `block`).

    Block `b` holds global rows `[b * block_size, min((b + 1) * block_size, num_rows))`; its rows
    come from the model with seed `derive_seed(seed, table, "block", b)` and its key columns from
    the global row ids, so the output does not depend on partitioning or batch sizes.
    The closure holds only bytes and plain data (safe for Spark Connect); the model is loaded once
    per partition iterator. `backend` is a user's model class to load with (see
    `models.base.shippable_backend`); built-in backends are found by name. `text_specs` are the
    free-text column models (see `models.text`).
    """

    def generate(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import numpy as np

        from pyspark_synth.models.base import load_model_bytes
        from pyspark_synth.models.text import TextModel, fill_text
        from pyspark_synth.relational.keys import KeySpec, make_keys
        from pyspark_synth.spark.convert import coerce_to_schema, schema_from_json

        set_executor_threads(threads)
        schema = schema_from_json(schema_json)
        specs = [KeySpec.from_dict(d) for d in key_specs]
        texts = [TextModel.from_dict(d) for d in text_specs or []]
        model = load_model_bytes(model_bytes, backend)
        for batch in batches:
            for b in batch["block"].tolist():
                start = int(b) * block_size
                n = min(block_size, num_rows - start)
                if n <= 0:
                    continue
                rows = model.sample(n, seed=derive_seed(seed, table, "block", int(b)))
                ids = np.arange(start, start + n, dtype=np.int64)
                for spec in specs:
                    rows[spec.column] = make_keys(spec, ids).to_numpy()
                fill_self_refs(rows, ids, specs, self_refs or [], seed=seed, table=table)
                fill_text(rows, ids, texts, seed=seed, table=table)
                yield coerce_to_schema(rows, schema)

    return generate


def fill_self_refs(rows: pd.DataFrame, ids: Any, specs: list[Any], self_refs: list[dict[str, Any]], *,
                   seed: int, table: str) -> None:
    """Point each self-referencing key at an earlier generated row of the same table (in place).

    Row `i` references a row id drawn uniformly from `[0, i)` (so references never dangle and the
    graph has no cycles); the first row and a share `null_rate` of rows get null, all by keyed
    hashes of the row id.
    """
    if not self_refs:
        return
    import numpy as np

    from pyspark_synth.relational.keys import make_keys
    from pyspark_synth.seeds import hash_uniform

    ids = np.asarray(ids, dtype=np.int64)
    (spec,) = specs
    id_frame = pd.Series(ids)
    for ref in self_refs:
        (col,) = ref["columns"]
        u = hash_uniform(seed, f"{table}/self/{col}", id_frame)
        null = (hash_uniform(seed, f"{table}/selfnull/{col}", id_frame) < ref["null_rate"]) | (ids == 0)
        target = np.floor(u * ids).astype(np.int64)
        values = make_keys(spec, target).astype(object)
        values[null] = None
        rows[col] = values.to_numpy()
