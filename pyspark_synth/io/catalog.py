"""The catalog metadata table: metadata and the model registry index as rows of a Spark catalog table."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pyspark_synth._version import __version__
from pyspark_synth.errors import ForeignKeyError, MetadataError
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
    "RECORD_TYPES",
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
# every record type a catalog table holds: the metadata's, and 'model' (the registry index)
RECORD_TYPES: tuple[str, ...] = (*_METADATA_RECORDS, "model")
_COMMON_FIELDS = {"metadata_name", "record_type", "table_name", "library_version", "updated_at"}
# the fields each metadata record type reads (a value in another field would be ignored)
_READ_FIELDS = {
    "table": {"position", "primary_key", "detail"},
    "column": {"column_name", "position", "sql_type", "semantic_type", "nullable", "pii_kind", "pii_action", "detail"},
    "foreign_key": {"column_name", "position", "detail"},
    "model": set(_FIELDS),
}
_DETAIL_KEYS = {
    "table": {"parent_context_cols", "driving_parent"},
    "column": {"constraint", "pii"},
    "foreign_key": {"parent_table", "parent_columns", "on_orphan"},
}


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


def _where(r: dict[str, Any]) -> str:
    """The row, as a user finds it with SQL: its record type, table and (not for 'table' rows) column."""
    if r.get("record_type") == "table" and r.get("column_name") is None:
        return f"catalog row (table, table '{r.get('table_name')}')"
    return f"catalog row ({r.get('record_type')}, table '{r.get('table_name')}', column '{r.get('column_name')}')"


def _column_names(value: Any, where: str, field: str) -> tuple[str, ...]:
    """Comma-separated column names of a catalog field, each one non-empty."""
    if not isinstance(value, str):
        raise MetadataError(f"{where}: {field} must be comma-separated column names, got {value!r}")
    parts = tuple(x.strip() for x in value.split(","))
    if any(not x for x in parts):
        raise MetadataError(f"{where}: {field} {value!r} has an empty column name (write the columns separated by "
                            "single commas, e.g. 'origin,time_hour')")
    return parts


def _name_list(detail: dict[str, Any], key: str, where: str, *, empty_ok: bool = False) -> tuple[str, ...]:
    """A JSON list of column names in a row's detail."""
    value = detail[key]
    if not isinstance(value, list) or not (value or empty_ok) or not all(isinstance(x, str) and x.strip() for x in value):
        raise MetadataError(f"{where}: detail '{key}' must be a {'' if empty_ok else 'non-empty '}JSON list of column "
                            f'names, e.g. ["customer_id"], got {json.dumps(value)}')
    return tuple(value)


def _check_row(r: dict[str, Any]) -> dict[str, Any]:
    """The row's parsed detail, after the checks that need only the row itself."""
    kind, where = r.get("record_type"), _where(r)
    if kind == "model":
        return {}  # the registry index: read by the registry, not part of the metadata
    tname = r.get("table_name")
    if not isinstance(tname, str) or not tname.strip():
        raise MetadataError(f"{where}: table_name is empty. Every catalog row names its table; fix or delete the row.")
    unread = sorted(f for f in _FIELDS if r.get(f) is not None and f not in _COMMON_FIELDS | _READ_FIELDS[kind])
    if unread:
        hint = (f" (the primary key is the primary_key of the 'table' row of '{tname}')"
                if "primary_key" in unread else "")
        raise MetadataError(
            f"{where}: {unread} {'is' if len(unread) == 1 else 'are'} set, but a '{kind}' row does not read "
            f"{'it' if len(unread) == 1 else 'them'}{hint}; it reads {sorted(_READ_FIELDS[kind])}. "
            "Set the value where it is read and NULL here."
        )
    try:
        detail = json.loads(r["detail"]) if r.get("detail") else {}
    except json.JSONDecodeError as exc:
        raise MetadataError(f"{where}: the detail column is not valid JSON ({exc}). Fix it with SQL UPDATE.") from exc
    if not isinstance(detail, dict):
        raise MetadataError(f"{where}: the detail column must be a JSON object, got {json.dumps(detail)}")
    unknown = sorted(set(detail) - _DETAIL_KEYS[kind])
    if unknown:
        raise MetadataError(f"{where}: detail has unknown key(s) {unknown}; a '{kind}' row's detail takes "
                            f"{sorted(_DETAIL_KEYS[kind])}")
    if kind != "table" and not r.get("column_name"):
        what = "the column's name" if kind == "column" else "the child columns, comma-separated"
        raise MetadataError(f"{where}: column_name ({what}) is empty")
    if kind == "foreign_key":
        for key in ("parent_table", "parent_columns"):
            if detail.get(key) is None:
                raise MetadataError(f"{where}: detail has no '{key}' (a foreign_key row's detail is "
                                    '{"parent_table": "...", "parent_columns": ["..."], "on_orphan": "null"})')
    return detail


