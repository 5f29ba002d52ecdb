"""The SQL procedures (`CALL synth.sample(...)`, ...) as plain Python functions of a session.

Each procedure takes the session and its SQL arguments as keyword arguments and returns a
DataFrame of result rows; `spark.sql.activate` serves them to SQL through the JVM catalog shim.
They are usable from Python as they are (`call_procedure(spark, "sample", table=...)`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError, MetadataError, SynthError
from pyspark_synth.io.names import model_name, parse_table_name, quote_identifier
from pyspark_synth.seeds import resolve_seed

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "CONF_MAX_RESULT_ROWS",
    "DEFAULT_MAX_RESULT_ROWS",
    "PROCEDURES",
    "Procedure",
    "call_procedure",
    "fit",
    "models",
    "sample",
    "validate",
]

_log = get_logger("sql")
CONF_MAX_RESULT_ROWS = "spark.synth.sql.maxResultRows"
DEFAULT_MAX_RESULT_ROWS = 100_000

SAMPLE_RESULT = "table_name STRING, output STRING, num_rows BIGINT, seed BIGINT, model_version INT"
FIT_RESULT = (
    "table_name STRING, source STRING, metadata_name STRING, backend STRING, model_version INT, "
    "row_count BIGINT, training_rows BIGINT, seed BIGINT, path STRING"
)
MODELS_RESULT = (
    "table_name STRING, model_version INT, backend STRING, row_count BIGINT, training_rows BIGINT, "
    "seed BIGINT, fitted_at STRING, path STRING"
)


@dataclass(frozen=True)
class Procedure:
    """A SQL procedure: its parameters (a DDL column list, in positional order) and its function."""

    name: str
    parameters: str
    description: str
    function: Callable[..., DataFrame]

    @property
    def parameter_names(self) -> list[str]:
        """Parameter names in positional order."""
        return [p.strip().split(" ")[0] for p in self.parameters.split(",")]


# --------------------------------------------------------------------------------------------
# helpers


def _split_identifier(name: str, what: str = "table name") -> list[str]:
    """`a.b.c` or `` `a.b`.c `` → its parts (backquotes removed), by the package's one name rule."""
    return list(parse_table_name(name, what=what).parts)


def _quote(parts: list[str]) -> str:
    return ".".join(quote_identifier(p) for p in parts)


def _ensure_namespace(spark: SparkSession, table: str) -> None:
    parts = _split_identifier(table, "output table name")
    if len(parts) >= 2:
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {_quote(parts[:-1])}")


def _format(spark: SparkSession, fmt: str | None) -> str:
    """The output format: the one given, else Delta when Spark can write Delta, else Parquet."""
    from pyspark_synth.io.writers import spark_has_delta

    if fmt:
        fmt = fmt.lower()
        if fmt not in ("delta", "parquet"):
            raise DataError(f"format => '{fmt}' is not supported. Use 'delta' or 'parquet'.")
        return fmt
    return "delta" if spark_has_delta(spark) else "parquet"


def _mode(mode: str | None) -> str:
    mode = (mode or "error").lower()
    if mode in ("errorifexists", "error"):
        return "error"
    if mode != "overwrite":
        raise DataError(f"mode => '{mode}' is not supported. Use 'error' (the default) or 'overwrite'.")
    return mode


