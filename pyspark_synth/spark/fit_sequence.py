"""Fitting a child table in sequential mode: each parent's children as one sequence, counts included.

The `autoregressive_sequential` model learns, from a bounded uniform sample of the driving
parents with all of their children (parents without children included), how many children a
parent has given its context columns and what they are, in order. Sampling then draws both from
that one model (`sample_database.sample_children`), instead of a linkage model for the counts and
a per-row model for the values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError
from pyspark_synth.io.registry import ModelEntry, ModelRegistry
from pyspark_synth.metadata import ForeignKey
from pyspark_synth.relational.plan import TablePlan
from pyspark_synth.seeds import derive_seed

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from pyspark.sql import DataFrame

    from pyspark_synth.spark.fit_table import PreparedTable
    from pyspark_synth.training import TrainedTable, TrainingJob

__all__ = ["SEQUENTIAL_BACKEND", "SequencePlan", "fit_sequential_table", "plan_sequence_sample", "prepare_sequential_table",
           "sequence_arrays", "sequence_sample", "sequence_training", "train_sequential_table"]

_log = get_logger("fit_sequence")
SEQUENTIAL_BACKEND = "autoregressive_sequential"
_MAX_PARENTS = 200_000  # most parents brought to the driver for training
_U = "__u"
_COUNT = "__count"
_GROUP = "__group"


def _key_uniform(keys: list[str], seed: int) -> Any:
    """A uniform number in [0, 1) per parent, a keyed hash of its key (not of its position)."""
    from pyspark.sql import functions as F

    h = F.xxhash64(*[F.col(k) for k in keys], F.lit(int(seed) & (2**62 - 1)))
    return F.shiftrightunsigned(h, 11).cast("double") / F.lit(float(2**53))


@dataclass(frozen=True)
class SequencePlan:
    """A sequence table's bounded training sample, planned on the driver and still lazy.

    Attributes:
        parents: The chosen parents: key columns `__k*`, context columns `__ctx__*`, `__u`.
        children: Their children: key columns `__k*`, then the model's columns.
        keys: The key columns' names (`__k0`, ...).
        context: The parent's context columns (in `parents` as `__ctx__0`, ...).
        columns: The child columns the model learns.
        order: Child columns that order each parent's children.
        seed: Seed of the parents' hash and of the children's tie order.
        num_parents: How many parents were chosen.
        num_children: How many children they have (the training rows).
    """

    parents: Any
    children: Any
    keys: tuple[str, ...]
    context: tuple[str, ...]
    columns: tuple[str, ...]
    order: tuple[str, ...]
    seed: int
    num_parents: int
    num_children: int

    @property
    def info(self) -> dict[str, Any]:
        """What a task needs to rebuild the arrays from the collected frames (JSON-able)."""
        return {"keys": list(self.keys), "context": list(self.context), "columns": list(self.columns),
                "order": list(self.order), "seed": self.seed}


def plan_sequence_sample(parent: DataFrame, child: DataFrame, fk: ForeignKey, context: tuple[str, ...],
                         columns: list[str], *, order: list[str], max_rows: int, max_parents: int = _MAX_PARENTS,
                         seed: int) -> SequencePlan:
    """The bounded uniform sample of parents with all their children, as lazy frames.

    Parents are taken in the order of a keyed hash of their key (the same parents however the data
    is partitioned) while their children total at most `max_rows` and they number at most
    `max_parents`; parents without children are kept like any other. Only each candidate parent's
    hash and child count reach the driver (to place the cut); the rows stay in Spark until a task
    (or `sequence_sample`) collects them, and `sequence_arrays` puts them in order.

    Args: see `sequence_sample`.
    """
    import numpy as np
    from pyspark.sql import functions as F

    from pyspark_synth.spark.checkpoints import kept

    n_keys = len(fk.columns)
    keys = [f"__k{i}" for i in range(n_keys)]
    ptypes = {f.name: f.dataType for f in parent.schema.fields}
    ctx_cols = [f"__ctx__{i}" for i in range(len(context))]
    parents = parent.select(*[F.col(f"`{p}`").alias(k) for p, k in zip(fk.parent_columns, keys, strict=True)],
                            *[F.col(f"`{c}`").alias(a) for c, a in zip(context, ctx_cols, strict=True)])
    child_keyed = child.select(*[F.col(f"`{c}`").cast(ptypes[p]).alias(k)
                                 for c, p, k in zip(fk.columns, fk.parent_columns, keys, strict=True)],
                               *[F.col(f"`{c}`") for c in columns])
    child_keyed = child_keyed.where(" AND ".join(f"{k} IS NOT NULL" for k in keys))
    counts = child_keyed.groupBy(*keys).agg(F.count(F.lit(1)).alias(_COUNT))
    # (read four times below: computed once)
    per_parent = kept(parents.join(counts, on=keys, how="left")
                      .select("*", _key_uniform(keys, seed).alias(_U)).fillna(0, [_COUNT]))
    tot = per_parent.agg(F.count(F.lit(1)).alias("p"), F.sum(_COUNT).alias("c")).first()
    n_parents, n_children = int(tot["p"]), int(tot["c"] or 0)
    if n_parents == 0:
        raise DataError(f"Foreign key '{fk.label}': the parent table has no rows, so there is no sequence of "
                        "children to learn. Fill it, or drop that foreign key from the metadata.")
    # a little more than the share of parents needed, then the exact cut on the driver
    share = min(max_rows / max(n_children, 1), max_parents / n_parents)
    frac = 1.0 if share >= 1 else min(1.0, 1.2 * share + 6 * math.sqrt(share / n_parents) + 20 / n_parents)
    cand = per_parent.where(F.col(_U) < F.lit(frac)).select(_U, _COUNT).toPandas()
    cand = cand.sort_values(_U, kind="mergesort").reset_index(drop=True)
    total = cand[_COUNT].cumsum().to_numpy()
    fits = (total <= max_rows) & (np.arange(len(cand)) < max_parents)
    fits[:1] = True  # at least one parent, even with more children than max_rows
    cut = float(cand[_U].to_numpy()[np.flatnonzero(fits)[-1]])
    chosen_mask = cand[_U].to_numpy() <= cut
    chosen = per_parent.where(F.col(_U) <= F.lit(cut))
    return SequencePlan(parents=chosen.select(*keys, *ctx_cols, _U),
                        children=child_keyed.join(chosen.select(*keys), on=keys, how="left_semi"),
                        keys=tuple(keys), context=tuple(context), columns=tuple(columns), order=tuple(order),
                        seed=int(seed), num_parents=int(chosen_mask.sum()),
                        num_children=int(cand[_COUNT].to_numpy()[chosen_mask].sum()))


def sequence_arrays(parents: pd.DataFrame, children: pd.DataFrame, info: Mapping[str, Any]
                    ) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame | None, int]:
    """The collected frames of a `SequencePlan` (its `info`) as the sequence model's inputs, in an
    order that does not depend on how Spark delivered the rows: see `sequence_sample`. Pure pandas."""
    import numpy as np
    import pandas as pd

    keys, context, columns = list(info["keys"]), list(info["context"]), list(info["columns"])
    ctx_cols = [f"__ctx__{i}" for i in range(len(context))]
    ppdf = parents.sort_values([_U, *keys], kind="mergesort").reset_index(drop=True)
    ppdf[_GROUP] = np.arange(len(ppdf), dtype=np.int64)
    kids = children.merge(ppdf[[*keys, _GROUP]], on=keys, how="inner", validate="many_to_one")
    kids["__h"] = pd.util.hash_pandas_object(kids[columns].astype(str), index=False,
                                            hash_key=f"{derive_seed(info['seed'], 'order'):016x}"[:16]).to_numpy()
    kids = kids.sort_values([_GROUP, *info["order"], "__h"], kind="mergesort").reset_index(drop=True)
    ctx = ppdf[ctx_cols].set_axis(context, axis=1) if context else None
    return kids[columns], kids[_GROUP].to_numpy(dtype=np.int64), ctx, len(ppdf)


def sequence_sample(parent: DataFrame, child: DataFrame, fk: ForeignKey, context: tuple[str, ...],
                    columns: list[str], *, order: list[str], max_rows: int, max_parents: int = _MAX_PARENTS,
                    seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame | None, int]:
    """A bounded uniform sample of parents with all their children, on the driver.

    Parents are taken in the order of a keyed hash of their key (the same parents however the data
    is partitioned) while their children total at most `max_rows` and they number at most
    `max_parents`; parents without children are kept like any other. Each parent's children are
    in the order of `order` (the child's key columns, sequence order), ties broken by a hash of
    the row.

    Args:
        parent: The driving parent's rows.
        child: The child's rows.
        fk: The driving foreign key.
        context: The parent's columns the model is conditioned on.
        columns: The child columns to bring (the model's).
        order: Child columns that order each parent's children.
        max_rows: Most child rows.
        max_parents: Most parents.
        seed: Seed of the parents' hash.

    Returns:
        (children, group, parent context or None, number of parents): `group` is each child row's
        parent (an index into the parents; the context has one row per parent).
    """
    plan = plan_sequence_sample(parent, child, fk, context, columns, order=order, max_rows=max_rows,
                                max_parents=max_parents, seed=seed)
    return sequence_arrays(plan.parents.toPandas(), plan.children.toPandas(), plan.info)


def prepare_sequential_table(df: DataFrame, parent: DataFrame, tp: TablePlan, *, relations: Mapping[str, Any],
                             model_args: dict[str, Any], sample_rows: int, seed: int, registry: ModelRegistry,
                             privacy: Any = None, threads: int | None = None) -> PreparedTable:
    """Everything before training a child table's sequence model: statistics, the sample's plan
    (lazy: see `plan_sequence_sample`), the spec's fields. It trains in a task of the fit job, or
    here (`train_sequential_table`); `fit_table.finish_table` stores it.

    Args:
        df: The child table's rows (its own columns only).
        parent: The driving parent's rows.
        tp: The table's plan (its driving key and context columns).
        relations: The `TableSpec` relation fields (`driving` with counts "sequence", ...).
        model_args: The sequence model's constructor arguments (see `models.base.backend_arguments`).
        sample_rows: Most child rows in the training sample.
        seed: The table's seed.
        registry: Where the model goes.
        privacy: The table after the privacy step (a `PrivateTable`; `df` is its scrubbed frame):
            its fakes, column actions and notes go in the spec. None: the table had no step.
        threads: Torch threads while training (None: torch's setting).
    """
    from pyspark_synth.spark.fit_table import (
        PreparedTable,
        _key_minimums,
        private_stats,
        resolve_table,
        spec_fields,
        table_stats,
    )
    from pyspark_synth.training import TrainingJob

    fk = tp.driving
    tbl = resolve_table(df, tp.name, tp.table)
    data_df = df.select(*[f"`{c}`" for c in tbl.column_names])
    stats = table_stats(data_df, tbl)
    minimums = _key_minimums(tbl, stats)
    order = [c for c in tbl.primary_key if c in tbl.column_names and c not in fk.columns]
    plan = plan_sequence_sample(parent, data_df, fk, tp.context, tbl.column_names, order=order, max_rows=sample_rows,
                                seed=derive_seed(seed, tbl.name, "sample"))
    _log.info("fitting table as sequences", table=tbl.name, parents=plan.num_parents, training_rows=plan.num_children,
              rows=stats["row_count"], seed=seed)
    k = privacy.rare_threshold if privacy is not None else None
    if k is not None:
        model_args = {"rare_threshold": k, **model_args}
    stats, stat_notes = private_stats(stats, tbl, k if k is not None else 1)
    base = spec_fields(tbl, seed, stats, data_df.schema, relations, privacy, stat_notes)
    job = TrainingJob(table=tbl, backend=SEQUENTIAL_BACKEND, arguments=dict(model_args), seed=seed,
                      key_minimums=minimums, threads=threads)
    return PreparedTable(job=job, model_class=None, base=base, sample=plan.children, context_map={}, registry=registry,
                         spark=df.sparkSession, training_size=plan.num_children, sequence=plan, label=fk.label)


def sequence_training(prepared: PreparedTable) -> Callable[[TrainingJob], TrainedTable]:
    """Bring a prepared sequence table's sample to this process now; returns its training step
    (given the job, it trains on the rows a task of the fit job would read)."""
    from pyspark_synth.training import train_sequence

    plan = prepared.sequence
    kids, group, ctx, n_parents = sequence_arrays(plan.parents.toPandas(), plan.children.toPandas(), plan.info)
    return lambda job: train_sequence(job, kids, group, ctx, n_parents, label=prepared.label)


def train_sequential_table(prepared: PreparedTable) -> TrainedTable:
    """Train a prepared sequence table here (its sample collected to this process)."""
    return sequence_training(prepared)(prepared.job)


def fit_sequential_table(df: DataFrame, parent: DataFrame, tp: TablePlan, *, relations: Mapping[str, Any],
                         model_args: dict[str, Any], sample_rows: int, seed: int, registry: ModelRegistry,
                         catalog_table: str | None = None, privacy: Any = None) -> ModelEntry:
    """Fit a child table's sequence model here and store it (with its spec) in the registry.

    See `prepare_sequential_table` for the arguments; `catalog_table` lists the model versions.

    Returns:
        The registry entry of the new model version.
    """
    from pyspark_synth.spark.fit_table import finish_table

    prepared = prepare_sequential_table(df, parent, tp, relations=relations, model_args=model_args,
                                        sample_rows=sample_rows, seed=seed, registry=registry, privacy=privacy)
    return finish_table(prepared, train_sequential_table(prepared), catalog_table=catalog_table)
