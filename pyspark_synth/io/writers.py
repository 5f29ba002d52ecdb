"""Writing generated tables as Delta or Parquet, whole or not at all, isolated from concurrent writers.

Where each format goes:

* Delta, when Spark has the Delta classes (delta-spark, Databricks): Spark's own Delta writer, whose
  transaction log isolates writers.
* Delta without them: the executors write the Parquet files into the table directory and delta-rs
  commits them as one version (`delta_rs`); `overwrite` and `append` are new versions of the same
  table, so its history and time travel stay.
* Parquet: the executors write into a hidden staging directory beside the target, which is then
  renamed into place. With `mode="error"` the rename refuses an existing target, so of two concurrent
  writers exactly one succeeds; `append` moves the new files into the target one by one (each file
  appears whole; use Delta for appends that appear at once).
* A catalog table (`table=`): Spark's `saveAsTable`.

Every path may be any URI Spark can write (see `storage`); remote Delta URIs take delta-rs
`storage_options`. A writer records a lease while it stages data, so the next write to the same
target removes what a dead writer left (see `leases`). No function here changes the session conf.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pyspark_synth._log import get_logger
from pyspark_synth.errors import WriteError
from pyspark_synth.io import leases
from pyspark_synth.io.storage import Location, TargetExistsError, filesystem, resolve

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["FORMATS", "MODES", "spark_has_delta", "write_table", "write_tables"]

_log = get_logger("write")
Format = Literal["delta", "parquet"]
Mode = Literal["error", "overwrite", "append"]
FORMATS = ("delta", "parquet")
MODES = ("error", "overwrite", "append")
_SPARK_MODE = {"error": "error", "overwrite": "overwrite", "append": "append"}  # "errorifexists": not on Connect
_SWAP_ATTEMPTS = 8


def spark_has_delta(spark: SparkSession) -> bool:
    """True when Spark's own Delta writer is usable (delta-spark configured, as on Databricks)."""
    ext = spark.conf.get("spark.sql.extensions", "") or ""
    if "DeltaSparkSessionExtension" in ext:
        return True
    if "delta" in (spark.conf.get("spark.sql.catalog.spark_catalog", "") or "").lower():
        return True
    try:  # classic sessions only; Connect has no JVM handle here
        spark._jvm.java.lang.Class.forName("org.apache.spark.sql.delta.sources.DeltaDataSource")  # type: ignore[union-attr]
        return True
    except Exception:  # noqa: BLE001
        return False


def _check_options(format: str, mode: str, storage_options: Any, where: str) -> dict[str, str] | None:
    if format not in FORMATS:
        raise WriteError(f"{where}: unknown format {format!r}. Use one of {list(FORMATS)}.")
    if mode not in MODES:
        raise WriteError(f"{where}: unknown mode {mode!r}. Use one of {list(MODES)} ('error' refuses an existing "
                         "target, 'overwrite' replaces it, 'append' adds rows to it).")
    if storage_options is None:
        return None
    if not isinstance(storage_options, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in storage_options.items()):
        raise WriteError(f"{where}: storage_options must be a mapping of strings to strings (delta-rs options such "
                         "as {'AWS_REGION': 'eu-west-1'}), got " + type(storage_options).__name__)
    return dict(storage_options)


def write_table(
    df: DataFrame,
    path: str | os.PathLike | None = None,
    *,
    table: str | None = None,
    format: Format = "delta",
    mode: Mode = "error",
    storage_options: Mapping[str, str] | None = None,
) -> str:
    """Write one DataFrame to `path` (or catalog table `table`) so it appears whole or not at all.

    Args:
        df: The rows; Spark's executors write them in parallel.
        path: A directory path or any URI Spark can write (`/data/x`, `s3a://bucket/x`, ...).
        table: A catalog table name instead of a path.
        format: "delta" or "parquet".
        mode: "error" refuses an existing target (of two concurrent writers of a new target exactly
            one succeeds), "overwrite" replaces it (a new version for Delta, history kept), "append"
            adds rows to it (creating it when absent).
        storage_options: delta-rs storage options (credentials, endpoint, region) for a remote Delta
            path written without Spark's Delta classes; Spark itself reads its Hadoop conf.

    Returns:
        The absolute local path written, the URI for remote storage, or the catalog table name.

    Raises:
        WriteError: Bad format, mode or options (before any Spark job), the target exists under
            mode="error" (also when another writer created it meanwhile), an append whose columns
            differ from the target's, or a URI that the chosen writer cannot reach.
    """
    what = f"write_table({str(table) if table is not None else str(path)!r})"
    opts = _check_options(format, mode, storage_options, what)
    spark = df.sparkSession
    if table is not None:
        if path is not None:
            raise WriteError(f"{what}: give a path or table=, not both")
        return _write_catalog_table(df, table, format=format, mode=mode)
    if path is None:
        raise WriteError("write_table needs a path or a catalog table name (table=)")
    loc = resolve(spark, path, error=WriteError)
    if format == "delta" and spark_has_delta(spark):
        if opts:
            _log.warning("storage_options are for delta-rs; Spark's Delta writer reads the session's Hadoop conf",
                         path=str(loc))
        df.write.format("delta").mode(_SPARK_MODE[mode]).save(loc.uri)
        return str(loc)
    fs = filesystem(spark, loc)
    if format == "delta":
        from pyspark_synth.io.delta_rs import write_delta

        write_delta(df, loc, fs, mode=mode, storage_options=opts)
    else:
        _write_parquet(df, loc, fs, mode=mode)
    _log.info("wrote table", path=str(loc), format=format, mode=mode)
    return str(loc)


