"""Fitting a table's model from a Spark DataFrame: Spark statistics, a bounded sample, the registry."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError, MetadataError
from pyspark_synth.io.registry import ModelEntry, ModelRegistry, registry_for
from pyspark_synth.metadata import Metadata, Table, type_family
from pyspark_synth.relational.keys import learn_key_spec
from pyspark_synth.seeds import derive_seed, resolve_seed

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

__all__ = ["DEFAULT_SAMPLE_ROWS", "EMPTY_BACKEND", "fit_table", "resolve_table", "table_stats", "training_sample"]

_log = get_logger("fit")
DEFAULT_SAMPLE_ROWS = 200_000
# the backend name of an entry for a table that had no rows (kept so a database keeps the table)
EMPTY_BACKEND = "empty"


def resolve_table(df: DataFrame, table: str | None, metadata: Metadata | Table | None) -> Table:
    """The table's metadata, with columns filled from the DataFrame when the metadata has none.

    Raises:
        MetadataError: The metadata's columns and the DataFrame's columns differ.
    """
    from pyspark_synth.spark.detect import detect_metadata

    if isinstance(metadata, Metadata):
        if table is None:
            if len(metadata.tables) != 1:
                raise MetadataError(f"Say which table to fit: table=... (the metadata has {sorted(metadata.tables)})")
            table = next(iter(metadata.tables))
        tbl = metadata.validate().table(table)
    elif isinstance(metadata, Table):
        tbl = metadata
    else:
        tbl = None
    name = table or (tbl.name if tbl else "table")
    if tbl is None or not tbl.columns:
        detected = detect_metadata({name: df}).metadata.table(name)
        if tbl is None:
            return detected
        keys = tbl.unlearned_key_columns
        cols = tuple(c.model_copy(update={"type": "id"}) if c.name in keys else
                     _untyped_key(c, detected) for c in detected.columns)
        return tbl.model_copy(update={"columns": cols})
    schema_types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    missing = [c for c in tbl.column_names if c not in schema_types]
    extra = [c for c in schema_types if c not in tbl.column_names]
    if missing or extra:
        raise MetadataError(
            f"Table '{tbl.name}': the DataFrame does not match the metadata: missing columns {missing}, "
            f"columns not in the metadata {extra}. Select the metadata's columns or update the metadata."
        )
    cols = tuple(c if c.sql_type else c.model_copy(update={"sql_type": schema_types[c.name]}) for c in tbl.columns)
    return tbl.model_copy(update={"columns": cols})


def _untyped_key(col: Any, detected: Table) -> Any:
    """A column detection typed 'id' that is no key here gets a modelled type instead."""
    if col.type != "id":
        return col
    fam = type_family(col.sql_type)
    return col.model_copy(update={"type": "numerical" if fam in {"integer", "fractional"} else
                                  "datetime" if fam in {"date", "timestamp", "timestamp_ntz"} else "categorical"})


def table_stats(df: DataFrame, tbl: Table) -> dict[str, Any]:
    """Full-data statistics by one Spark aggregation: row count, null rates, min/max of ordered columns."""
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("__n")]
    ordered = []
    for i, c in enumerate(tbl.columns):
        col = F.col(f"`{c.name}`")
        aggs.append(F.sum(F.when(col.isNull(), 1).otherwise(0)).alias(f"n{i}"))
        if type_family(c.sql_type) in {"integer", "fractional", "date", "timestamp", "timestamp_ntz"}:
            aggs += [F.min(col).alias(f"lo{i}"), F.max(col).alias(f"hi{i}")]
            ordered.append(i)
    row = df.agg(*aggs).first().asDict()
    n = int(row["__n"])
    out: dict[str, Any] = {"row_count": n, "columns": {}}
    for i, c in enumerate(tbl.columns):
        st = {"null_rate": (row[f"n{i}"] or 0) / n if n else 0.0}
        if i in ordered:
            st["min"], st["max"] = row[f"lo{i}"], row[f"hi{i}"]
        out["columns"][c.name] = st
    return out


def training_sample(df: DataFrame, row_count: int, sample_rows: int, seed: int) -> pd.DataFrame:
    """At most `sample_rows` rows, drawn uniformly with Spark and brought to the driver."""
    if row_count <= sample_rows:
        return df.toPandas()
    fraction = min(1.0, sample_rows * 1.1 / row_count)
    return df.sample(withReplacement=False, fraction=fraction, seed=seed % (2**31)).limit(sample_rows).toPandas()


def fit_table(
    df: DataFrame,
    *,
    table: str | None = None,
    metadata: Metadata | Table | None = None,
    backend: str = "ctgan",
    epochs: int | None = None,
    batch_size: int | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int | None = None,
    registry: ModelRegistry | str | None = None,
    context_columns: dict[str, str] | None = None,
    catalog_table: str | None = None,
    extra_manifest: dict[str, Any] | None = None,
    empty_ok: bool = False,
    **model_kwargs: Any,
) -> ModelEntry:
    """Fit one table's model from a Spark DataFrame and store it in the model registry.

    Only a bounded uniform sample (`sample_rows`) reaches the driver; row count, null rates and
    key ranges come from Spark aggregations over the full table. The fitted model is stored as a
    new version in the registry and listed in the catalog metadata table.

    Args:
        df: The table's rows.
        table: Table name (required when the metadata has several tables).
        metadata: The database metadata (or the table's); detected from `df` when None.
        backend: Registered model backend name ("ctgan", "copula", or a user's).
        epochs: Training epochs (the backend's default when None).
        batch_size: Training batch size (the backend's default when None).
        sample_rows: Most rows brought to the driver for training.
        seed: Root seed of the fit (sampling of training rows and the model's training).
        registry: Registry or registry root; defaults to the session's (see `registry_for`).
        context_columns: `{column of df: parent column name}` for columns of `df` that hold the
            driving parent's context (joined in by relational fitting); the model is conditioned
            on them and they are not part of the table's output.
        catalog_table: Catalog metadata table that lists the model versions.
        extra_manifest: More JSON-able facts stored in the model's manifest.
        **model_kwargs: Passed to the backend's constructor.

    Returns:
        The registry entry of the new model version.
    """
    from pyspark_synth.models.base import get_backend

    seed = resolve_seed(seed)
    ctx_map = dict(context_columns or {})
    data_df = df.drop(*ctx_map) if ctx_map else df
    tbl = resolve_table(data_df, table, metadata)
    spark = df.sparkSession
    reg = registry_for(spark, registry)
    data_df = data_df.select(*[f"`{c}`" for c in tbl.column_names])
    stats = table_stats(data_df, tbl)
    if stats["row_count"] == 0:
        if not empty_ok:
            raise DataError(f"Table '{tbl.name}' has no rows: there is nothing to learn from. Fit it once it has data "
                            "(within a database, fit_database keeps an empty table as an empty table)")
        # an empty table of a database (northwind's customer_demographics): no model, and its
        # synthetic copy is empty with the same schema
        return _store(reg, tbl, data_df, stats, b"", EMPTY_BACKEND, 0, [], [], seed=seed, extra_manifest=extra_manifest,
                      catalog_table=catalog_table)
    full = df.select(*[f"`{c}`" for c in tbl.column_names + list(ctx_map)])
    both = training_sample(full, stats["row_count"], sample_rows, derive_seed(seed, tbl.name, "sample"))
    pdf = both[tbl.column_names]
    ctx = both[list(ctx_map)].rename(columns=ctx_map).reset_index(drop=True) if ctx_map else None
    kwargs = dict(model_kwargs)
    if epochs is not None:
        kwargs["epochs"] = epochs
    if batch_size is not None:
        kwargs["batch_size"] = batch_size
    model_cls = get_backend(backend)
    _log.info("fitting table", table=tbl.name, backend=backend, rows=stats["row_count"], training_rows=len(pdf), seed=seed)
    model = model_cls(tbl, seed=derive_seed(seed, tbl.name, "model"), **kwargs)
    model.fit(pdf, context=ctx) if ctx is not None else model.fit(pdf)
    key_specs = [
        learn_key_spec(c, tbl.column(c).sql_type, pdf[c], salt=tbl.name, minimum=stats["columns"][c].get("min")).to_dict()
        for c in tbl.generated_key_columns
    ]
    from pyspark_synth.models.text import text_specs

    return _store(reg, tbl, data_df, stats, model.to_bytes(), backend, len(pdf), key_specs, text_specs(tbl, pdf), seed=seed,
                  extra_manifest=extra_manifest, catalog_table=catalog_table)


def _store(reg: ModelRegistry, tbl: Table, data_df: DataFrame, stats: dict[str, Any], model_bytes: bytes, backend: str,
           training_rows: int, key_specs: list[dict[str, Any]], texts: list[dict[str, Any]], *, seed: int,
           extra_manifest: dict[str, Any] | None, catalog_table: str | None) -> ModelEntry:
    """Save a table's model (or, for an empty table, no model) as a new registry version and list it."""
    from pyspark_synth.io.catalog import write_records

    entry = reg.save(
        tbl.name,
        model_bytes,
        backend=backend,
        row_count=stats["row_count"],
        training_rows=training_rows,
        columns=tbl.column_names,
        spark_schema=data_df.schema.json(),
        seed=seed,
        extra={"keys": key_specs, "text": texts, "table": tbl.model_dump(mode="json"), "stats": json.loads(json.dumps(stats, default=str)),
               **(extra_manifest or {})},
    )
    _index_model(data_df.sparkSession, entry, catalog_table, reg, write_records)
    _log.info("fitted table", table=tbl.name, backend=backend, version=entry.version, path=entry.path)
    return entry


def _index_model(spark: Any, entry: ModelEntry, catalog_table: str | None, reg: ModelRegistry, write_records: Any) -> None:
    from datetime import datetime, timezone

    row = {
        "metadata_name": reg.namespace, "record_type": "model", "table_name": entry.table,
        "column_name": None, "position": entry.version, "sql_type": None, "semantic_type": entry.backend,
        "nullable": None, "primary_key": None, "pii_kind": None, "pii_action": None,
        "detail": json.dumps({"version": entry.version, "path": entry.path, "fitted_at": entry.fitted_at,
                              "row_count": entry.row_count, "training_rows": entry.training_rows,
                              "columns": entry.columns, "backend": entry.backend, "seed": entry.seed}),
        "library_version": entry.library_version, "updated_at": datetime.now(timezone.utc).replace(tzinfo=None),
    }
    write_records(spark, [row], catalog_table)

