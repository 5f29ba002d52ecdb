"""Fitting one table's model from a Spark DataFrame: Spark statistics, a bounded sample, its spec."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError, MetadataError
from pyspark_synth.io.names import model_name
from pyspark_synth.io.registry import ModelEntry, ModelRegistry, registry_for
from pyspark_synth.metadata import Metadata, Table, type_family
from pyspark_synth.relational.primary_keys import learn_key_spec
from pyspark_synth.seeds import derive_seed, resolve_seed
from pyspark_synth.spec import EMPTY_BACKEND, ColumnStats, TableSpec, TextColumnSpec

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

__all__ = [
    "DEFAULT_SAMPLE_ROWS",
    "EMPTY_BACKEND",
    "fit_table",
    "model_arguments",
    "resolve_table",
    "table_stats",
    "training_sample",
    "uniform_sample",
]

_log = get_logger("fit")
DEFAULT_SAMPLE_ROWS = 200_000
_HASH = "__synth_u"


def resolve_table(df: DataFrame, table: str | None, metadata: Metadata | Table | None) -> Table:
    """The table's metadata, with columns filled from the DataFrame when the metadata has none.

    Raises:
        MetadataError: The metadata's columns and the DataFrame's columns differ.
    """
    from pyspark_synth.spark.metadata_detection import detect_metadata

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


def _row_uniform(df: DataFrame, seed: int) -> Any:
    """A uniform number in [0, 1) per row, a keyed hash of the row's values (not of its position)."""
    from pyspark.sql import functions as F

    h = F.xxhash64(*[F.col(f"`{c}`") for c in df.columns], F.lit(int(seed) & (2**62 - 1)))
    return F.shiftrightunsigned(h, 11).cast("double") / F.lit(float(2**53))


def uniform_sample(df: DataFrame, n: int, row_count: int, seed: int) -> DataFrame:
    """At most `n` rows of `df`, each row equally likely, the same rows however `df` is partitioned.

    Every row gets a uniform number from a keyed hash of its values; the `n` rows with the smallest
    numbers are kept (a filter keeps a little more than `n / row_count` of the rows first, so only
    those are ordered). `sample(fraction).limit(n)` instead favours the first partitions.
    """
    if row_count <= n:
        return df
    frac = min(1.0, (n + 6 * math.sqrt(n) + 20) / row_count)
    u = _row_uniform(df, seed)
    return df.select("*", u.alias(_HASH)).where(f"{_HASH} < {frac!r}").orderBy(_HASH).limit(n).drop(_HASH)


def training_sample(df: DataFrame, row_count: int, sample_rows: int, seed: int) -> pd.DataFrame:
    """At most `sample_rows` rows, drawn uniformly with Spark and brought to the driver.

    The rows are ordered by a keyed hash of their values, so the model sees the same rows in the
    same order whatever the partitioning of `df`.
    """
    import pandas as pd

    pdf = uniform_sample(df, sample_rows, row_count, seed).toPandas()
    if len(pdf) < 2:
        return pdf
    order = pd.util.hash_pandas_object(pdf.astype(str), index=False, hash_key=f"{derive_seed(seed, 'order'):016x}"[:16])
    return pdf.iloc[order.argsort(kind="stable").to_numpy()].reset_index(drop=True)