def _write_catalog_table(df: DataFrame, table: str, *, format: str, mode: str) -> str:
    spark = df.sparkSession
    if format == "delta" and not spark_has_delta(spark):
        raise WriteError(
            f"Writing catalog table '{table}' as Delta needs Spark's Delta classes (delta-spark); they are not on "
            "this session's classpath. Write to a path (delta-rs is used there), or use format='parquet'."
        )
    df.write.format(format).mode(_SPARK_MODE[mode]).saveAsTable(table)
    return table


# --------------------------------------------------------------------------------------------- Parquet

def _staging(loc: Location, kind: str, write_id: str) -> Location:
    return loc.parent.child(f".{loc.name}.{kind}-{write_id}")


def _data_files(fs: Any, staging: Location) -> list[str]:
    """Names of the files to move into a table: data files and their checksums, not markers."""
    return [e.name for e in fs.list(staging) if not e.is_dir and not e.name.startswith(("_", "._"))]


def _move_files(fs: Any, staging: Location, target: Location) -> None:
    for name in _data_files(fs, staging):
        fs.rename(staging.child(name), target.child(name))


def _sweep_parquet(fs: Any, loc: Location) -> list[str]:
    """Finish or remove what dead writers of `loc` left beside it; returns what was removed."""
    prefix = f".{loc.name}."
    groups: dict[str, dict[str, Location]] = {}
    mtimes: dict[str, float] = {}
    for e in fs.list(loc.parent):
        if not e.name.startswith(prefix):
            continue
        kind, _, write_id = e.name[len(prefix):].partition("-")
        if kind in ("staging", "old", "lease") and write_id:
            groups.setdefault(write_id, {})[kind] = loc.parent.child(e.name)
            mtimes[write_id] = max(mtimes.get(write_id, 0.0), e.mtime)
    removed = []
    for write_id, parts in groups.items():
        lease_loc = parts.get("lease")
        info = leases.read_lease(fs, lease_loc) if lease_loc is not None else None
        if lease_loc is not None:
            if not leases.is_dead(info, mtime=fs.mtime(lease_loc)):
                continue
        elif mtimes[write_id] > 0 and not leases.is_dead(None, mtime=mtimes[write_id]):
            _log.warning("left recent staging without a lease alone (a writer of an older version?)",
                         table=str(loc), staging=[p.uri for p in parts.values()])
            continue
        staging, old = parts.get("staging"), parts.get("old")
        if (staging is not None and info and info.get("phase") == "committing" and info.get("mode") == "append"):
            try:  # the rows were all written: finish moving them in, so the append is whole
                fs.mkdirs(loc)
                _move_files(fs, staging, loc)
            except Exception as exc:  # noqa: BLE001 - then it is removed like any other staging
                _log.warning("could not finish a dead writer's append", table=str(loc), error=str(exc))
        if old is not None:
            if not fs.exists(loc):
                fs.rename(old, loc)  # died mid-swap: the previous table comes back
            else:
                fs.delete(old)
        for part in (staging, lease_loc):
            if part is not None:
                fs.delete(part)
        removed.extend(p.uri for p in (staging, old) if p is not None)
        _log.warning("removed the staging of a dead writer", table=str(loc), write_id=write_id,
                     writer=info.get("host") if info else None)
    return removed


def _nonempty_dir(fs: Any, loc: Location) -> bool:
    if fs.is_file(loc):
        raise WriteError(f"'{loc}' is a file, not a table directory. Choose another path.")
    return bool(fs.list(loc))


def _check_parquet_append(df: DataFrame, loc: Location) -> list[str]:
    """The target's column order, after checking the DataFrame has its columns and types."""
    from pyspark_synth.io.delta_rs import _shape

    have_schema = df.sparkSession.read.parquet(loc.uri).schema
    have = {f.name: _shape(f.dataType.jsonValue()) for f in have_schema.fields}
    new = {f.name: _shape(f.dataType.jsonValue()) for f in df.schema.fields}
    if have != new:
        raise WriteError(
            f"Cannot append to Parquet table '{loc}': its columns differ from the DataFrame's (missing "
            f"{sorted(set(have) - set(new))}, extra {sorted(set(new) - set(have))}, other type "
            f"{sorted(n for n in set(have) & set(new) if have[n] != new[n])}). Append a DataFrame with the table's "
            "columns and types, or use mode='overwrite'."
        )
    return [f.name for f in have_schema.fields]


