"""Delta tables without the Delta jars: Spark's executors write the data files, delta-rs commits them.

A write puts its Parquet files in a fresh directory inside the table (`<table>/synth-<write id>/`, a
non-hidden subdirectory as the Delta protocol asks of data files), so nothing is moved or renamed, and
then commits one Delta version that adds them (and, for `overwrite`, removes the previous files) with
delta-rs's transaction API. The Delta log decides between concurrent writers: a second creator of the
same new table fails, concurrent appends both land, and a table's history and time travel are kept.
Files a writer wrote but did not commit are invisible to every reader; a failed write removes them,
and the next writer removes those of a writer that died (see `leases`).

Timestamps are stored as INT64 microseconds (what the Delta protocol recommends; Spark's default INT96
is read by delta-rs as nanoseconds, which overflow outside 1677-2262). Spark writes INT64 microseconds
only for TIMESTAMP_NTZ unless the session conf says otherwise, and this module never changes the
session conf, so each timestamp column is written as the TIMESTAMP_NTZ holding the same UTC instant
(same microseconds since the epoch); the table's schema keeps the column's Spark type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pyspark_synth._log import get_logger
from pyspark_synth.errors import MissingDependencyError, WriteError
from pyspark_synth.io import leases
from pyspark_synth.io.storage import Location

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

__all__ = ["DATA_DIR_PREFIX", "DELTA_RS_SCHEMES", "LEASE_FILE", "WRITE_ID_KEY", "delta_rs_uri", "open_table",
           "write_delta"]

_log = get_logger("write.delta")
DATA_DIR_PREFIX = "synth-"
LEASE_FILE = "_synth_lease.json"
WRITE_ID_KEY = "pyspark_synth.writeId"
_COMMIT_ATTEMPTS = 8
# URI schemes delta-rs's Python package reaches (object_store and hdfs-native handlers)
DELTA_RS_SCHEMES = frozenset({"file", "s3", "s3a", "gs", "az", "abfs", "abfss", "adl", "azure", "wasb", "wasbs",
                              "hdfs", "viewfs", "lakefs"})


def deltalake() -> Any:
    """The deltalake package, or a MissingDependencyError with its install hint."""
    try:
        import deltalake as dl
    except ImportError as exc:
        raise MissingDependencyError("deltalake", "Delta tables without the Delta jars", extra="delta") from exc
    return dl


def delta_rs_uri(loc: Location, *, error: type[Exception] = WriteError) -> str:
    """The URI delta-rs is given for `loc`; a clear error for schemes only Spark's JVM can reach."""
    if loc.local is not None:
        return loc.local
    if loc.scheme not in DELTA_RS_SCHEMES:
        raise error(
            f"'{loc.uri}': Spark has no Delta classes on this session, so Delta goes through delta-rs, which cannot "
            f"reach the '{loc.scheme}' scheme (a Hadoop FileSystem only Spark's JVM knows; delta-rs reaches "
            f"{sorted(DELTA_RS_SCHEMES)}). Add delta-spark to the session (Spark then reads and writes Delta itself "
            f"on any Hadoop scheme), use a URI delta-rs reaches (with storage_options= for its credentials), or use "
            f"format='parquet'."
        )
    return loc.uri


def open_table(uri: str, storage_options: Mapping[str, str] | None, *, version: int | None = None) -> Any | None:
    """The Delta table at `uri` (its latest version, or `version`), or None when there is none."""
    dl = deltalake()
    opts = dict(storage_options) if storage_options else None
    if not dl.DeltaTable.is_deltatable(uri, storage_options=opts):
        return None
    if version is None:
        return dl.DeltaTable(uri, storage_options=opts)
    return dl.DeltaTable(uri, version=version, storage_options=opts)


def _shape(t: Any) -> Any:
    """A schema JSON without nullability and metadata (what must match for an append)."""
    if isinstance(t, dict):
        return {k: _shape(v) for k, v in t.items() if k not in ("nullable", "metadata", "containsNull",
                                                                  "valueContainsNull")}
    if isinstance(t, list):
        return [_shape(v) for v in t]
    return t


