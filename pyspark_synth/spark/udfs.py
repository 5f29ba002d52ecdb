"""mapInPandas factories: the functions Spark runs on executors, each a thin loop around the kernel.

Each factory closes over plain data only (a spec's JSON, model bytes, seeds), so it travels to
executors of classic and Spark Connect sessions alike; the model is loaded once per partition
iterator. `backend` is a user's model class to load with (see `models.base.shippable_backend`);
built-in backends are found by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

__all__ = [
    "BATCH_ROWS",
    "BUCKET",
    "ROW_ID",
    "by_bucket",
    "child_blocks",
    "drawn_capacities",
    "drawn_counts",
    "null_flags",
    "sequence_blocks",
    "sequence_counts",
    "sequence_seed",
    "set_executor_threads",
    "table_blocks",
]

ROW_ID = "__rid"
BUCKET = "__bucket"
BATCH_ROWS = 16_384  # rows per frame handed to Spark by `table_blocks` (whole blocks; the rows do not depend on it)

Batches = Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]


def set_executor_threads(threads: int) -> None:
    """Limit torch's intra-op threads on an executor so Python workers do not oversubscribe cores.

    Only where torch is loaded: a backend that uses it imports it with its module, so call this
    after the model is loaded; a worker that only runs the copula never pays torch's import.
    """
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def table_blocks(spec_json: str, model_bytes: bytes | None, *, seed: int, num_rows: int, block_size: int,
                 threads: int = 1, backend: type | None = None, batch_rows: int = BATCH_ROWS) -> Batches:
    """The function given to `mapInPandas` over a frame of block ids (column `block`).

    Block `b` holds global rows `[b * block_size, min((b + 1) * block_size, num_rows))`; its rows
    come from the model with seed `block_seed(seed, table, "block", b)` and its keys from the
    global row ids, so the output does not depend on partitioning or batch sizes. Consecutive
    blocks of a partition are handed to Spark together, as frames of at least `batch_rows` rows
    (but the last): fewer, larger Arrow batches cost the Python worker and the JVM less per row
    (measured: about 1 µs less per adult row), and the rows and their order are the same for any
    `batch_rows`.
    """

    def generate(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import numpy as np

        from pyspark_synth.kernel import TableKernel, block_seed
        from pyspark_synth.spec import TableSpec

        spec = TableSpec.from_json(spec_json)
        kernel = TableKernel(spec, model_bytes, backend)
        set_executor_threads(threads)  # after the model is loaded (see there)
        pending: list[pd.DataFrame] = []
        held = 0
        for batch in batches:
            for b in batch["block"].tolist():
                start = int(b) * block_size
                n = min(block_size, num_rows - start)
                if n <= 0:
                    continue
                ids = np.arange(start, start + n, dtype=np.int64)
                pending.append(kernel.generate(ids, seed=seed, model_seed=block_seed(seed, spec.name, "block", int(b))))
                held += n
                if held >= batch_rows:
                    yield _joined(pending)
                    pending, held = [], 0
        if pending:
            yield _joined(pending)

    return generate


def by_bucket(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The rows of each bucket (`__bucket`) as one frame, from Arrow batches sorted by bucket.

    A partition holds whole buckets in order (the caller repartitions by bucket and sorts within
    partitions), but Arrow may cut a bucket into several batches: they are joined here.
    """
    import numpy as np

    pending: list[pd.DataFrame] = []
    current = None
    for batch in batches:
        if batch.empty:
            continue
        b = batch[BUCKET].to_numpy()
        starts = np.concatenate([[0], np.flatnonzero(b[1:] != b[:-1]) + 1, [len(b)]])
        for lo, hi in zip(starts[:-1], starts[1:], strict=True):
            if current is not None and b[lo] != current:
                yield _joined(pending)
                pending = []
            current = b[lo]
            pending.append(batch.iloc[lo:hi])
    if pending:
        yield _joined(pending)


def _joined(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)


