"""Sampling one table as a lazy Spark DataFrame generated on the executors."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError
from pyspark_synth.io.registry import ModelEntry, ModelRegistry, registry_for
from pyspark_synth.seeds import resolve_seed
from pyspark_synth.spark.generate import block_generator

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["DEFAULT_BLOCK_SIZE", "default_parallelism", "sample_table"]

_log = get_logger("sample")
DEFAULT_BLOCK_SIZE = 4096
_ROWS_PER_PARTITION = 500_000


def default_parallelism(spark: SparkSession) -> int:
    """Cores available to the session (works on classic and Spark Connect sessions)."""
    try:
        return int(spark.sparkContext.defaultParallelism)
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        return int(spark.conf.get("spark.default.parallelism", None) or spark.conf.get("spark.sql.shuffle.partitions", "8"))


def _check_num_rows(num_rows: object, table: str) -> int:
    if isinstance(num_rows, bool) or not isinstance(num_rows, int):
        raise DataError(f"num_rows for table '{table}' must be an integer, got {type(num_rows).__name__}: {num_rows!r}")
    if num_rows < 0:
        raise DataError(f"num_rows for table '{table}' must be 0 or more, got {num_rows}")
    return num_rows


def sample_table(
    spark: SparkSession,
    table: str,
    num_rows: int | None = None,
    *,
    seed: int | None = None,
    registry: ModelRegistry | str | None = None,
    version: int | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    num_partitions: int | None = None,
    entry: ModelEntry | None = None,
) -> DataFrame:
    """Generate `num_rows` rows of a fitted table as a lazy DataFrame with the training schema.

    Nothing runs until an action: rows are made on the executors by `mapInPandas`, block by
    block, with seeds derived from (seed, table, block id), so the same (seed, table, num_rows)
    gives the same rows whatever the number of partitions or executors. The driver never holds
    the rows, so tens of millions of rows are fine.

    Args:
        spark: The session.
        table: A table fitted with `fit_table` (in `registry`).
        num_rows: Rows to generate; defaults to the original table's row count.
        seed: Root seed; a random one (logged) when None.
        registry: Registry or registry root; defaults to the session's.
        version: Model version; the latest when None.
        block_size: Rows per deterministic block (changing it changes the rows).
        num_partitions: Spark partitions; by default enough for the cores and ≤ 500k rows each.
        entry: A registry entry to use directly (skips the registry look-up).

    Raises:
        NotFittedError: The table has no fitted model.
        DataError: `num_rows` is negative or not an integer.
    """
    from pyspark_synth.spark.fit import EMPTY_BACKEND

    entry = entry or registry_for(spark, registry).get(table, version)
    n = entry.row_count if num_rows is None else _check_num_rows(num_rows, table)
    if entry.backend == EMPTY_BACKEND:
        if n > 0:
            raise DataError(f"Table '{table}' had no rows when it was fitted (model version {entry.version}): there is "
                            f"nothing to generate {n} rows from. Ask for 0 rows, or refit the table with data.")
        from pyspark_synth.spark.convert import schema_from_json

        return spark.createDataFrame([], schema_from_json(entry.spark_schema))
    seed = resolve_seed(seed)
    if block_size < 1:
        raise DataError(f"block_size must be at least 1, got {block_size}")
    n_blocks = math.ceil(n / block_size)
    parts = num_partitions or max(1, min(n_blocks, max(default_parallelism(spark), math.ceil(n / _ROWS_PER_PARTITION))))
    _log.info("sampling table", table=table, rows=n, seed=seed, blocks=n_blocks, partitions=parts, version=entry.version)
    schema_json = entry.spark_schema
    from pyspark_synth.models.base import shippable_backend
    from pyspark_synth.spark.convert import schema_from_json

    blocks = spark.range(0, n_blocks, 1, numPartitions=max(1, min(parts, max(n_blocks, 1)))).withColumnRenamed("id", "block")
    fn = block_generator(
        entry.model_bytes(), schema_json, entry.extra.get("keys", []), table=table, seed=seed, num_rows=n,
        block_size=block_size, self_refs=entry.extra.get("relational", {}).get("self_refs", []),
        backend=shippable_backend(entry.backend), text_specs=entry.extra.get("text", []),
    )
    return blocks.mapInPandas(fn, schema_from_json(schema_json))