def _check_append(table: Any, schema: StructType, where: str) -> list[str]:
    """The table's column order, after checking `schema` has the same columns and types."""
    have = {f["name"]: _shape(f["type"]) for f in json.loads(table.schema().to_json())["fields"]}
    new = {f.name: _shape(f.dataType.jsonValue()) for f in schema.fields}
    if have != new:
        missing, extra = sorted(set(have) - set(new)), sorted(set(new) - set(have))
        changed = sorted(n for n in set(have) & set(new) if have[n] != new[n])
        raise WriteError(
            f"Cannot append to Delta table '{where}': its columns differ from the DataFrame's (missing {missing}, "
            f"extra {extra}, other type {changed}). Append a DataFrame with the table's columns and types, or "
            "use mode='overwrite' to replace the table (its history is kept)."
        )
    return list(have)


def _contains_timestamp(t: DataType) -> bool:
    from pyspark.sql import types as T

    if isinstance(t, T.TimestampType):
        return True
    if isinstance(t, T.StructType):
        return any(_contains_timestamp(f.dataType) for f in t.fields)
    if isinstance(t, T.ArrayType):
        return _contains_timestamp(t.elementType)
    if isinstance(t, T.MapType):
        return _contains_timestamp(t.keyType) or _contains_timestamp(t.valueType)
    return False


