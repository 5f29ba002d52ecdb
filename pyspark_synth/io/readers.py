"""Reading a table from wherever it is: a DataFrame, a catalog table, CSV, Parquet or Delta on any URI.

Delta is read with Spark's Delta reader when the session has it; otherwise delta-rs reads the table's
log (the latest version, or `version=`) and Spark reads the data files it lists, in parallel, with the
table's schema. Paths follow `storage.resolve`: any scheme Spark can read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pyspark_synth.errors import DataError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["read_table"]


def _is_dataframe(obj: Any) -> bool:
    return hasattr(obj, "schema") and hasattr(obj, "agg")


def read_table(
    spark: SparkSession,
    source: Any,
    *,
    version: int | None = None,
    storage_options: Mapping[str, str] | None = None,
    name: str | None = None,
) -> DataFrame:
    """A DataFrame for `source`: a DataFrame, a catalog table name, or a path or URI.

    Paths ending in .csv are read with a header and inferred types; .parquet as Parquet; a directory
    holding `_delta_log` as Delta; any other directory as Parquet; anything else as a catalog table.

    Args:
        spark: The session.
        source: A DataFrame, a catalog table name, or a path / URI (`os.PathLike` too).
        version: A Delta table version to read (time travel); only for Delta sources.
        storage_options: delta-rs storage options for a remote Delta table read without Spark's
            Delta classes.
        name: The table's name in error messages (default: the source).

    Raises:
        DataError: The source is of an unreadable type, not a readable path or table, or `version`
            was given for a source that is not a Delta table.
    """
    label = name if name is not None else (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "?")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 0):
        raise DataError(f"Table '{label}': version must be a Delta table version (an integer 0 or more), "
                        f"got {version!r}")
    if _is_dataframe(source):
        _no_version(version, label, "a DataFrame")
        return source
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise DataError(f"Table '{label}': cannot read {type(source).__name__}; give a DataFrame, a table name or a path")
    plain = source[len("file://"):] if source.startswith("file://") else source
    if plain.endswith(".csv"):
        _no_version(version, label, "a CSV file")
        return spark.read.csv(source, header=True, inferSchema=True)
    if plain.endswith(".parquet"):
        _no_version(version, label, "a Parquet file")
        return spark.read.parquet(source)
    found = _read_directory(spark, source, version=version, storage_options=storage_options, label=label)
    if found is not None:
        return found
    try:
        if version is not None:
            return spark.read.option("versionAsOf", version).table(source)
        return spark.read.table(source)
    except Exception as exc:  # noqa: BLE001 - report what was tried
        raise DataError(f"Table '{label}': '{source}' is not a readable path or a catalog table ({exc})") from exc


def _no_version(version: int | None, label: str, what: str) -> None:
    if version is not None:
        raise DataError(f"Table '{label}': version={version} is for Delta tables, and the source is {what}")


def _looks_like_path(text: str) -> bool:
    from pyspark_synth.io.storage import _SCHEME

    return bool(_SCHEME.match(text)) or text.startswith(("/", ".", "~")) or os.sep in text or "/" in text


def _read_directory(spark: SparkSession, source: str, *, version: int | None,
                    storage_options: Mapping[str, str] | None, label: str) -> DataFrame | None:
    """The table in directory `source` (Delta or Parquet), or None when `source` is no directory."""
    from pyspark_synth.io.storage import filesystem, resolve

    if not _looks_like_path(source) and not os.path.isdir(source):
        return None  # a bare name (db.table) is a catalog table unless such a local directory exists
    loc = resolve(spark, source, error=DataError)
    fs = filesystem(spark, loc)
    if fs is not None:
        if fs.is_dir(loc.child("_delta_log")):
            return _read_delta(spark, loc, version=version, storage_options=storage_options, label=label)
        if fs.is_dir(loc):
            _no_version(version, label, "a Parquet directory")
            return spark.read.parquet(loc.uri)
        return None
    # Spark Connect client, remote URI: no file system here; delta-rs says whether it is Delta
    from pyspark_synth.io.delta_rs import DELTA_RS_SCHEMES, open_table

    if loc.scheme in DELTA_RS_SCHEMES and open_table(loc.uri, storage_options) is not None:
        return _read_delta(spark, loc, version=version, storage_options=storage_options, label=label)
    _no_version(version, label, "not a Delta table")
    return spark.read.parquet(loc.uri)


def _read_delta(spark: SparkSession, loc: Any, *, version: int | None, storage_options: Mapping[str, str] | None,
                label: str) -> DataFrame:
    from pyspark_synth.io.delta_rs import table_files
    from pyspark_synth.io.writers import spark_has_delta

    if spark_has_delta(spark):
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(loc.uri)
    found = table_files(loc, version=version, storage_options=storage_options, error=DataError)
    if found is None:
        raise DataError(f"Table '{label}': '{loc}' has a _delta_log but delta-rs finds no Delta table there")
    schema, files, partitions = found
    if not files:
        return spark.createDataFrame([], schema)
    if partitions:
        bad = [f for f in files if not all(f"/{p}=" in f for p in partitions)]
        if bad:
            raise DataError(f"Table '{label}': partitioned Delta table '{loc}' has files outside '<column>=<value>' "
                            f"directories ({bad[0]}); read it with Spark's Delta classes (delta-spark)")
        return spark.read.option("basePath", loc.uri).schema(schema).parquet(*files).select(*schema.fieldNames())
    return spark.read.schema(schema).parquet(*files)
