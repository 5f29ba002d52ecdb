"""Generating a whole database as Spark DataFrames: roots, then children from their generated parents.

For a child table: each generated parent draws its number of children from the linkage model
(a uniform from a keyed hash of the parent's key, so draws do not depend on partitioning); the
counts are expanded with `explode(sequence(...))`; child rows are grouped into buckets by a hash
of the parent key and each bucket is one block of the generation kernel, conditioned on the
parents' context (seed from (seed, table, bucket); the model is loaded once per partition).
Dense row ids come from per-bucket offsets (a running sum over the bucket sizes), so primary keys
are unique and gap-free. Secondary foreign keys are dealt by `secondary_keys.assign_secondary`.

Rows that several steps read (a parent's rows, the drawn counts, the expanded rows) are computed
when the plan is built and kept on the executors (`checkpoints.kept`); the leaf tables stay lazy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError, MetadataError
from pyspark_synth.io.registry import ModelEntry, ModelRegistry, registry_for
from pyspark_synth.metadata import Metadata
from pyspark_synth.seeds import derive_seed, resolve_seed
from pyspark_synth.spark.checkpoints import kept
from pyspark_synth.spark.secondary_keys import assign_secondary, parent_keys
from pyspark_synth.spark.udfs import BUCKET, ROW_ID, child_blocks, drawn_counts
from pyspark_synth.spec import DatabaseSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["database_spec", "explain", "sample_children", "sample_database"]

_log = get_logger("sample_database")
_COUNT_TRIES = 16  # draws of the driving counts; the one with the total nearest the expected total is used


def sample_children(
    spark: SparkSession,
    table: str,
    parents: DataFrame,
    *,
    seed: int | None = None,
    registry: ModelRegistry | str | None = None,
    version: int | None = None,
    entry: ModelEntry | None = None,
    secondary_parents: Mapping[str, DataFrame] | None = None,
    expected_parents: int | None = None,
    block_size: int = 4096,
) -> DataFrame:
    """Generate a child table from its (already generated) driving parent rows.

    Usable on its own, e.g. in a pipeline step that reads the materialized synthetic parent
    table. With the same seed it gives the same rows as `sample_database`.

    Args:
        spark: The session.
        table: A child table fitted by `fit_database`.
        parents: The generated driving-parent rows (must hold the parent's key and context columns).
        seed: Root seed (the same one for every table of a database).
        registry: Registry or root.
        version: Model version (latest when None).
        entry: Registry entry to use directly.
        secondary_parents: `{parent table: generated rows}` for the table's other foreign keys.
        expected_parents: Rough number of parent rows, used only to size the buckets; defaults to
            the original parent table's size.
        block_size: Target child rows per bucket.

    Raises:
        MetadataError: The table was fitted without a driving parent.
        DataError: The parent rows lack a key or context column, or a secondary parent is missing.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from pyspark_synth.spark.convert import schema_from_json
    from pyspark_synth.spark.sample_table import default_parallelism, shipped_backend

    seed = resolve_seed(seed)
    reg = registry_for(spark, registry)
    entry = entry or reg.get(table, version)
    spec = entry.spec
    drv = spec.driving
    if drv is None:
        raise MetadataError(f"Table '{table}' was fitted without a driving parent; generate it with sample_table().")
    given = dict(secondary_parents or {})
    missing_sec = [s.parent_table for s in spec.secondary if s.parent_table not in given]
    if missing_sec:
        raise DataError(f"Table '{table}' also references {missing_sec}: pass their generated rows in "
                        f"secondary_parents={{'{missing_sec[0]}': df, ...}}. Given: {sorted(given)}")
    ctx_names = list(spec.context)
    missing_ctx = [c for c in ctx_names if c not in parents.columns]
    if missing_ctx:
        raise DataError(f"Parent rows for '{table}' lack the context column(s) {missing_ctx} its model is conditioned on.")
    model_bytes = entry.model_bytes()
    n_keys = len(drv.columns)
    keys = [f"__k{i}" for i in range(n_keys)]
    keyed = parents.select(*parent_keys(parents, drv.parent_columns, table, drv.parent_table),
                           *[F.col(f"`{c}`").alias(f"__ctx__{i}") for i, c in enumerate(ctx_names)])
    tries = [f"__count{a}" for a in range(_COUNT_TRIES)]
    counted_schema = T.StructType(keyed.schema.fields + [T.StructField(t, T.IntegerType(), False) for t in tries])
    counted = kept(keyed.mapInPandas(drawn_counts(drv.linkage, ctx_names, n_keys, seed=seed, table=table, tries=_COUNT_TRIES),
                                     counted_schema))
    # Every parent draws its count several times; the draw whose total is nearest the real
    # children per parent times the parents is used. Each count still follows the parent's law,
    # and the table keeps about the real size: under a few parents (8 employees with 0..21
    # customers) instead of a wild sum, and when rare parents carry most children (3 of 1,458
    # airports have weather) however many synthetic parents resemble them.
    mean = drv.mean_children
    totals = counted.selectExpr(f"count(1) * CAST('{mean!r}' AS DOUBLE) AS __E", *[f"sum({t}) AS __T{a}" for a, t in enumerate(tries)])
    gaps = ", ".join(f"struct(abs(__T{a} - __E) AS gap, {a} AS a)" for a in range(_COUNT_TRIES))
    counted = counted.crossJoin(totals.selectExpr(f"array_min(array({gaps})).a AS __try")).select(
        *keyed.columns, F.expr(f"element_at(array({', '.join(tries)}), __try + 1)").alias("__count"))
    if expected_parents is None:
        try:
            expected_parents = reg.get(drv.parent_table).row_count
        except Exception:  # noqa: BLE001 - only a bucket-size hint
            expected_parents = spec.row_count
    n_buckets = max(1, math.ceil(expected_parents * mean / block_size))
    exploded = counted.where(F.col("__count") > 0).select(
        *keyed.columns, F.explode(F.sequence(F.lit(0), F.col("__count") - 1)).alias("__idx"))
    exploded = kept(exploded.withColumn(
        BUCKET, F.pmod(F.xxhash64(*[F.col(k) for k in keys], F.lit(derive_seed(seed, table, "bucket"))), F.lit(n_buckets))))
    sizes = exploded.groupBy(BUCKET).agg(F.count(F.lit(1)).alias("__n"))
    w = Window.orderBy(BUCKET).rowsBetween(Window.unboundedPreceding, -1)
    offsets = sizes.select(BUCKET, F.coalesce(F.sum("__n").over(w), F.lit(0)).cast("long").alias("__offset"))
    in_bucket = Window.partitionBy(BUCKET).orderBy(*keys, "__idx")
    rows = kept(exploded.join(offsets, on=BUCKET)
                .withColumn(ROW_ID, (F.col("__offset") + F.row_number().over(in_bucket) - 1).cast("long")))
    schema = schema_from_json(spec.spark_schema)
    out_schema = T.StructType(schema.fields + [T.StructField(ROW_ID, T.LongType(), False)])
    n_parts = max(1, min(n_buckets, max(default_parallelism(spark), math.ceil(expected_parents * mean / 500_000))))
    # one partition holds whole buckets, in order, so the model is loaded once per partition
    child = rows.repartition(n_parts, BUCKET).sortWithinPartitions(BUCKET, ROW_ID).mapInPandas(
        child_blocks(spec.to_json(), model_bytes, seed=seed, backend=shipped_backend(entry)), out_schema)
    assigned = set(drv.columns)
    # wider keys first: a key whose columns are inside one already drawn keeps that key's values
    for sec in sorted(spec.secondary, key=lambda s: -len(s.columns)):
        if assigned & set(sec.columns):
            # the columns already hold the driving parent's key (e.g. flights.origin inside the
            # composite key to weather): their values come from that parent, whose own foreign key
            # keeps them valid; redrawing them would break the driving key
            _log.info("secondary key shares columns with an assigned key; kept", table=table, columns=list(sec.columns))
            continue
        assigned.update(sec.columns)
        # keys are dealt on the expanded parent rows (row id, driving key, child index), not on the
        # generated rows, so the child model runs once; the keys are joined on by row id
        drawn = assign_secondary(rows.select(ROW_ID, *keys, "__idx"), given[sec.parent_table], sec, seed=seed, table=table)
        types = {f.name: f.dataType for f in child.schema.fields}
        child = child.drop(*sec.columns).join(drawn, on=ROW_ID).select(
            *[F.col(f"`{c}`").cast(types[c]).alias(c) if c in sec.columns else F.col(f"`{c}`") for c in types])
    return child.drop(ROW_ID)


def _fitted(spark: SparkSession, metadata: Metadata | None, reg: ModelRegistry,
            catalog_table: str | None) -> tuple[DatabaseSpec, dict[str, ModelEntry]]:
    """The fitted database (latest version of each table) and its registry entries."""
    if metadata is None:
        from pyspark_synth.io.catalog import load_metadata

        try:
            metadata = load_metadata(spark, catalog_table)
        except MetadataError:
            stored = reg.get_database()  # what the last fit_database stored, if any
            metadata = Metadata(tables={t: s.table for t, s in stored.tables.items()})
    entries = {t: reg.get(t) for t in metadata.tables}
    db = DatabaseSpec.from_tables(metadata, {t: e.spec for t, e in entries.items()})
    for name in db.order:
        spec = db.tables[name]
        parents = [p for p in metadata.tables[name].parent_tables if p != name]
        if parents and spec.driving is None and not spec.is_empty:
            raise MetadataError(f"Table '{name}' has foreign keys to {parents} but its model (version "
                                f"{entries[name].version}) was fitted as a single table; refit the database with "
                                "fit_database()")
    return db, entries


def database_spec(spark: SparkSession, metadata: Metadata | None = None, *,
                  registry: ModelRegistry | str | None = None, catalog_table: str | None = None) -> DatabaseSpec:
    """The fitted database: the latest spec of every table of `metadata`, in generation order.

    Without metadata, the metadata in the catalog table is used when it is there, else the database
    the last `fit_database` stored in the registry.

    Raises:
        NotFittedError: A table has no fitted model.
        MetadataError: A table's model was fitted as a single table but has parents now.
    """
    return _fitted(spark, metadata, registry_for(spark, registry), catalog_table)[0]


def explain(
    spark: SparkSession,
    metadata: Metadata | None = None,
    num_rows: Mapping[str, Any] | None = None,
    *,
    scale: float | None = None,
    registry: ModelRegistry | str | None = None,
    catalog_table: str | None = None,
) -> str:
    """What `sample_database` with these arguments will do, as text, without running a Spark job:
    the tables in generation order, from which parents, with which expected row counts."""
    return database_spec(spark, metadata, registry=registry, catalog_table=catalog_table).explain(num_rows, scale=scale)


def sample_database(
    spark: SparkSession,
    metadata: Metadata | None = None,
    num_rows: Mapping[str, int] | None = None,
    *,
    scale: float | None = None,
    seed: int | None = None,
    registry: ModelRegistry | str | None = None,
    catalog_table: str | None = None,
    block_size: int = 4096,
) -> dict[str, DataFrame]:
    """Generate every table of a fitted database as Spark DataFrames, parents first.

    Args:
        spark: The session.
        metadata: The database metadata; loaded from the catalog table when None.
        num_rows: Rows per root table (tables without a driving parent); child sizes follow
            from the linkage models. Tables not named keep their original size times `scale`.
        scale: Size factor relative to the original tables (default 1.0).
        seed: Root seed; the same seed gives the same database.
        registry: Registry or root.
        catalog_table: Catalog table holding the metadata when `metadata` is None.
        block_size: Rows per generation block / bucket.

    Returns:
        `{table: DataFrame}` in generation order.

    Raises:
        DataError: `num_rows` names unknown or child tables, or a size is not a whole number.
        NotFittedError: A table has no fitted model.
    """
    from pyspark_synth.spark.sample_table import sample_table

    reg = registry_for(spark, registry)
    db, entries = _fitted(spark, metadata, reg, catalog_table)
    expected = db.expected_rows(num_rows, scale=scale)
    seed = resolve_seed(seed)
    sizes = dict(num_rows or {})
    parents = {rel.parent_table for s in db.tables.values() for rel in [*([s.driving] if s.driving else []), *s.secondary]}
    out: dict[str, DataFrame] = {}
    for name in db.order:
        entry = entries[name]
        spec = entry.spec
        if spec.is_empty and name not in sizes:
            # a table that was empty when fitted stays empty (its children draw no rows from it)
            out[name] = sample_table(spark, name, 0, entry=entry)
            continue
        if spec.driving is None:
            df = sample_table(spark, name, int(expected[name]), seed=seed, entry=entry, block_size=block_size)
        else:
            secondary = {s.parent_table: out[s.parent_table] for s in spec.secondary}
            df = sample_children(spark, name, out[spec.driving.parent_table], seed=seed, entry=entry,
                                 secondary_parents=secondary, expected_parents=int(expected[spec.driving.parent_table]),
                                 block_size=block_size)
        # a parent's rows feed its children several times (counts, keys, dealing): generated once
        out[name] = kept(df) if name in parents else df
    _log.info("sampling database", tables=list(db.order), seed=seed, expected_rows={k: int(v) for k, v in expected.items()})
    return out