def _as_micros(col: Column, t: DataType) -> Column:
    """`col` with every TIMESTAMP inside turned into the TIMESTAMP_NTZ of the same epoch microseconds."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if not _contains_timestamp(t):
        return col
    if isinstance(t, T.TimestampType):
        return F.timestamp_add("MICROSECOND", F.unix_micros(col), F.expr("TIMESTAMP_NTZ'1970-01-01 00:00:00'"))
    if isinstance(t, T.StructType):
        inner = F.struct(*[_as_micros(col.getField(f.name), f.dataType).alias(f.name) for f in t.fields])
        return F.when(col.isNull(), F.lit(None)).otherwise(inner)
    if isinstance(t, T.ArrayType):
        return F.transform(col, lambda x: _as_micros(x, t.elementType))
    if isinstance(t, T.MapType):
        keyed = F.transform_keys(col, lambda k, _v: _as_micros(k, t.keyType))
        return F.transform_values(keyed, lambda _k, v: _as_micros(v, t.valueType))
    return col


def _prepare(df: DataFrame, order: list[str] | None) -> DataFrame:
    names = order if order is not None else df.columns
    fields = {f.name: f for f in df.schema.fields}
    return df.select(*[_as_micros(df["`" + n.replace("`", "``") + "`"], fields[n].dataType).alias(n) for n in names])


def _add_actions(spark: SparkSession, data: Location, written: StructType, subdir: str) -> list[Any]:
    """One add action per data file Spark wrote (size, time and row count from one metadata-only scan)."""
    from deltalake.transaction import AddAction
    from pyspark.sql import functions as F

    files = (spark.read.schema(written).parquet(data.uri)
             .select(F.col("_metadata.file_name").alias("name"), F.col("_metadata.file_size").alias("size"),
                     F.unix_millis(F.col("_metadata.file_modification_time")).alias("mtime"))
             .groupBy("name", "size", "mtime").count().collect())
    return [AddAction(path=f"{subdir}/{r['name']}", size=int(r["size"]), partition_values={},
                      modification_time=int(r["mtime"]), data_change=True,
                      stats=json.dumps({"numRecords": int(r["count"])})) for r in files]


def committed(uri: str, storage_options: Mapping[str, str] | None, write_id: str, after_version: int) -> bool:
    """True when a version after `after_version` of the table was committed by write `write_id`."""
    table = open_table(uri, storage_options)
    if table is None:
        return False
    newer = table.version() - after_version
    if newer <= 0:
        return False
    return any(h.get(WRITE_ID_KEY) == write_id for h in table.history(limit=newer))


def _commit(uri: str, opts: Mapping[str, str] | None, schema: Any, adds: list[Any], *, mode: str, write_id: str,
            read_version: int, df_schema: StructType, where: str) -> int:
    """Commit `adds` as one new version; returns that version. Retries only what Delta says may be retried."""
    dl = deltalake()
    from deltalake.transaction import CommitProperties, create_table_with_add_actions

    props = CommitProperties(custom_metadata={WRITE_ID_KEY: write_id})
    last: Exception | None = None
    for _ in range(_COMMIT_ATTEMPTS):
        table = open_table(uri, opts)
        try:
            if table is None:
                create_table_with_add_actions(uri, schema, adds, mode="error", commit_properties=props,
                                              storage_options=dict(opts) if opts else None)
            elif mode == "error":
                raise WriteError(f"Delta table '{where}' was created by another writer while this one ran; this "
                                 "write committed nothing. Pass mode='overwrite' to replace it or mode='append' to add to it, or choose another path.")
            else:
                if mode == "append":
                    _check_append(table, df_schema, where)
                table.create_write_transaction(adds, mode="overwrite" if mode == "overwrite" else "append",
                                               schema=schema, commit_properties=props)
        except dl.exceptions.CommitFailedError as exc:  # a concurrent commit won this version
            last = exc
        except dl.exceptions.DeltaError as exc:
            if table is not None or open_table(uri, opts) is None:  # not a race to create the table
                raise WriteError(f"delta-rs refused the commit to Delta table '{where}': {exc}") from exc
            last = exc  # another writer created the table between the look and the commit
        else:
            break
        if committed(uri, opts, write_id, read_version):
            break
        if mode == "error":
            raise WriteError(f"Delta table '{where}' was created by another writer while this one ran; this write "
                             "committed nothing. Pass mode='overwrite' to replace it or mode='append' to add to it, or choose another path.") from last
    else:
        raise WriteError(f"Could not commit to Delta table '{where}' after {_COMMIT_ATTEMPTS} attempts; concurrent "
                         f"writers kept winning. Last error: {last}") from last
    final = open_table(uri, opts)
    return int(final.version()) if final is not None else 0


def _surely_uncommitted(uri: str, opts: Mapping[str, str] | None, write_id: str, after_version: int) -> bool:
    """True only when the log shows write `write_id` did not commit (an unreadable log keeps the files)."""
    try:
        return not committed(uri, opts, write_id, after_version)
    except Exception as exc:  # noqa: BLE001 - never delete data that may be referenced
        _log.warning("could not tell whether a failed write committed; its files are kept", table=uri,
                     error=str(exc))
        return False


def sweep(fs: Any, loc: Location, uri: str, opts: Mapping[str, str] | None) -> list[str]:
    """Remove the uncommitted data of dead writers of the table at `loc`; returns what was removed."""
    removed = []
    for entry in fs.list(loc):
        if not (entry.is_dir and entry.name.startswith(DATA_DIR_PREFIX)):
            continue
        data = loc.child(entry.name)
        lease_loc = data.child(LEASE_FILE)
        info = leases.read_lease(fs, lease_loc)
        if info is None and not fs.exists(lease_loc):
            continue  # no lease: committed data (or not ours); never touched
        if not leases.is_dead(info, mtime=fs.mtime(lease_loc)):
            continue
        write_id = entry.name[len(DATA_DIR_PREFIX):]
        after = int((info or {}).get("read_version", -1))
        if committed(uri, opts, write_id, after):
            fs.delete(lease_loc)  # it committed and died before removing its lease
            continue
        fs.delete(data)
        removed.append(data.uri)
        _log.warning("removed the uncommitted data of a dead writer", table=str(loc), data=data.uri,
                     writer=info.get("host") if info else None)
    return removed


def write_delta(df: DataFrame, loc: Location, fs: Any | None, *, mode: str,
                storage_options: Mapping[str, str] | None) -> int:
    """Write `df` as a new version of the Delta table at `loc` with delta-rs; returns the version.

    Args:
        df: The rows to write (Spark writes them in parallel; nothing is collected).
        loc: The table's location.
        fs: File operations on `loc` (None on a Spark Connect client for a remote URI: then no lease
            is kept and a failed write's files are left for VACUUM).
        mode: "error" (the table must not exist), "append" or "overwrite".
        storage_options: delta-rs storage options (credentials, endpoint) for remote URIs.
    """
    dl = deltalake()
    uri = delta_rs_uri(loc)
    where = str(loc)
    opts = dict(storage_options) if storage_options else None
    try:
        schema = dl.Schema.from_json(df.schema.json())
    except Exception as exc:  # noqa: BLE001 - delta-rs names the type it cannot store
        raise WriteError(f"Delta table '{where}': delta-rs cannot store this DataFrame's schema ({exc}). Cast the "
                         "column to a supported type, or use format='parquet'.") from exc
    if fs is not None:
        if fs.is_file(loc):
            raise WriteError(f"'{where}' is a file, not a table directory. Choose another path.")
        sweep(fs, loc, uri, opts)
    table = open_table(uri, opts)
    order = None
    foreign: list[Location] = []
    if table is not None:
        if mode == "error":
            raise WriteError(f"'{where}' already exists. Pass mode='overwrite' to replace it (a new version; its "
                             "history is kept) or mode='append' to add to it, or choose another path.")
        if mode == "append":
            order = _check_append(table, df.schema, where)
    elif fs is not None and fs.exists(loc):
        foreign = [loc.child(e.name) for e in fs.list(loc)
                   if not e.name.startswith(DATA_DIR_PREFIX) and e.name != "_delta_log"]
        if foreign and mode != "overwrite":
            raise WriteError(f"'{where}' already exists and is not a Delta table. Pass mode='overwrite' to replace "
                             "it, or choose another path.")
    read_version = int(table.version()) if table is not None else -1
    write_id = leases.new_writer_id()
    subdir = f"{DATA_DIR_PREFIX}{write_id}"
    data = loc.child(subdir)
    prepared = _prepare(df, order)
    spark = df.sparkSession
    try:
        lease = (leases.Lease(fs, data.child(LEASE_FILE), leases.writer_info(
            spark, write_id=write_id, mode=mode, format="delta", target=where, read_version=read_version,
            phase="writing")) if fs is not None else None)
        with lease if lease is not None else _Nothing():
            (prepared.write.mode("append").option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
             .parquet(data.uri))
            if lease is not None:
                lease.update(phase="committing")
            adds = _add_actions(spark, data, prepared.schema, subdir)
            version = _commit(uri, opts, schema, adds, mode=mode, write_id=write_id, read_version=read_version,
                              df_schema=df.schema, where=where)
    except BaseException:
        if fs is not None and _surely_uncommitted(uri, opts, write_id, read_version):
            fs.delete(data)
            if open_table(uri, opts) is None:
                fs.remove_empty_dir(loc)  # this write created the directory: leave nothing behind
        raise
    for old in foreign:  # what an overwrite replaced that was not a Delta table
        fs.delete(old)
    _log.info("wrote delta version", path=where, version=version, files=len(adds), mode=mode)
    return version


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def table_files(loc: Location, *, version: int | None, storage_options: Mapping[str, str] | None,
                error: type[Exception]) -> tuple[Any, list[str], list[str]] | None:
    """(Spark schema, data file URIs, partition columns) of a Delta table version, or None if no table.

    The file URIs are built from `loc` (the scheme Spark was given), not from delta-rs's own view.
    """
    import pyarrow as pa
    from pyspark.sql import types as T

    uri = delta_rs_uri(loc, error=error)
    try:
        table = open_table(uri, storage_options, version=version)
    except Exception as exc:  # noqa: BLE001 - delta-rs: version not found, unreadable log
        raise error(f"Delta table '{loc}': cannot open {'version ' + str(version) if version is not None else 'it'} "
                    f"with delta-rs ({exc})") from exc
    if table is None:
        return None
    protocol = table.protocol()
    unsupported = sorted(set(protocol.reader_features or []) & {"deletionVectors", "columnMapping", "v2Checkpoint"})
    if unsupported:
        raise error(f"Delta table '{loc}' uses reader features {unsupported}, which reading without Spark's Delta "
                    "classes does not support. Add delta-spark to the session to read it.")
    schema = T.StructType.fromJson(json.loads(table.schema().to_json()))
    paths = pa.table(table.get_add_actions(flatten=True)).column("path").to_pylist()
    base = loc.uri.rstrip("/")
    files = [p if "://" in p or p.startswith("/") else f"{base}/{unquote(p)}" for p in paths]
    return schema, files, list(table.metadata().partition_columns)