def _int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise DataError(f"{name} must be a whole number, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------
# synth.sample


def sample(
    spark: SparkSession,
    *,
    table: str | None = None,
    num_rows: int | None = None,
    seed: int | None = None,
    output: str | None = None,
    tables: str | None = None,
    scale: float | None = None,
    output_schema: str | None = None,
    path: str | None = None,
    format: str | None = None,
    mode: str | None = None,
    version: int | None = None,
    registry: str | None = None,
) -> DataFrame:
    """`CALL synth.sample(...)`: generate one fitted table, or a whole database, and write it.

    One table (`table => 'customers'`): without `output`/`path` the generated rows are the
    result (at most `spark.synth.sql.maxResultRows`); with them the rows are written there and
    the result is one summary row. A database (`tables => '<metadata name>'`): every table of
    that metadata set is generated (parents first, keys consistent) and written as
    `output_schema.<table>` or under `path`; the result has one summary row per table.

    Args:
        spark: The session.
        table: A table fitted with `fit_table` / `CALL synth.fit`.
        num_rows: Rows to generate (one table); defaults to the original row count (times `scale`).
        seed: Root seed; a random one (reported in the result) when None.
        output: Catalog table to write (one table); its namespace is created when missing.
        tables: Name of a metadata set in the catalog metadata table (a whole database).
        scale: Size factor relative to the original tables.
        output_schema: Namespace the database's tables are written to.
        path: Directory to write to instead of a catalog table.
        format: 'delta' or 'parquet'; Delta when Spark can write it, else Parquet.
        mode: 'error' (default: refuse to replace existing data) or 'overwrite'.
        version: Model version (one table); the latest when None.
        registry: Model registry root; defaults to the session's.

    Raises:
        DataError: The arguments do not make sense together.
        NotFittedError: A table has no fitted model.
    """
    from pyspark_synth.io.registry import registry_for

    if (table is None) == (tables is None):
        raise DataError(
            "synth.sample needs either table => '<fitted table>' (one table) or tables => '<metadata name>' "
            "(a whole database), not " + ("both" if table else "neither")
        )
    seed = resolve_seed(_int(seed, "seed"))
    num_rows = _int(num_rows, "num_rows")
    fmt, wmode = _format(spark, format), _mode(mode)
    if scale is not None and not scale > 0:
        raise DataError(f"scale must be greater than 0, got {scale}")
    reg = registry_for(spark, registry)
    if tables is not None:
        return _sample_database(spark, tables, num_rows=num_rows, scale=scale, seed=seed, output_schema=output_schema,
                                path=path, fmt=fmt, mode=wmode, registry=reg, output=output)
    if output_schema is not None:
        raise DataError("output_schema is for whole databases (tables => ...); for one table use output => 'schema.table'")
    from pyspark_synth.io.writers import write_table
    from pyspark_synth.spark.sample_table import sample_table

    table = model_name(table)  # 'default.adult' and '`adult`' name the model 'adult', as fit stores it
    entry = reg.get(table, _int(version, "version"))
    if num_rows is None and scale is not None:
        num_rows = max(0, round(entry.row_count * scale))
    n = entry.row_count if num_rows is None else num_rows
    df = sample_table(spark, table, n, seed=seed, registry=reg, entry=entry)
    if output is None and path is None:
        limit = int(spark.conf.get(CONF_MAX_RESULT_ROWS, None) or DEFAULT_MAX_RESULT_ROWS)
        if n > limit:
            raise DataError(
                f"synth.sample without output returns the rows to the caller, and {n} rows is more than "
                f"{CONF_MAX_RESULT_ROWS}={limit}. Pass output => 'schema.table' (or path => '...') to write them, "
                f"or query SELECT * FROM synth_sample('{table}', {n}, {seed})."
            )
        return df
    if output is not None and path is not None:
        raise DataError("Give output => 'schema.table' or path => '/dir', not both")
    if output is not None:
        _ensure_namespace(spark, output)
        written = write_table(df, table=output, format=fmt, mode=wmode)
    else:
        written = write_table(df, path, format=fmt, mode=wmode)
    _log.info("sql sample", table=table, output=written, rows=n, seed=seed)
    return spark.createDataFrame([(table, written, n, seed, entry.version)], SAMPLE_RESULT)


def _sample_database(spark: SparkSession, name: str, *, num_rows: int | None, scale: float | None, seed: int,
                     output_schema: str | None, path: str | None, fmt: str, mode: str, registry: Any,
                     output: str | None) -> DataFrame:
    from pyspark_synth.io.catalog import load_metadata
    from pyspark_synth.io.writers import write_tables

    if output is not None:
        raise DataError("output => ... is for one table; for a database use output_schema => 'schema' (or path => '/dir')")
    if (output_schema is None) == (path is None):
        raise DataError(
            f"synth.sample(tables => '{name}') writes every table: give output_schema => '<schema>' "
            "(tables become <schema>.<table>) or path => '/dir', exactly one of them"
        )
    from pyspark_synth.spark.sample_database import sample_database
    metadata = load_metadata(spark, name=name)
    sizes = None
    if num_rows is not None:  # one size for every root table (children get theirs from their parents)
        from pyspark_synth.relational.plan import build_plan

        sizes = dict.fromkeys(build_plan(metadata).roots, num_rows)
    frames = sample_database(spark, metadata, sizes, scale=scale, seed=seed, registry=registry)
    if output_schema is not None:
        _ensure_namespace(spark, f"{output_schema}.x")
    written = write_tables(frames, path, catalog_schema=output_schema, format=fmt, mode=mode)
    rows = []
    for t, target in written.items():
        reader = spark.read.table(target) if output_schema is not None else spark.read.format(fmt).load(target)
        version = registry.get(t).version
        rows.append((t, target, reader.count(), seed, version))
    _log.info("sql sample database", metadata=name, tables=list(written), seed=seed)
    return spark.createDataFrame(rows, SAMPLE_RESULT)


# --------------------------------------------------------------------------------------------
# synth.fit


def _metadata_for(spark: SparkSession, model_table: str, names: list[str], explicit: bool) -> tuple[str | None, Any]:
    """The first metadata set among `names` that describes `model_table` (or (None, None))."""
    from pyspark_synth.io.catalog import load_metadata

    for name in names:
        try:
            md = load_metadata(spark, name=name)
        except MetadataError:
            if explicit:
                raise
            continue
        if model_table in md.tables:
            return name, md
        if explicit:
            raise MetadataError(
                f"Metadata '{name}' has no table '{model_table}'. Its tables: {sorted(md.tables)}. "
                "Pass name => '<table in the metadata>' or another metadata => '...'."
            )
    return None, None


def fit(
    spark: SparkSession,
    *,
    table: str | None = None,
    metadata: str | None = None,
    name: str | None = None,
    backend: str | None = None,
    epochs: int | None = None,
    seed: int | None = None,
    sample_rows: int | None = None,
    tables: str | None = None,
    source_schema: str | None = None,
    registry: str | None = None,
    pii: str | None = None,
    on_duplicate_key: str | None = None,
    copy_lookups: str | None = None,
) -> DataFrame:
    """`CALL synth.fit(...)`: fit a catalog table (or a whole database) and store the model(s).

    One table (`table => 'shop.customers'`): the rows are read from that catalog table; the
    model is stored under `name` (default: the last part of the table name, 'customers').
    Its metadata comes from the catalog metadata table: the set named `metadata`, else the
    set named after the table's schema ('shop') or 'default' when it describes the table,
    else it is detected from the data. A database (`tables => 'shop'`): every table of
    metadata set 'shop' is read from `source_schema.<table>` (default schema: 'shop') and
    fitted parents first. The PII rules of the metadata are applied before fitting, and columns
    without a rule that look like PII follow `pii` ('suggest', the default, 'strict' or 'ignore';
    see `spark.privacy_step`); the HMAC key of hash rules comes from the Spark conf
    `spark.synth.hmacKey` (or $PYSPARK_SYNTH_HMAC_KEY). `on_duplicate_key => 'refuse'` stops the fit when a primary key
    has null or repeated values; the default 'drop' drops those rows, keeping one per value (see
    `fit_database`). `copy_lookups` (a database only) says which lookup tables are copied as they
    are: 'true' (the default: any the rule finds), 'false' (none) or their names, comma-separated.

    Raises:
        DataError: The arguments do not make sense together, or a primary key breaks
            `on_duplicate_key => 'refuse'`.
        MetadataError: The named metadata set does not exist or does not describe the table.
    """
    from pyspark_synth.io.registry import registry_for

    if (table is None) == (tables is None):
        raise DataError(
            "synth.fit needs either table => '<catalog table>' (one table) or tables => '<metadata name>' "
            "(a whole database), not " + ("both" if table else "neither")
        )
    kwargs: dict[str, Any] = {"seed": resolve_seed(_int(seed, "seed")), "registry": registry_for(spark, registry)}
    if backend:
        kwargs["backend"] = backend
    if epochs is not None:
        kwargs["epochs"] = _int(epochs, "epochs")
    if sample_rows is not None:
        kwargs["sample_rows"] = _int(sample_rows, "sample_rows")
    if pii is not None:
        from pyspark_synth.spark.privacy_step import check_pii_mode

        kwargs["pii"] = check_pii_mode(pii, "synth.fit")
    if on_duplicate_key is not None:
        from pyspark_synth.validation.integrity import check_key_policy

        kwargs["on_duplicate_key"] = check_key_policy(on_duplicate_key, "synth.fit: on_duplicate_key")
    if copy_lookups is not None:
        if tables is None:
            raise DataError("synth.fit: copy_lookups applies to a database (tables => '<metadata name>'); a single "
                            "table => ... fit copies no lookup table. Leave copy_lookups out.")
        kwargs["copy_lookups"] = _copy_lookups(copy_lookups)
    if tables is not None:
        return _fit_database(spark, tables, source_schema, kwargs)
    from pyspark_synth.spark.fit_table import fit_table

    parts = _split_identifier(table)
    model_table = model_name(name) if name else parts[-1]
    if metadata is not None:
        md_name, md = _metadata_for(spark, model_table, [metadata], explicit=True)
    else:
        candidates = ([parts[-2]] if len(parts) >= 2 else []) + ["default"]
        md_name, md = _metadata_for(spark, model_table, list(dict.fromkeys(candidates)), explicit=False)
    df = spark.read.table(parse_table_name(table).sql)
    entry = fit_table(df, table=model_table, metadata=md, **kwargs)
    return spark.createDataFrame(
        [(entry.table, table, md_name, entry.backend, entry.version, entry.row_count, entry.training_rows,
          entry.seed, entry.path)],
        FIT_RESULT,
    )


def _copy_lookups(value: Any) -> bool | list[str]:
    """`copy_lookups => 'true' | 'false' | 'a, b'` as `fit_database` takes it."""
    text = str(value).strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise DataError(f"synth.fit: copy_lookups => {value!r}: give 'true', 'false' or table names separated by commas")
    return names


def _fit_database(spark: SparkSession, name: str, source_schema: str | None, kwargs: dict[str, Any]) -> DataFrame:
    from pyspark_synth.io.catalog import load_metadata
    from pyspark_synth.spark.fit_database import fit_database
    md = load_metadata(spark, name=name)
    schema = source_schema or name
    sources = {t: f"{_quote(_split_identifier(schema))}.{_quote([t])}" for t in md.tables}
    report = fit_database(spark, md, {t: spark.read.table(src) for t, src in sources.items()}, **kwargs)
    rows = [(e.table, sources[t], name, e.backend, e.version, e.row_count, e.training_rows, e.seed, e.path)
            for t, e in report.entries.items()]
    return spark.createDataFrame(rows, FIT_RESULT)


# --------------------------------------------------------------------------------------------
# synth.validate and synth.models


def validate(
    spark: SparkSession,
    *,
    real: str | None = None,
    synthetic: str | None = None,
    metadata: str | None = None,
    table: str | None = None,
    tables: str | None = None,
    real_schema: str | None = None,
    synthetic_schema: str | None = None,
) -> DataFrame:
    """`CALL synth.validate(...)`: compare synthetic with real data; one row per metric.

    One table: `real => 'shop.customers', synthetic => 'sandbox.customers_synth'`, with the
    metadata set `metadata` (table `table`, default: the real table's last name part) when
    given. A database: `tables => '<metadata name>', real_schema => ..., synthetic_schema => ...`.
    """
    from pyspark_synth.io.catalog import load_metadata
    from pyspark_synth.validation.validate import validate as run_validation

    if tables is not None:
        if not (real_schema and synthetic_schema):
            raise DataError("synth.validate(tables => ...) needs real_schema => '...' and synthetic_schema => '...'")
        md = load_metadata(spark, name=tables)
        real_frames = {t: spark.read.table(f"{_quote(_split_identifier(real_schema))}.`{t}`") for t in md.tables}
        synth_frames = {t: spark.read.table(f"{_quote(_split_identifier(synthetic_schema))}.`{t}`") for t in md.tables}
        result = run_validation(real_frames, synth_frames, md)
        return result.to_dataframe(spark)
    if not (real and synthetic):
        raise DataError("synth.validate needs real => '<table>' and synthetic => '<table>' (or tables => '<metadata name>')")
    md = None
    if metadata is not None:
        name = table or _split_identifier(real)[-1]
        full = load_metadata(spark, name=metadata)
        if name not in full.tables:
            raise MetadataError(f"Metadata '{metadata}' has no table '{name}'. Its tables: {sorted(full.tables)}. "
                                "Pass table => '<table in the metadata>'.")
        md = full.model_copy(update={"tables": {name: full.tables[name]}}) if len(full.tables) > 1 else full
        result = run_validation({name: spark.read.table(parse_table_name(real).sql)},
                                {name: spark.read.table(parse_table_name(synthetic).sql)}, md)
    else:
        result = run_validation(spark.read.table(parse_table_name(real).sql), spark.read.table(parse_table_name(synthetic).sql))
    return result.to_dataframe(spark)


def models(spark: SparkSession, *, table: str | None = None, registry: str | None = None) -> DataFrame:
    """`CALL synth.models()`: the fitted models in the registry (every version, or one table's)."""
    from pyspark_synth.io.registry import registry_for

    reg = registry_for(spark, registry)
    rows = [(r["table"], r["version"], r["backend"], r["row_count"], r["training_rows"], r["seed"], r["fitted_at"], r["path"])
            for r in reg.listing(table)]
    return spark.createDataFrame(rows, MODELS_RESULT)


PROCEDURES: dict[str, Procedure] = {
    p.name: p
    for p in (
        Procedure(
            "sample",
            "table STRING, num_rows BIGINT, seed BIGINT, output STRING, tables STRING, scale DOUBLE, "
            "output_schema STRING, path STRING, format STRING, mode STRING, version INT, registry STRING",
            "Generate a fitted table (table => ...) or database (tables => ...); write it to output / output_schema",
            sample,
        ),
        Procedure(
            "fit",
            "table STRING, metadata STRING, name STRING, backend STRING, epochs INT, seed BIGINT, "
            "sample_rows BIGINT, tables STRING, source_schema STRING, registry STRING, pii STRING, on_duplicate_key STRING, "
            "copy_lookups STRING",
            "Fit a catalog table (table => ...) or a database (tables => ...) and store the models",
            fit,
        ),
        Procedure(
            "validate",
            "real STRING, synthetic STRING, metadata STRING, table STRING, tables STRING, "
            "real_schema STRING, synthetic_schema STRING",
            "Compare a synthetic table (or database) with the real one; one row per metric",
            validate,
        ),
        Procedure("models", "table STRING, registry STRING", "List the fitted models in the registry", models),
    )
}


def call_procedure(spark: SparkSession, name: str, args: Mapping[str, Any] | None = None, **kwargs: Any) -> DataFrame:
    """Run procedure `name` with SQL-style arguments; the same code path as `CALL synth.<name>`.

    Raises:
        SynthError: `name` is not a procedure, or an argument is not one of its parameters.
    """
    proc = PROCEDURES.get(name.lower())
    if proc is None:
        raise SynthError(f"Unknown procedure synth.{name}. Procedures: {sorted(PROCEDURES)}")
    given = {**(args or {}), **kwargs}
    unknown = sorted(set(given) - set(proc.parameter_names))
    if unknown:
        raise SynthError(f"synth.{name} has no parameter(s) {unknown}. Parameters: {proc.parameter_names}")
    return proc.function(spark, **{k: v for k, v in given.items() if v is not None})