def _unique_positions(items: list[tuple[int, str, str]], what: str) -> None:
    """Refuse two rows of one kind (and table) at the same position: their order would be arbitrary."""
    seen: dict[int, str] = {}
    for pos, label, where in items:
        if pos in seen:
            raise MetadataError(
                f"{where}: position {pos} is also the position of {what} {seen[pos]!r}; positions order "
                f"the {what}s, so give each its own (a missing position counts as 0)"
            )
        seen[pos] = label


def rows_to_metadata(rows: list[dict[str, Any]], *, validate: bool = True) -> Metadata:
    """Rebuild metadata from catalog rows (as written by `metadata_to_rows`, possibly edited with SQL).

    'model' rows (the registry index) are skipped. Hand edits are checked row by row and across
    rows before the metadata is built, and each inconsistency is named as what it is: an unknown
    record type (the known ones are listed), a field set on a row type that does not read it,
    two rows for one table or column, two rows at one position, a primary key naming a column
    the table has no row for, a foreign key whose parent has no or another primary key.

    Raises:
        MetadataError: A row, or rows together, are inconsistent (ForeignKeyError for keys).
    """
    unknown = [r for r in rows if r.get("record_type") not in RECORD_TYPES]
    if unknown:
        shown = "; ".join(f"{_where(r)}: record_type {r.get('record_type')!r}" for r in unknown[:5])
        more = f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""
        raise MetadataError(
            f"{len(unknown)} catalog row(s) have a record_type that is not known: {shown}{more}. Known record types: "
            f"{list(RECORD_TYPES)} ('model' rows list fitted models). Fix the record_type or delete the rows."
        )
    tables: dict[str, dict[str, Any]] = {}
    others: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for r in rows:
        detail = _check_row(r)
        if r["record_type"] == "model":
            continue
        if r["record_type"] != "table":
            others.append((r, detail))
            continue
        tname, where = r["table_name"], _where(r)
        if tname in tables:
            raise MetadataError(f"{where}: table '{tname}' has two 'table' rows (positions "
                                f"{tables[tname]['pos']} and {r.get('position') or 0}). Delete one of them.")
        ctx = (_name_list(detail, "parent_context_cols", where, empty_ok=True)
               if detail.get("parent_context_cols") is not None else None)
        tables[tname] = {"name": tname, "pos": r.get("position") or 0, "columns": [], "fks": [], "constraints": {},
                         "primary_key": _column_names(r["primary_key"], where, "primary_key") if r.get("primary_key") else (),
                         "parent_context_cols": ctx, "driving_parent": detail.get("driving_parent"), "where": where}
    for r, detail in others:
        kind, tname, where = r["record_type"], r["table_name"], _where(r)
        if tname not in tables:
            raise MetadataError(f"{where}: there is no 'table' row for table '{tname}'. Insert one or delete the row.")
        t = tables[tname]
        try:
            if kind == "column":
                if any(c.name == r["column_name"] for _, c, _ in t["columns"]):
                    raise MetadataError(f"{where}: table '{tname}' has two 'column' rows for column "
                                        f"'{r['column_name']}'. Delete one of them.")
                pii = None
                if r.get("pii_action"):
                    pii = PIIRule(action=r["pii_action"], kind=r.get("pii_kind"), **(detail.get("pii") or {}))
                elif r.get("pii_kind") or detail.get("pii"):
                    raise MetadataError(f"{where}: pii_kind or a detail 'pii' is set but pii_action is empty, so no rule "
                                        "would apply. Set pii_action (drop, mask, hash, fake, keep or custom) or clear them.")
                t["columns"].append((r.get("position") or 0, Column(
                    name=r["column_name"], type=r["semantic_type"], sql_type=r.get("sql_type"),
                    nullable=bool(r["nullable"]) if r.get("nullable") is not None else True, pii=pii), where))
                if detail.get("constraint"):
                    t["constraints"][r["column_name"]] = Constraint(**detail["constraint"])
            else:
                t["fks"].append((r.get("position") or 0, ForeignKey(
                    columns=_column_names(r["column_name"], where, "column_name"),
                    parent_table=detail["parent_table"], parent_columns=_name_list(detail, "parent_columns", where),
                    on_orphan=detail.get("on_orphan")), where))
        except MetadataError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise MetadataError(f"{where} is not valid: {format_validation_error(exc)}") from exc
    for t in tables.values():
        _unique_positions([(p, c.name, w) for p, c, w in t["columns"]], f"a column of table '{t['name']}'")
        _unique_positions([(p, ",".join(f.columns), w) for p, f, w in t["fks"]], f"a foreign key of table '{t['name']}'")
        names = [c.name for _, c, _ in t["columns"]]
        missing = [c for c in t["primary_key"] if c not in names]
        if names and missing:
            raise MetadataError(
                f"{t['where']}: the primary_key {','.join(t['primary_key'])!r} names column(s) {missing} that table "
                f"'{t['name']}' has no 'column' row for. Its columns: {names}. Fix primary_key on this row, or "
                "insert the column rows."
            )
    _unique_positions([(t["pos"], t["name"], t["where"]) for t in tables.values()], "a table")
    for t in tables.values() if validate else ():
        for _, fk, where in t["fks"]:
            parent = tables.get(fk.parent_table)
            if parent is None:
                raise ForeignKeyError(f"{where}: its parent_table '{fk.parent_table}' has no 'table' row. Known tables: "
                                      f"{sorted(tables)}. Fix parent_table in the detail or insert the table's rows.")
            if set(fk.parent_columns) != set(parent["primary_key"]):
                found = (f"primary_key {','.join(parent['primary_key'])!r}" if parent["primary_key"]
                         else "no primary_key")
                raise ForeignKeyError(
                    f"{where}: references {fk.parent_table}({', '.join(fk.parent_columns)}), but the 'table' row of "
                    f"'{fk.parent_table}' has {found}. A foreign key references its parent's whole primary key: "
                    f"fix parent_columns in this row's detail or primary_key on {parent['where']}."
                )
    md = Metadata()
    for t in sorted(tables.values(), key=lambda t: t["pos"]):
        try:
            table = Table(name=t["name"], columns=tuple(c for _, c, _ in sorted(t["columns"], key=lambda x: x[0])),
                          primary_key=t["primary_key"], foreign_keys=tuple(f for _, f, _ in sorted(t["fks"], key=lambda x: x[0])),
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

    Rows that replace none (`replace` empty: new model versions) are appended to an existing
    table, without reading it (and without losing rows another session appends meanwhile).
    Otherwise the small table is read to the driver, merged and written back whole, so it also
    works on catalogs without UPDATE/DELETE support.
    """
    tname = catalog_table_name(spark, table)
    sql_name = parse_table_name(tname).sql
    if not replace and rows and _table_exists(spark, tname):
        new = spark.createDataFrame([{f: r.get(f) for f in _FIELDS} for r in rows], schema=CATALOG_SCHEMA)
        new.write.insertInto(sql_name, overwrite=False)
        return tname
    existing = read_records(spark, tname)
    kept = [r for r in existing if not (r["record_type"] in replace and (name is None or r["metadata_name"] == name))]
    all_rows = [{f: r.get(f) for f in _FIELDS} for r in kept + rows]
    df = spark.createDataFrame(all_rows, schema=CATALOG_SCHEMA) if all_rows else spark.createDataFrame([], CATALOG_SCHEMA)
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
    """Load and validate the metadata stored under `name` in the catalog table.

    Every row of `name` is read, so a row whose record type is not known (a typo made by a SQL
    edit) is refused rather than left out; see `rows_to_metadata` for the checks.

    Raises:
        MetadataError: The table or the name does not exist, or the rows are inconsistent.
    """
    tname = catalog_table_name(spark, table)
    if not _table_exists(spark, tname):
        raise MetadataError(
            f"Catalog table '{tname}' does not exist. Save metadata first with save_metadata(spark, metadata, "
            f"table='{tname}'), or point {CONF_CATALOG_TABLE} at the right table."
        )
    rows = read_records(spark, tname, name=name)
    if not any(r["record_type"] in _METADATA_RECORDS for r in rows):
        names = sorted({r["metadata_name"] for r in read_records(spark, tname, record_types=("table",))})
        raise MetadataError(f"Catalog table '{tname}' holds no metadata named '{name}'. Names present: {names}")
    return rows_to_metadata(rows)