def _write_parquet(df: DataFrame, loc: Location, fs: Any | None, *, mode: str) -> None:
    if fs is None:  # Spark Connect client, remote URI: no driver file system to stage with
        _log.warning("Spark Connect: Parquet to a remote URI is written by Spark directly, without staging; a "
                     "concurrent writer of the same target is not detected", path=str(loc))
        df.write.mode(_SPARK_MODE[mode]).parquet(loc.uri)
        return
    _sweep_parquet(fs, loc)
    if fs.exists(loc):
        if _nonempty_dir(fs, loc):
            if mode == "error":
                raise WriteError(f"'{loc}' already exists. Pass mode='overwrite' to replace it, mode='append' to add "
                                 "to it, or choose another path.")
            if mode == "append":
                df = df.select(*_check_parquet_append(df, loc))
        else:
            fs.remove_empty_dir(loc)  # an empty directory holds no table: the rename may take its place
    write_id = leases.new_writer_id()
    staging = _staging(loc, "staging", write_id)
    fs.mkdirs(loc.parent)
    lease = leases.Lease(fs, _staging(loc, "lease", write_id), leases.writer_info(
        df.sparkSession, write_id=write_id, mode=mode, format="parquet", target=str(loc), phase="writing"))
    try:
        with lease:
            df.write.mode("error").parquet(staging.uri)  # Spark Connect refuses the "errorifexists" spelling
            lease.update(phase="committing")
            _commit_parquet(fs, staging, loc, _staging(loc, "old", write_id), mode=mode)
    except BaseException:
        fs.delete(staging)
        raise


def _commit_parquet(fs: Any, staging: Location, loc: Location, old: Location, *, mode: str) -> None:
    """Put the staged table in place: refuse, add to, or replace what is there."""
    try:
        fs.rename(staging, loc)
        return
    except TargetExistsError:
        if mode == "error":
            raise WriteError(f"'{loc}' was written by another writer while this one ran; this write kept nothing. "
                             "Pass mode='overwrite' to replace it, or choose another path.") from None
    if mode == "append":
        _move_files(fs, staging, loc)
        fs.delete(staging)
        return
    for _ in range(_SWAP_ATTEMPTS):  # overwrite: move the current table aside, put ours in, drop the old
        try:
            fs.rename(loc, old)
        except (TargetExistsError, FileNotFoundError):
            pass
        except Exception as exc:  # noqa: BLE001 - Hadoop reports a vanished source as a Py4J error
            if fs.exists(loc):
                raise
            _log.debug("target vanished during overwrite", path=str(loc), error=str(exc))
        try:
            fs.rename(staging, loc)
        except TargetExistsError:
            fs.delete(old)  # a concurrent overwrite put its table in the gap: replace that one too
            continue
        except BaseException:
            if fs.exists(old) and not fs.exists(loc):
                fs.rename(old, loc)  # the previous table goes back where it was
            raise
        fs.delete(old)
        return
    raise WriteError(f"Could not replace '{loc}': concurrent writers kept replacing it ({_SWAP_ATTEMPTS} attempts).")


# --------------------------------------------------------------------------------------------- many tables

def write_tables(
    tables: Mapping[str, DataFrame],
    path: str | os.PathLike | None = None,
    *,
    catalog_schema: str | None = None,
    format: Format = "delta",
    mode: Mode = "error",
    storage_options: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Write a set of generated tables under `path/<table>` or as `catalog_schema.<table>`.

    Each table is written as `write_table` writes one (atomic per table, not across tables).

    Args:
        tables: `{table name: DataFrame}`.
        path: A directory path or any URI Spark can write; each table goes to `path/<table>`.
        catalog_schema: A database in the catalog instead of a path.
        format: "delta" or "parquet".
        mode: "error", "overwrite" or "append" (see `write_table`).
        storage_options: delta-rs storage options for remote Delta paths (see `write_table`).

    Returns:
        `{table: absolute path, URI or catalog table name}`.
    """
    _check_options(format, mode, storage_options, "write_tables")
    if (path is None) == (catalog_schema is None):
        raise WriteError("Give exactly one of path= (a directory) or catalog_schema= (a database in the catalog)")
    bad = [n for n in tables if not isinstance(n, str) or not n or "/" in n or n.startswith(".")]
    if bad:
        raise WriteError(f"write_tables: table names {bad} cannot be directory names; use names without '/' that "
                         "do not start with '.'")
    if catalog_schema is not None:
        spark = next(iter(tables.values())).sparkSession if tables else None
        if spark is not None:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS `{catalog_schema}`")
        return {name: write_table(df, table=f"{catalog_schema}.{name}", format=format, mode=mode)
                for name, df in tables.items()}
    if not tables:
        return {}
    root = resolve(next(iter(tables.values())).sparkSession, path, error=WriteError)  # type: ignore[arg-type]
    return {name: write_table(df, root.child(name).uri, format=format, mode=mode, storage_options=storage_options)
            for name, df in tables.items()}