def child_blocks(spec_json: str, model_bytes: bytes, *, seed: int, backend: type | None = None) -> Batches:
    """The function given to `mapInPandas` over the expanded child rows of a table.

    Its input holds, per child row, the row id (`__rid`), the bucket (`__bucket`), the driving
    parent's key (`__k0..`) and context (`__ctx__0..`), partitioned by bucket and sorted by
    (bucket, row id). Each bucket is one block: the model draws its rows with the bucket's seed,
    conditioned on the parents' context. The output is the table's columns plus `__rid`.
    """

    def generate(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import numpy as np

        from pyspark_synth.kernel import TableKernel, block_seed
        from pyspark_synth.spec import TableSpec

        spec = TableSpec.from_json(spec_json)
        kernel = TableKernel(spec, model_bytes, backend)
        set_executor_threads(1)  # after the model is loaded (see there)
        n_keys = len(spec.driving.columns) if spec.driving else 0
        keys = [f"__k{i}" for i in range(n_keys)]
        ctx_cols = [f"__ctx__{i}" for i in range(len(spec.context))]
        for pdf in by_bucket(batches):
            pdf = pdf.sort_values(ROW_ID, kind="mergesort").reset_index(drop=True)
            ids = pdf[ROW_ID].to_numpy(dtype=np.int64)
            ctx = pdf[ctx_cols].set_axis(list(spec.context), axis=1) if ctx_cols else None
            out = kernel.generate(ids, seed=seed, model_seed=block_seed(seed, spec.name, "bucket", int(pdf[BUCKET].iat[0])),
                                  context=ctx, parent_keys=pdf[keys])
            out[ROW_ID] = ids
            yield out

    return generate


def sequence_seed(seed: int, table: str, bucket: int, attempt: int | None = None) -> int:
    """The sequence model's seed for a bucket of parents: of its children, or (`attempt`) of one
    candidate draw of their numbers of children."""
    from pyspark_synth.kernel import block_seed
    from pyspark_synth.seeds import derive_seed

    base = block_seed(seed, table, "bucket", bucket)
    return base if attempt is None else derive_seed(base, "lengths", attempt)


def _parent_block(pdf: pd.DataFrame, spec: Any) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """A bucket of parents in key order (the order the model's draws are keyed by), its context."""
    keys = [f"__k{i}" for i in range(len(spec.driving.columns))]
    pdf = pdf.sort_values(keys, kind="mergesort").reset_index(drop=True)
    ctx_cols = [f"__ctx__{i}" for i in range(len(spec.context))]
    ctx = pdf[ctx_cols].set_axis(list(spec.context), axis=1) if ctx_cols else None
    return pdf, ctx, keys


def sequence_counts(spec_json: str, model_bytes: bytes, *, seed: int, tries: int, backend: type | None = None) -> Batches:
    """The function given to `mapInPandas` over the driving parents of a sequential table.

    Its input holds, per parent, its key (`__k*`), context (`__ctx__*`) and bucket (`__bucket`),
    partitioned by bucket and sorted by (bucket, key). The sequence model draws each bucket's
    numbers of children `tries` times (`__count0..`, seeds from (seed, table, bucket, try)).
    """

    def fn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark_synth.kernel import TableKernel
        from pyspark_synth.spec import TableSpec

        spec = TableSpec.from_json(spec_json)
        kernel = TableKernel(spec, model_bytes, backend)
        set_executor_threads(1)  # after the model is loaded (see there)
        for pdf in by_bucket(batches):
            pdf, ctx, _ = _parent_block(pdf, spec)
            b = int(pdf[BUCKET].iat[0])
            counts = kernel.sequence_lengths(len(pdf), context=ctx,
                                             model_seeds=[sequence_seed(seed, spec.name, b, a) for a in range(tries)])
            for a in range(tries):
                pdf[f"__count{a}"] = counts[:, a].astype("int32")
            yield pdf

    return fn


def sequence_blocks(spec_json: str, model_bytes: bytes, *, seed: int, backend: type | None = None) -> Batches:
    """The function given to `mapInPandas` over the driving parents of a sequential table, with
    their numbers of children (`__count`) and first row ids (`__first`).

    Partitioned by bucket and sorted by (bucket, key) like `sequence_counts`' input; each bucket is
    one block of `TableKernel.generate_sequences`. The output is the table's columns plus `__rid`.
    """

    def fn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark_synth.kernel import TableKernel
        from pyspark_synth.spec import TableSpec

        spec = TableSpec.from_json(spec_json)
        kernel = TableKernel(spec, model_bytes, backend)
        set_executor_threads(1)  # after the model is loaded (see there)
        for pdf in by_bucket(batches):
            pdf, ctx, keys = _parent_block(pdf, spec)
            out, ids = kernel.generate_sequences(
                pdf["__count"].to_numpy(), pdf["__first"].to_numpy(), seed=seed, context=ctx, parent_keys=pdf[keys],
                model_seed=sequence_seed(seed, spec.name, int(pdf[BUCKET].iat[0])))
            out[ROW_ID] = ids
            yield out

    return fn


def drawn_counts(linkage: dict[str, Any], ctx_names: list[str], n_keys: int, *, seed: int, table: str,
                 tries: int) -> Batches:
    """The function given to `mapInPandas` over parent rows (`__k*` key, `__ctx__*` context): each
    parent draws `tries` child counts (`__count0..`) from the linkage model, keyed by its key, and
    carries the fewest and most children of its leaf's law (`__lo`, `__hi`)."""

    def fn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import numpy as np

        from pyspark_synth.relational.linkage import LinkageModel
        from pyspark_synth.seeds import hash_uniform

        model = LinkageModel.from_dict(linkage)
        for pdf in batches:
            keys = pdf[[f"__k{i}" for i in range(n_keys)]]
            u = np.column_stack([hash_uniform(seed, f"{table}/count/{a}", keys) for a in range(tries)])
            ctx = pdf[[f"__ctx__{i}" for i in range(len(ctx_names))]].set_axis(ctx_names, axis=1) if ctx_names else None
            counts = model.draw(ctx, u).astype("int32")
            for a in range(tries):
                pdf[f"__count{a}"] = counts[:, a]
            lo, hi = model.bounds(ctx, len(pdf))
            pdf["__lo"], pdf["__hi"] = lo.astype("int32"), hi.astype("int32")
            yield pdf

    return fn


def drawn_capacities(law: dict[str, Any], keys: list[str], *, seed: int, label: str, tries: int) -> Batches:
    """The function given to `mapInPandas` over secondary parents (`keys`): each draws `tries`
    capacities (`__cap0..`, its number of children) from the key's count law."""

    def fn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark_synth.models.laws import CountLaw
        from pyspark_synth.seeds import hash_uniform

        count_law = CountLaw.from_dict(law)
        for pdf in batches:
            k = pdf[keys]
            for a in range(tries):
                pdf[f"__cap{a}"] = count_law.draw(hash_uniform(seed, f"{label}/cap/{a}", k)).astype("int32")
            yield pdf

    return fn


def null_flags(*, seed: int, label: str, rate: float, column: str) -> Batches:
    """The function given to `mapInPandas` over rows with `__rid`: adds `column`, true where the
    row's foreign key is null (`kernel.key_null_mask`, the same draw as everywhere else)."""

    def fn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark_synth.kernel import key_null_mask

        for pdf in batches:
            pdf[column] = key_null_mask(seed, label, pdf[ROW_ID].to_numpy(), rate)
            yield pdf

    return fn
