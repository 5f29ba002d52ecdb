"""The generation kernel: (table spec, model, row ids, parent rows) -> one block in the table's schema.

Every way of generating rows ends here, on the executors: `sample_table` (one table, blocks of
row ids), child tables of `sample_database` (buckets of children with their parents' keys and
context), the SQL table function, the `CALL synth.sample` procedure and pipeline steps. A block
is made in one fixed order of steps:

1. the model draws the rows, conditioned on the parents' context columns when there are any (a
   sequence model draws a block of parents' children, one sequence per parent, instead:
   `generate_sequences`; the steps below are the same, `finish`); a lookup table copied as it is
   (`TableSpec.copied`) gives its real rows instead, row id i its i-th row, and skips the steps;
2. the driving foreign key takes its parent's key values (null at the key's real rate);
3. primary-key columns are made from the global row ids;
4. self-references point at earlier rows;
5. free-text columns are drawn from their word models;
6. faked PII columns (not learned) are made from the generated row's keys (`privacy.fake.sampled_fakes`);
7. the block is coerced to the table's Spark schema.

Every random choice is a pure function of (seed, table, row id or block id), so the rows do not
depend on partitioning. Pure pandas/numpy; no Spark.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.coercion import coerce_to_schema
from pyspark_synth.errors import DataError
from pyspark_synth.models.base import SynthModel, load_model_bytes
from pyspark_synth.models.text import TextModel, text_model
from pyspark_synth.relational.primary_keys import make_keys
from pyspark_synth.seeds import derive_seed, hash_uniform
from pyspark_synth.spec import TableSpec

__all__ = [
    "block_seed",
    "driving_null_label",
    "fill_fakes",
    "fill_self_refs",
    "TableKernel",
    "fill_text",
    "key_null_mask",
    "load_model",
    "secondary_null_label",
]


def load_model(model_bytes: bytes, backend: type | None = None) -> SynthModel:
    """The fitted model in `model_bytes` (a user's backend class loads it when given)."""
    return load_model_bytes(model_bytes, backend)


def block_seed(seed: int, table: str, kind: str, index: int) -> int:
    """The model's seed for one block ("block" of a table, "bucket" of a child table)."""
    return derive_seed(seed, table, kind, int(index))


def key_null_mask(seed: int, label: str, row_ids: Any, rate: float) -> np.ndarray:
    """Which rows get a null foreign key: the one null draw of every key, a keyed hash of the row id.

    A row's draw depends only on (seed, label, row id), with 53 bits of resolution, so the same
    rows are null whatever the partitioning (the Spark side calls this too, in `mapInPandas`).
    """
    ids = np.asarray(row_ids, dtype=np.int64)
    if rate <= 0 or len(ids) == 0:
        return np.zeros(len(ids), dtype=bool)
    return hash_uniform(seed, label, pd.Series(ids)) < rate


def driving_null_label(table: str) -> str:
    """The stream of the driving key's null draw."""
    return f"{table}/fknull"


def secondary_null_label(table: str, columns: tuple[str, ...] | list[str]) -> str:
    """The stream of a secondary key's null draw."""
    return f"{table}/{','.join(columns)}/null"


class TableKernel:
    """A fitted table ready to generate blocks: its spec, its loaded model and text models.

    Built once per partition iterator on an executor (loading the model is the costly part), then
    `generate` is called for each block.

    Args:
        spec: The table's spec.
        model_bytes: Its model archive (ignored for an empty table).
        backend: A user's model class to load the archive with (built-in ones are found by name).
    """

    def __init__(self, spec: TableSpec, model_bytes: bytes | None, backend: type | None = None) -> None:
        self.spec = spec
        self.model = None if spec.is_empty or model_bytes is None else load_model(model_bytes, backend)
        self.texts = [text_model(t.model_dump()) for t in spec.text]

    @property
    def sequential(self) -> bool:
        """True when the table's model draws each parent's children as one sequence."""
        drv = self.spec.driving
        return drv is not None and drv.sequential

    def generate(self, row_ids: Any, *, seed: int, model_seed: int, context: pd.DataFrame | None = None,
                 parent_keys: pd.DataFrame | None = None) -> pd.DataFrame:
        """Generate the rows with global ids `row_ids`.

        Args:
            row_ids: Global row ids (keys are made from them).
            seed: The root seed of the sampling run (keys, nulls and text are keyed by it).
            model_seed: The model's seed for this block (see `block_seed`).
            context: The parents' context columns, one row per output row (named as in
                `spec.context`), or None.
            parent_keys: The driving parents' key values, one row per output row, one column per
                column of `spec.driving.columns`, or None for a table without a driving parent.

        Returns:
            The block, with exactly the table's columns in its Spark types.

        Raises:
            DataError: The table's children are drawn as sequences (see `generate_sequences`).
        """
        ids = np.asarray(row_ids, dtype=np.int64)
        if self.spec.copied is not None:  # a lookup table copied as it is: row id i is its i-th row
            if len(ids) and (ids.min() < 0 or ids.max() >= self.spec.row_count):
                raise DataError(f"Table '{self.spec.name}' is a lookup table copied as it is: its row ids are "
                                f"0..{self.spec.row_count - 1}, not up to {int(ids.max())}")
            return coerce_to_schema(self.spec.copied.frame(ids), self.spec.fields)
        if self.model is None:
            return coerce_to_schema(pd.DataFrame(index=pd.RangeIndex(len(ids))), self.spec.fields)
        if self.sequential:
            raise DataError(f"Table '{self.spec.name}' draws its children as one sequence per parent of "
                            f"{self.spec.driving.label}: generate it from its parents with sample_children() or "
                            "sample_database(), not row by row")
        ctx = context if context is not None and self.spec.context else None
        n = len(ids)
        rows = self.model.sample(n, context=ctx, seed=model_seed) if ctx is not None else self.model.sample(n, seed=model_seed)
        return self.finish(rows, ids, seed=seed, parent_keys=parent_keys, context=ctx)

    def sequence_lengths(self, num_parents: int, *, model_seeds: list[int],
                         context: pd.DataFrame | None = None) -> np.ndarray:
        """Candidate numbers of children of a block of parents from the sequence model.

        Args:
            num_parents: The parents of the block.
            model_seeds: One seed per candidate draw.
            context: The parents' context columns (named as in `spec.context`), one row per parent.

        Returns:
            An int64 array (parents, candidates).
        """
        model = self._sequence_model()
        ctx = context if context is not None and self.spec.context else None
        cols = [model.sample_lengths(ctx, num_parents=num_parents, seed=s) for s in model_seeds]
        return np.column_stack(cols) if cols else np.zeros((num_parents, 0), dtype=np.int64)

    def generate_sequences(self, counts: Any, first_ids: Any, *, seed: int, model_seed: int,
                           context: pd.DataFrame | None = None,
                           parent_keys: pd.DataFrame | None = None) -> tuple[pd.DataFrame, np.ndarray]:
        """Generate the children of a block of parents, each parent's children as one sequence.

        Args:
            counts: Each parent's number of children (drawn by `sequence_lengths`).
            first_ids: Each parent's first child's global row id; its children take the next ids
                in sequence order (ignored for parents without children).
            seed: The root seed of the sampling run (keys, nulls and text are keyed by it).
            model_seed: The model's seed for this block.
            context: The parents' context columns, one row per parent, or None.
            parent_keys: The parents' key values, one row per parent (one column per column of
                `spec.driving.columns`).

        Returns:
            (block, row ids): the children in the table's schema, and their global row ids.
        """
        model = self._sequence_model()
        counts = np.asarray(counts, dtype=np.int64)
        first = np.asarray(first_ids, dtype=np.int64)
        ctx = context if context is not None and self.spec.context else None
        rows, parent = model.sample(ctx, num_parents=len(counts), seed=model_seed, lengths=counts)
        within = np.arange(len(parent), dtype=np.int64) - np.searchsorted(parent, parent)
        ids = first[parent] + within
        keys = parent_keys.iloc[parent].reset_index(drop=True) if parent_keys is not None else None
        row_ctx = ctx.iloc[parent].reset_index(drop=True) if ctx is not None else None
        return self.finish(rows, ids, seed=seed, parent_keys=keys, context=row_ctx), ids

    def _sequence_model(self) -> Any:
        if not self.sequential:
            raise DataError(f"Table '{self.spec.name}' is not generated as sequences per parent; use generate()")
        if self.model is None or not callable(getattr(self.model, "sample_lengths", None)):
            raise DataError(f"Table '{self.spec.name}': its backend '{self.spec.backend}' does not draw children as "
                            "sequences (it has no sample_lengths); refit the table with the sequential mode")
        return self.model

    def finish(self, rows: pd.DataFrame, row_ids: Any, *, seed: int, parent_keys: pd.DataFrame | None = None,
               context: pd.DataFrame | None = None) -> pd.DataFrame:
        """Steps 2-6 on rows a model drew: the driving key and its nulls, keys from row ids,
        self-references, free text, the table's Spark types.

        Args:
            rows: The model's rows, one per row id.
            row_ids: Their global row ids.
            seed: The root seed of the sampling run.
            parent_keys: The driving parents' key values, one row per row (or None).
            context: The parents' context columns, one row per row (or None): fakes whose locale
                comes from the parent read it.
        """
        spec = self.spec
        ids = np.asarray(row_ids, dtype=np.int64)
        rows = rows.reset_index(drop=True)
        if spec.driving is not None and parent_keys is not None:
            drv = spec.driving
            null = key_null_mask(seed, driving_null_label(spec.name), ids, drv.null_rate)
            for col, src in zip(drv.columns, parent_keys.columns, strict=True):
                vals = parent_keys[src].reset_index(drop=True).astype(object)
                if col in drv.nulled_columns:
                    vals[null] = None
                rows[col] = vals.to_numpy()
        for key in spec.keys:
            rows[key.column] = make_keys(key, ids).to_numpy()
        fill_self_refs(rows, ids, spec, seed=seed)
        fill_text(rows, ids, spec, seed=seed, models=self.texts)
        fill_fakes(rows, ids, spec, seed=seed, context=context)
        return coerce_to_schema(rows, spec.fields)


def fill_self_refs(rows: pd.DataFrame, ids: Any, spec: TableSpec, *, seed: int) -> None:
    """Point each self-referencing key at an earlier generated row of the same table (in place).

    Row `i` references a row id drawn uniformly from `[0, i)` (so references never dangle and the
    graph has no cycles); the first row and a share `null_rate` of rows get null, all by keyed
    hashes of the row id.
    """
    if not spec.self_refs:
        return
    ids = np.asarray(ids, dtype=np.int64)
    (key,) = spec.keys
    id_frame = pd.Series(ids)
    for ref in spec.self_refs:
        (col,) = ref.columns
        u = hash_uniform(seed, f"{spec.name}/self/{col}", id_frame)
        null = key_null_mask(seed, f"{spec.name}/selfnull/{col}", ids, ref.null_rate) | (ids == 0)
        target = np.floor(u * ids).astype(np.int64)
        values = make_keys(key, target).astype(object)
        values[null] = None
        rows[col] = values.to_numpy()


def fill_fakes(rows: pd.DataFrame, ids: Any, spec: TableSpec, *, seed: int, context: pd.DataFrame | None = None) -> None:
    """Write the faked PII columns (`spec.fakes`) into the block (in place); see `privacy.fake.sampled_fakes`."""
    if not spec.fakes:
        return
    from pyspark_synth.privacy.fake import sampled_fakes

    ctx = context.reset_index(drop=True) if context is not None else None
    for col, values in sampled_fakes(rows, ids, spec.fakes, seed=seed, table=spec.name, context=ctx).items():
        rows[col] = values.to_numpy()


def fill_text(rows: pd.DataFrame, ids: Any, spec: TableSpec, *, seed: int, models: list[TextModel] | None = None) -> None:
    """Write generated values into the table's free-text columns (in place)."""
    for model in models if models is not None else [text_model(t.model_dump()) for t in spec.text]:
        rows[model.column] = model.sample(np.asarray(ids), seed=seed, label=f"{spec.name}/{model.column}/text").to_numpy()
