"""Fitting a child table in sequential mode: each parent's children as one sequence, counts included.

The `autoregressive_sequential` model learns, from a bounded uniform sample of the driving
parents with all of their children (parents without children included), how many children a
parent has given its context columns and what they are, in order. Sampling then draws both from
that one model (`sample_database.sample_children`), instead of a linkage model for the counts and
a per-row model for the values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError
from pyspark_synth.io.registry import ModelEntry, ModelRegistry
from pyspark_synth.metadata import ForeignKey
from pyspark_synth.relational.plan import TablePlan
from pyspark_synth.relational.primary_keys import learn_key_spec
from pyspark_synth.seeds import derive_seed
from pyspark_synth.spec import ColumnStats, TableSpec, TextColumnSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from pyspark.sql import DataFrame

__all__ = ["SEQUENTIAL_BACKEND", "fit_sequential_table", "sequence_sample"]

_log = get_logger("fit_sequence")
SEQUENTIAL_BACKEND = "autoregressive_sequential"
_MAX_PARENTS = 200_000  # most parents brought to the driver for training
_FEW_PARENTS = 50  # fewer parents than this: the fit report says the counts are learned from few sequences
_U = "__u"
_COUNT = "__count"
_GROUP = "__group"


def _key_uniform(keys: list[str], seed: int) -> Any:
    """A uniform number in [0, 1) per parent, a keyed hash of its key (not of its position)."""
    from pyspark.sql import functions as F

    h = F.xxhash64(*[F.col(k) for k in keys], F.lit(int(seed) & (2**62 - 1)))
    return F.shiftrightunsigned(h, 11).cast("double") / F.lit(float(2**53))


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
    import numpy as np
    import pandas as pd
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
    chosen = per_parent.where(F.col(_U) <= F.lit(cut))
    ppdf = chosen.select(*keys, *ctx_cols, _U).toPandas().sort_values([_U, *keys], kind="mergesort")
    ppdf = ppdf.reset_index(drop=True)
    ppdf[_GROUP] = np.arange(len(ppdf), dtype=np.int64)
    kids = child_keyed.join(chosen.select(*keys), on=keys, how="left_semi").toPandas()
    kids = kids.merge(ppdf[[*keys, _GROUP]], on=keys, how="inner", validate="many_to_one")
    kids["__h"] = pd.util.hash_pandas_object(kids[columns].astype(str), index=False,
                                            hash_key=f"{derive_seed(seed, 'order'):016x}"[:16]).to_numpy()
    kids = kids.sort_values([_GROUP, *order, "__h"], kind="mergesort").reset_index(drop=True)
    ctx = ppdf[ctx_cols].set_axis(list(context), axis=1) if context else None
    return kids[columns], kids[_GROUP].to_numpy(dtype=np.int64), ctx, len(ppdf)


def fit_sequential_table(df: DataFrame, parent: DataFrame, tp: TablePlan, *, relations: Mapping[str, Any],
                         model_args: dict[str, Any], sample_rows: int, seed: int, registry: ModelRegistry,
                         catalog_table: str | None = None, privacy: Any = None) -> ModelEntry:
    """Fit a child table's sequence model and store it (with its spec) in the registry.

    Args:
        df: The child table's rows (its own columns only).
        parent: The driving parent's rows.
        tp: The table's plan (its driving key and context columns).
        relations: The `TableSpec` relation fields (`driving` with counts "sequence", ...).
        model_args: The sequence model's constructor arguments (see `models.base.backend_arguments`).
        sample_rows: Most child rows brought to the driver for training.
        seed: The table's seed.
        registry: Where the model goes.
        catalog_table: Catalog metadata table that lists the model versions.
        privacy: The table after the privacy step (a `PrivateTable`; `df` is its scrubbed frame):
            its fakes, column actions and notes go in the spec. None: the table had no step.

    Returns:
        The registry entry of the new model version.
    """
    from pyspark_synth.models.base import get_backend
    from pyspark_synth.models.text import text_specs
    from pyspark_synth.spark.fit_table import (
        _pending_model,
        _store,
        private_stats,
        resolve_table,
        table_stats,
    )
    from pyspark_synth.training import _report_notes

    fk = tp.driving
    tbl = resolve_table(df, tp.name, tp.table)
    data_df = df.select(*[f"`{c}`" for c in tbl.column_names])
    stats = table_stats(data_df, tbl)
    minimums = {c: stats["columns"][c].get("min") for c in tbl.generated_key_columns}
    order = [c for c in tbl.primary_key if c in tbl.column_names and c not in fk.columns]
    kids, group, ctx, n_parents = sequence_sample(
        parent, data_df, fk, tp.context, tbl.column_names, order=order, max_rows=sample_rows,
        seed=derive_seed(seed, tbl.name, "sample"))
    _log.info("fitting table as sequences", table=tbl.name, parents=n_parents, training_rows=len(kids),
              rows=stats["row_count"], seed=seed)
    k = privacy.rare_threshold if privacy is not None else None
    if k is not None:
        model_args = {"rare_threshold": k, **model_args}
    model = get_backend(SEQUENTIAL_BACKEND)(tbl, seed=derive_seed(seed, tbl.name, "model"), **model_args)
    model.fit(kids, group=group, parent_context=ctx, num_parents=n_parents, table_name=tbl.name)
    rep = model.fit_report_
    note = (f"table '{tbl.name}': children generated as one sequence per parent of '{fk.label}' by the "
            f"{SEQUENTIAL_BACKEND} model (their number, order and values); trained on {n_parents:,} parents "
            f"with {len(kids):,} children, {rep['epochs']} epochs ({rep['stop_reason']})")
    longest, window = rep["children_per_parent"]["max"], model.max_sequence_window
    if n_parents < _FEW_PARENTS:
        note += (f"; only {n_parents} parents, so the children per parent are learned from {n_parents} sequences "
                 "(the linkage model and a per-row model may do better: leave the table out of sequential=)")
    if longest > window:
        note += (f"; sequences longer than {window} children (up to {longest:,}) train the row model on their "
                 f"first {window} (max_sequence_window)")
    keys = tuple(learn_key_spec(c, tbl.column(c).sql_type, kids[c], salt=tbl.name,
                                minimum=minimums[c]) for c in tbl.generated_key_columns)
    texts = tuple(TextColumnSpec.model_validate(t) for t in text_specs(tbl, kids))
    schema, private_fields = data_df.schema, {}
    if privacy is not None:
        from pyspark_synth.spark.privacy_step import fake_specs, output_schema

        fakes, fake_notes = fake_specs(privacy, context=tuple(relations.get("context", ())),
                                       driving=relations.get("driving"))
        schema = output_schema(privacy, data_df.schema)
        private_fields = {"privacy": privacy.columns, "fakes": fakes}
        extra_notes = (*privacy.notes, *fake_notes)
    else:
        extra_notes = ()
    stats, stat_notes = private_stats(stats, tbl, k if k is not None else 1)
    extra_notes = (*extra_notes, *stat_notes, *_report_notes(tbl.name, rep))
    spec = TableSpec(
        name=tbl.name, backend=SEQUENTIAL_BACKEND, seed=seed, table=tbl, spark_schema=schema.json(),
        row_count=stats["row_count"], training_rows=len(kids), keys=keys, text=texts, model=_pending_model(),
        stats={c: ColumnStats(**json.loads(json.dumps(v, default=str))) for c, v in stats["columns"].items()},
        **private_fields, **{**relations, "notes": (*relations.get("notes", ()), *extra_notes, note)})
    return _store(registry, spec, model.to_bytes(), data_df.sparkSession, catalog_table)
