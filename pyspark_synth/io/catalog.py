"""The catalog metadata table: metadata and the model registry index as rows of a Spark catalog table."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pyspark_synth._version import __version__
from pyspark_synth.errors import MetadataError
from pyspark_synth.io.names import parse_table_name, quote_identifier
from pyspark_synth.metadata import (
    Column,
    Constraint,
    ForeignKey,
    Metadata,
    PIIRule,
    Table,
    format_validation_error,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "CATALOG_SCHEMA",
    "CONF_CATALOG_TABLE",
    "DEFAULT_CATALOG_TABLE",
    "catalog_table_name",
    "load_metadata",
    "metadata_to_rows",
    "rows_to_metadata",
    "save_metadata",
    "read_records",
    "write_records",
]

CONF_CATALOG_TABLE = "spark.synth.catalogTable"
DEFAULT_CATALOG_TABLE = "synth_metadata"

# One row per table, per column, per foreign key and per fitted model version.
CATALOG_SCHEMA = (
    "metadata_name STRING, record_type STRING, table_name STRING, column_name STRING, position INT, "
    "sql_type STRING, semantic_type STRING, nullable BOOLEAN, primary_key STRING, "
    "pii_kind STRING, pii_action STRING, detail STRING, library_version STRING, updated_at TIMESTAMP"
)
_FIELDS = [f.strip().split(" ")[0] for f in CATALOG_SCHEMA.split(",")]
_METADATA_RECORDS = ("table", "column", "foreign_key")


def catalog_table_name(spark: SparkSession, table: str | None = None) -> str:
    """The catalog table to use: the argument, else the `spark.synth.catalogTable` conf, else the default.

    The name may have three parts and quoted parts; it is checked by `io.names.parse_table_name`
    (the package's one rule for table names) and returned as given.
    """
    name = table or spark.conf.get(CONF_CATALOG_TABLE, DEFAULT_CATALOG_TABLE) or DEFAULT_CATALOG_TABLE
    parse_table_name(name, what="catalog metadata table name")
    return name


def metadata_to_rows(metadata: Metadata, name: str = "default") -> list[dict[str, Any]]:
    """Flatten metadata into catalog rows (plain dicts with the CATALOG_SCHEMA fields)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    base = {f: None for f in _FIELDS} | {"metadata_name": name, "library_version": __version__, "updated_at": now}
    rows: list[dict[str, Any]] = []
    for t_pos, t in enumerate(metadata.tables.values()):
        detail = {"parent_context_cols": list(t.parent_context_cols) if t.parent_context_cols is not None else None,
                  "driving_parent": t.driving_parent}
        rows.append(base | {"record_type": "table", "table_name": t.name, "position": t_pos,
                            "primary_key": ",".join(t.primary_key) or None, "detail": json.dumps(detail)})
        for pos, c in enumerate(t.columns):
            con = t.constraints.get(c.name)
            pii = c.pii.model_dump(mode="json", exclude={"action", "kind"}) if c.pii else None
            rows.append(base | {
                "record_type": "column", "table_name": t.name, "column_name": c.name, "position": pos,
                "sql_type": c.sql_type, "semantic_type": c.type, "nullable": c.nullable,
                "pii_kind": c.pii.kind if c.pii else None, "pii_action": c.pii.action if c.pii else None,
                "detail": json.dumps({"constraint": con.model_dump(mode="json", exclude_none=True) if con else None,
                                      "pii": pii}),
            })
        for pos, fk in enumerate(t.foreign_keys):
            rows.append(base | {
                "record_type": "foreign_key", "table_name": t.name, "column_name": ",".join(fk.columns),
                "position": pos, "detail": json.dumps({"parent_table": fk.parent_table,
                                                       "parent_columns": list(fk.parent_columns),
                                                       "on_orphan": fk.on_orphan}),
            })
    return rows


def rows_to_metadata(rows: list[dict[str, Any]], *, validate: bool = True) -> Metadata:
    """Rebuild metadata from catalog rows (as written by `metadata_to_rows`, possibly edited with SQL)."""
    tables: dict[str, dict[str, Any]] = {}
    ordered = sorted(rows, key=lambda r: (r["record_type"] != "table", r.get("position") or 0))
    for r in ordered:
        kind, tname = r["record_type"], r["table_name"]
        where = f"catalog row ({kind}, table '{tname}', column '{r.get('column_name')}')"
        try:
            detail = json.loads(r["detail"]) if r.get("detail") else {}
        except json.JSONDecodeError as exc:
            raise MetadataError(f"{where}: the detail column is not valid JSON ({exc}). Fix it with SQL UPDATE.") from exc
        if kind == "table":
            tables[tname] = {"name": tname, "pos": r.get("position") or 0, "columns": [], "fks": [],
                             "constraints": {},
                             "primary_key": tuple(x.strip() for x in r["primary_key"].split(",")) if r.get("primary_key") else (),
                             "parent_context_cols": tuple(detail["parent_context_cols"]) if detail.get("parent_context_cols") is not None else None,
                             "driving_parent": detail.get("driving_parent")}
            continue
        if tname not in tables:
            raise MetadataError(f"{where}: there is no 'table' row for table '{tname}'. Insert one or delete the row.")
        t = tables[tname]
        try:
            if kind == "column":
                pii = None
                if r.get("pii_action"):
                    pii = PIIRule(action=r["pii_action"], kind=r.get("pii_kind"), **(detail.get("pii") or {}))
                t["columns"].append((r.get("position") or 0, Column(
                    name=r["column_name"], type=r["semantic_type"], sql_type=r.get("sql_type"),
                    nullable=bool(r["nullable"]) if r.get("nullable") is not None else True, pii=pii)))
                if detail.get("constraint"):
                    t["constraints"][r["column_name"]] = Constraint(**detail["constraint"])
            elif kind == "foreign_key":
                t["fks"].append((r.get("position") or 0, ForeignKey(
                    columns=tuple(x.strip() for x in r["column_name"].split(",")),
                    parent_table=detail["parent_table"], parent_columns=tuple(detail["parent_columns"]),
                    on_orphan=detail.get("on_orphan", "null"))))
        except (ValueError, KeyError, TypeError) as exc:
            raise MetadataError(f"{where} is not valid: {format_validation_error(exc)}") from exc
    md = Metadata()
    for t in sorted(tables.values(), key=lambda t: t["pos"]):
        try:
            table = Table(name=t["name"], columns=tuple(c for _, c in sorted(t["columns"], key=lambda x: x[0])),
                          primary_key=t["primary_key"], foreign_keys=tuple(f for _, f in sorted(t["fks"], key=lambda x: x[0])),
                          constraints=t["constraints"], parent_context_cols=t["parent_context_cols"],
                          driving_parent=t["driving_parent"])
        except ValueError as exc:
            raise MetadataError(f"Catalog metadata for table '{t['name']}' is not valid: {format_validation_error(exc)}") from exc
        md.tables = {**md.tables, table.name: table}
    return md.validate() if validate else md


def error_condition(exc: BaseException) -> str:
    """The error class of a Spark error (`TABLE_OR_VIEW_NOT_FOUND`, ...), classic or Connect; '' if none."""
    get = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)
    try:
        return str(get() or "") if callable(get) else ""
    except Exception:  # noqa: BLE001 - not a Spark error after all
        return ""


