"""Sampling one fitted table as a lazy Spark DataFrame generated on the executors."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError
from pyspark_synth.io.registry import ModelEntry, ModelRegistry, registry_for
from pyspark_synth.seeds import resolve_seed
from pyspark_synth.spec import TableSpec, check_num_rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["DEFAULT_BLOCK_SIZE", "default_parallelism", "sample_table", "shipped_backend"]

_log = get_logger("sample")
DEFAULT_BLOCK_SIZE = 4096
_ROWS_PER_PARTITION = 500_000


def default_parallelism(spark: SparkSession) -> int:
    """Cores available to the session (works on classic and Spark Connect sessions)."""
    try:
        return int(spark.sparkContext.defaultParallelism)
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        return int(spark.conf.get("spark.default.parallelism", None) or spark.conf.get("spark.sql.shuffle.partitions", "8"))


def shipped_backend(entry: ModelEntry) -> type | None:
    """The user's model class to send with the generation closure (None for built-in backends)."""
    from pyspark_synth.models.base import shippable_backend

    return shippable_backend(entry.backend)


def sample_table(
    spark: SparkSession,
    table: str,
    num_rows: Any = None,
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
        num_rows: Rows to generate (a Python or numpy integer); defaults to the original row count.
        seed: Root seed; a random one (logged) when None.
        registry: Registry or registry root; defaults to the session's.
        version: Model version; the latest when None.
        block_size: Rows per deterministic block (changing it changes the rows).
        num_partitions: Spark partitions; by default enough for the cores and ≤ 500k rows each.
        entry: A registry entry to use directly (skips the registry look-up).

    Raises:
        NotFittedError: The table has no fitted model.
        SerializationError: The model or its spec is damaged (before any Spark job).
        DataError: `num_rows` is negative or not an integer, or the table is a lookup table copied
            as it is (`TableSpec.copied`) and `num_rows` is not its real number of rows.
    """
    from pyspark_synth.spark.convert import schema_from_json
    from pyspark_synth.spark.udfs import table_blocks

    entry = entry or registry_for(spark, registry).get(table, version)
    spec = entry.spec
    n = spec.row_count if num_rows is None else check_num_rows(num_rows, f"num_rows for table '{table}'")
    spec.copied_rows(n, "sample_table")
    block_size = check_num_rows(block_size, "block_size")
    if block_size < 1:
        raise DataError(f"block_size must be at least 1, got {block_size}")
    schema = schema_from_json(spec.spark_schema)
    if spec.is_empty:
        if n > 0:
            raise DataError(f"Table '{table}' had no rows when it was fitted (model version {entry.version}): there is "
                            f"nothing to generate {n} rows from. Ask for 0 rows, or refit the table with data.")
        return spark.createDataFrame([], schema)
    seed = resolve_seed(seed)
    model_bytes = None if spec.is_copied else entry.model_bytes()  # a copied table's rows are in its spec
    n_blocks = math.ceil(n / block_size)
    parts = num_partitions or max(1, min(n_blocks, max(default_parallelism(spark), math.ceil(n / _ROWS_PER_PARTITION))))
    _log.info("sampling table", table=table, rows=n, seed=seed, blocks=n_blocks, partitions=parts, version=entry.version)
    blocks = spark.range(0, n_blocks, 1, numPartitions=max(1, min(parts, max(n_blocks, 1)))).withColumnRenamed("id", "block")
    fn = table_blocks(spec.to_json(), model_bytes, seed=seed, num_rows=n, block_size=block_size,
                      backend=shipped_backend(entry))
    rows = blocks.mapInPandas(fn, schema)
    if spec.learned_keys:  # each code of a copied lookup keeps its children within the real range
        from pyspark_synth.spark.lookup_copies import bounded_codes

        rows = bounded_codes(rows, spec, seed=seed, scale=n / max(spec.row_count, 1))
    return number_counters(rows, spec)


def number_counters(df: DataFrame, spec: TableSpec) -> DataFrame:
    """`df` with each counter key column (`KeySpec.kind == "counter"`) numbered inside its group.

    The kernel leaves such a column unique values in row-id order; here the rows of each group of
    the key's `within` columns are numbered `offset`, `offset + 1`, ... in that order (a window per
    group), so (race, driver, stop) counts each synthetic driver's stops in a race from 1, and the
    key stays unique. Without counter keys `df` is returned as it is.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    for key in spec.keys:
        if key.kind != "counter":
            continue
        col = F.col(f"`{key.column}`")
        w = Window.partitionBy(*[F.col(f"`{c}`") for c in key.within]).orderBy(col)
        typ = df.schema[key.column].dataType
        df = df.withColumn(key.column, (F.row_number().over(w) - 1 + F.lit(key.offset)).cast(typ))
    return df