def model_arguments(backend: str, epochs: int | None, batch_size: int | None,
                    model_kwargs: Mapping[str, Any]) -> tuple[type, dict[str, Any], list[str]]:
    """(model class, constructor arguments, notes) for a fit, checked before any Spark job.

    Raises:
        SynthError: The backend is unknown, or an argument is not one of its parameters.
    """
    from pyspark_synth.models.base import backend_arguments, get_backend

    cls = get_backend(backend)
    kwargs = dict(model_kwargs)
    if epochs is not None:
        kwargs["epochs"] = epochs
    if batch_size is not None:
        kwargs["batch_size"] = batch_size
    args, notes = backend_arguments(backend, cls, kwargs)
    return cls, args, notes


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
    relations: Mapping[str, Any] | None = None,
    extra_manifest: dict[str, Any] | None = None,
    empty_ok: bool = False,
    **model_kwargs: Any,
) -> ModelEntry:
    """Fit one table's model from a Spark DataFrame and store it (with its spec) in the registry.

    Only a bounded uniform sample (`sample_rows`) reaches the driver; row count, null rates and
    key ranges come from Spark aggregations over the full table. The fitted model is stored as a
    new version in the registry and listed in the catalog metadata table.

    Args:
        df: The table's rows.
        table: Table name (required when the metadata has several tables).
        metadata: The database metadata (or the table's); detected from `df` when None.
        backend: Registered model backend name ("ctgan", "copula", or a user's).
        epochs: Training epochs (the backend's default when None; not given to backends that do
            not train in epochs, which the spec's notes then say).
        batch_size: Training batch size (as `epochs`).
        sample_rows: Most rows brought to the driver for training.
        seed: Root seed of the fit (sampling of training rows and the model's training).
        registry: Registry or registry root; defaults to the session's (see `registry_for`).
        context_columns: `{column of df: parent column name}` for columns of `df` that hold the
            driving parent's context (joined in by relational fitting); the model is conditioned
            on them and they are not part of the table's output.
        catalog_table: Catalog metadata table that lists the model versions.
        relations: What relational fitting learned about the table (the `TableSpec` fields
            `context`, `driving`, `secondary`, `self_refs`, `notes`); `fit_database` sets it.
        extra_manifest: Deprecated, ignored except for its "relational" entry (use `relations`).
        empty_ok: Store a table without rows as an empty table instead of refusing it.
        **model_kwargs: The backend's hyper-parameters (a name it does not take is an error).

    Returns:
        The registry entry of the new model version.

    Raises:
        SynthError: Unknown backend or hyper-parameter (before any Spark job).
        DataError: The table has no rows (unless `empty_ok`).
    """
    model_cls, kwargs, notes = model_arguments(backend, epochs, batch_size, model_kwargs)
    relations = dict(relations or {})
    if extra_manifest is not None:
        warnings.warn("fit_table(extra_manifest=...) is deprecated; relational facts go in relations=",
                      DeprecationWarning, stacklevel=2)
    seed = resolve_seed(seed)
    table = model_name(table) if table is not None else None  # 'default.adult' -> 'adult' (io.names)
    ctx_map = dict(context_columns or {})
    data_df = df.drop(*ctx_map) if ctx_map else df
    tbl = resolve_table(data_df, table, metadata)
    reg = registry_for(df.sparkSession, registry)
    data_df = data_df.select(*[f"`{c}`" for c in tbl.column_names])
    stats = table_stats(data_df, tbl)
    base = {"name": tbl.name, "seed": seed, "table": tbl, "spark_schema": data_df.schema.json(),
            "row_count": stats["row_count"],
            "stats": {c: ColumnStats(**json.loads(json.dumps(v, default=str))) for c, v in stats["columns"].items()},
            **relations, "notes": (*relations.get("notes", ()), *notes)}
    if stats["row_count"] == 0:
        if not empty_ok:
            raise DataError(f"Table '{tbl.name}' has no rows: there is nothing to learn from. Fit it once it has data "
                            "(within a database, fit_database keeps an empty table as an empty table)")
        # an empty table of a database (northwind's customer_demographics): no model, and its
        # synthetic copy is empty with the same schema
        spec = TableSpec(backend=EMPTY_BACKEND, training_rows=0, **base)
        return _store(reg, spec, None, data_df.sparkSession, catalog_table)
    full = df.select(*[f"`{c}`" for c in tbl.column_names + list(ctx_map)])
    both = training_sample(full, stats["row_count"], sample_rows, derive_seed(seed, tbl.name, "sample"))
    pdf = both[tbl.column_names]
    ctx = both[list(ctx_map)].rename(columns=ctx_map).reset_index(drop=True) if ctx_map else None
    _log.info("fitting table", table=tbl.name, backend=backend, rows=stats["row_count"], training_rows=len(pdf), seed=seed)
    model = model_cls(tbl, seed=derive_seed(seed, tbl.name, "model"), **kwargs)
    model.fit(pdf, context=ctx) if ctx is not None else model.fit(pdf)
    keys = tuple(learn_key_spec(c, tbl.column(c).sql_type, pdf[c], salt=tbl.name,
                                minimum=stats["columns"][c].get("min")) for c in tbl.generated_key_columns)
    from pyspark_synth.models.text import text_specs

    texts = tuple(TextColumnSpec.model_validate(t) for t in text_specs(tbl, pdf))
    spec = TableSpec(backend=backend, training_rows=len(pdf), keys=keys, text=texts, model=_pending_model(), **base)
    return _store(reg, spec, model.to_bytes(), data_df.sparkSession, catalog_table)


def _pending_model() -> Any:
    """A placeholder model reference; the registry records the archive's real size and digest."""
    from pyspark_synth.spec import ModelReference

    return ModelReference(size=0, sha256="")


def _store(reg: ModelRegistry, spec: TableSpec, model_bytes: bytes | None, spark: Any,
           catalog_table: str | None) -> ModelEntry:
    """Save a table's spec and model (none for an empty table) as a new registry version and list it."""
    from pyspark_synth.io.catalog import write_records

    entry = reg.save(spec, model_bytes)
    _index_model(spark, entry, catalog_table, reg, write_records)
    _log.info("fitted table", table=spec.name, backend=spec.backend, version=entry.version, path=entry.path)
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