def _spark_error(exc: BaseException) -> bool:
    try:
        from pyspark.errors import PySparkException
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, PySparkException)


def default_location(spark: SparkSession, table: str) -> str | None:
    """Where the session catalog keeps a managed table of this name (a URI), or None.

    Read from the catalog (`DESCRIBE NAMESPACE EXTENDED`), not from the driver's disk, so it is
    right on any storage and over Spark Connect. None for a table of another catalog (which manages
    its own locations) or a namespace that does not exist.
    """
    name = parse_table_name(table, what="catalog table name")
    parts = name.parts
    if len(parts) > 3 or (len(parts) == 3 and parts[0].lower() != "spark_catalog"):
        return None
    if len(parts) == 1 and spark.catalog.currentCatalog().lower() != "spark_catalog":
        return None
    db = parts[-2] if len(parts) >= 2 else spark.catalog.currentDatabase()
    try:
        rows = spark.sql(f"DESCRIBE NAMESPACE EXTENDED spark_catalog.{quote_identifier(db)}").collect()
    except Exception as exc:  # noqa: BLE001 - a namespace that does not exist has no location
        if _spark_error(exc):
            return None
        raise
    info = {str(r[0]).strip().lower(): r[1] for r in rows}
    base = info.get("location")
    if not base:
        return None
    return str(base).rstrip("/") + "/" + parts[-1].lower()


def files_at(spark: SparkSession, location: str, pattern: str | None = None, limit: int = 1) -> list[str]:
    """Up to `limit` files under `location` (recursively; names matching `pattern`), listed by Spark.

    Spark lists them (the `binaryFile` source, contents not read), so it works on any storage the
    session can read and over Spark Connect. A location that does not exist has no files.
    """
    reader = spark.read.format("binaryFile").option("recursiveFileLookup", "true")
    if pattern:
        reader = reader.option("pathGlobFilter", pattern)
    try:
        # the location twice: Spark then skips its streaming-sink check, which logs a warning with a
        # stack trace for a path that does not exist
        rows = reader.load([location, location]).select("path").limit(2 * limit).collect()
        return list(dict.fromkeys(r[0] for r in rows))[:limit]
    except Exception as exc:  # noqa: BLE001 - PATH_NOT_FOUND and the like: nothing there
        if _spark_error(exc):
            return []
        raise


