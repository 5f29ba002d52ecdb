"""Writing generated tables as Delta (Spark's writer, or delta-rs without the jars) or Parquet, atomically."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pyspark_synth._log import get_logger
from pyspark_synth.errors import MissingDependencyError, WriteError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["spark_has_delta", "write_table", "write_tables"]

_log = get_logger("write")
Format = Literal["delta", "parquet"]
Mode = Literal["error", "overwrite"]


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


def _local_path(path: str | os.PathLike) -> Path | None:
    text = str(path)
    if text.startswith("file://"):
        text = text[len("file://"):]
    elif "://" in text:
        return None
    return Path(text).expanduser().resolve()


def _spark_write_parquet(df: DataFrame, target: str) -> None:
    spark = df.sparkSession
    key = "spark.sql.parquet.outputTimestampType"
    old = spark.conf.get(key, None)
    spark.conf.set(key, "TIMESTAMP_MICROS")  # Delta (and most readers) need micros, not INT96
    try:
        df.write.mode("error").parquet(target)
    finally:
        if old is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, old)


def _commit_delta_rs(staging: Path, name: str) -> None:
    try:
        from deltalake import convert_to_deltalake
    except ImportError as exc:
        raise MissingDependencyError("deltalake", "Writing Delta tables without the Delta jars", extra="delta") from exc
    for p in list(staging.iterdir()):
        if p.name.startswith(("_SUCCESS", ".")):
            p.unlink()
    convert_to_deltalake(str(staging), name=name)


def write_table(
    df: DataFrame,
    path: str | os.PathLike | None = None,
    *,
    table: str | None = None,
    format: Format = "delta",
    mode: Mode = "error",
) -> str:
    """Write one DataFrame to `path` (or catalog table `table`) so it appears whole or not at all.

    Delta uses Spark's Delta writer when the Delta classes are on the classpath; otherwise the
    executors write Parquet files in parallel into a hidden staging directory, the driver commits
    one Delta transaction over them with delta-rs (`deltalake`), and the directory is renamed into
    place. Parquet goes through the same staging and rename. A failure removes the staging data.

    Returns:
        The absolute path (or catalog table name) written.
    """
    if format not in ("delta", "parquet"):
        raise WriteError(f"Unknown format '{format}'. Use 'delta' or 'parquet'.")
    if mode not in ("error", "overwrite"):
        raise WriteError(f"Unknown mode '{mode}'. Use 'error' or 'overwrite'.")
    spark = df.sparkSession
    if table is not None:
        if format == "delta" and not spark_has_delta(spark):
            raise WriteError(
                f"Writing catalog table '{table}' as Delta needs Spark's Delta classes (delta-spark); they are not on "
                "this session's classpath. Write to a path (delta-rs is used there), or use format='parquet'."
            )
        df.write.format(format).mode("overwrite" if mode == "overwrite" else "errorifexists").saveAsTable(table)
        return table
    if path is None:
        raise WriteError("write_table needs a path or a catalog table name")
    if format == "delta" and spark_has_delta(spark):
        df.write.format("delta").mode("overwrite" if mode == "overwrite" else "errorifexists").save(str(path))
        return str(path)
    local = _local_path(path)
    if local is None:
        if format == "delta":
            raise WriteError(f"'{path}' is not a local path and Spark has no Delta classes: configure delta-spark to "
                             "write Delta to remote storage, or use format='parquet'.")
        df.write.mode("overwrite" if mode == "overwrite" else "errorifexists").parquet(str(path))
        return str(path)
    if local.exists() and mode == "error":
        raise WriteError(f"'{local}' already exists. Pass mode='overwrite' to replace it, or choose another path.")
    local.parent.mkdir(parents=True, exist_ok=True)
    staging = local.parent / f".{local.name}.staging-{uuid.uuid4().hex[:12]}"
    try:
        _spark_write_parquet(df, str(staging))
        if format == "delta":
            _commit_delta_rs(staging, local.name)
        _swap_into_place(staging, local)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _log.info("wrote table", path=str(local), format=format)
    return str(local)


def _swap_into_place(staging: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:12]}"
        os.rename(final, old)
    try:
        os.rename(staging, final)
    except BaseException:
        if old is not None:
            os.rename(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_tables(
    tables: Mapping[str, DataFrame],
    path: str | os.PathLike | None = None,
    *,
    catalog_schema: str | None = None,
    format: Format = "delta",
    mode: Mode = "error",
) -> dict[str, str]:
    """Write a set of generated tables under `path/<table>` or as `catalog_schema.<table>`.

    Returns:
        `{table: absolute path or catalog table name}`.
    """
    if (path is None) == (catalog_schema is None):
        raise WriteError("Give exactly one of path= (a directory) or catalog_schema= (a database in the catalog)")
    if catalog_schema is not None:
        spark = next(iter(tables.values())).sparkSession if tables else None
        if spark is not None:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS `{catalog_schema}`")
        return {name: write_table(df, table=f"{catalog_schema}.{name}", format=format, mode=mode) for name, df in tables.items()}
    base = _local_path(path)
    root = str(base) if base is not None else str(path).rstrip("/")
    return {name: write_table(df, f"{root}/{name}", format=format, mode=mode) for name, df in tables.items()}