def register_existing(spark: SparkSession, table: str, schema: str, *, partitioned_by: tuple[str, ...] = ()) -> bool:
    """Register again a table whose Parquet files an earlier session left at its managed location.

    A catalog without a metastore (the in-memory one) forgets its tables when the application
    ends; their files stay in the warehouse. Registering them at that location lets a new session
    on the same warehouse read (and add to) what an earlier one wrote. Returns True when the table
    was registered (its partitions recovered).
    """
    loc = default_location(spark, table)
    if loc is None or not files_at(spark, loc, "*.parquet"):
        return False
    sql_name = parse_table_name(table).sql
    parts = f" PARTITIONED BY ({', '.join(quote_identifier(c) for c in partitioned_by)})" if partitioned_by else ""
    loc_sql = loc.replace("\\", "\\\\").replace("'", "\\'")
    try:
        spark.sql(f"CREATE TABLE IF NOT EXISTS {sql_name} ({schema}) USING parquet{parts} LOCATION '{loc_sql}'")
    except Exception as exc:  # noqa: BLE001 - another session registered it meanwhile
        if not (_spark_error(exc) and spark.catalog.tableExists(sql_name)):
            raise
    if partitioned_by:
        spark.sql(f"ALTER TABLE {sql_name} RECOVER PARTITIONS")
    return True


def _table_exists(spark: SparkSession, table: str) -> bool:
    """True when the table is in the catalog. A table left in the warehouse by an earlier session
    whose catalog did not persist (no Hive metastore) is registered again at its location, so the
    metadata survives a new SparkSession on the same warehouse either way."""
    if spark.catalog.tableExists(parse_table_name(table).sql):
        return True
    return register_existing(spark, table, CATALOG_SCHEMA)


def read_records(spark: SparkSession, table: str | None = None, *, record_types: tuple[str, ...] | None = None,
                 name: str | None = None) -> list[dict[str, Any]]:
    """Read catalog rows (optionally only some record types or one metadata name) to the driver."""
    from pyspark.sql import functions as F

    tname = catalog_table_name(spark, table)
    if not _table_exists(spark, tname):
        return []
    df = spark.read.table(parse_table_name(tname).sql)
    if record_types:
        df = df.where(F.col("record_type").isin(list(record_types)))
    if name is not None:
        df = df.where(F.col("metadata_name") == name)
    return [r.asDict() for r in df.collect()]


def write_records(spark: SparkSession, rows: list[dict[str, Any]], table: str | None = None, *,
                  replace: tuple[str, ...] = (), name: str | None = None) -> str:
    """Write catalog rows, replacing the existing rows of the given record types (for `name`).

    The small table is read to the driver, merged and written back whole, so it also works on
    catalogs without UPDATE/DELETE support.
    """
    tname = catalog_table_name(spark, table)
    existing = read_records(spark, tname)
    kept = [r for r in existing if not (r["record_type"] in replace and (name is None or r["metadata_name"] == name))]
    all_rows = [{f: r.get(f) for f in _FIELDS} for r in kept + rows]
    df = spark.createDataFrame(all_rows, schema=CATALOG_SCHEMA) if all_rows else spark.createDataFrame([], CATALOG_SCHEMA)
    sql_name = parse_table_name(tname).sql
    if _table_exists(spark, tname):
        df.write.insertInto(sql_name, overwrite=True)  # keeps the table (and its location) in place
    else:
        df.write.mode("overwrite").saveAsTable(sql_name)
    return tname


def save_metadata(spark: SparkSession, metadata: Metadata, table: str | None = None, *, name: str = "default") -> str:
    """Store metadata in the catalog table (one row per table, column and foreign key).

    Args:
        spark: The session whose catalog holds the table.
        metadata: The metadata; validated first.
        table: Catalog table name; defaults to the `spark.synth.catalogTable` conf or 'synth_metadata'.
        name: A name for this metadata set, so one catalog table can hold several databases.

    Returns:
        The catalog table name written.
    """
    metadata.validate()
    return write_records(spark, metadata_to_rows(metadata, name), table, replace=_METADATA_RECORDS, name=name)


def load_metadata(spark: SparkSession, table: str | None = None, *, name: str = "default") -> Metadata:
    """Load and validate the metadata stored under `name` in the catalog table."""
    tname = catalog_table_name(spark, table)
    if not _table_exists(spark, tname):
        raise MetadataError(
            f"Catalog table '{tname}' does not exist. Save metadata first with save_metadata(spark, metadata, "
            f"table='{tname}'), or point {CONF_CATALOG_TABLE} at the right table."
        )
    rows = read_records(spark, tname, record_types=_METADATA_RECORDS, name=name)
    if not rows:
        names = sorted({r["metadata_name"] for r in read_records(spark, tname, record_types=("table",))})
        raise MetadataError(f"Catalog table '{tname}' holds no metadata named '{name}'. Names present: {names}")
    return rows_to_metadata(rows)
