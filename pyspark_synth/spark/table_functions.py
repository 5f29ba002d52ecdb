"""SQL table functions: `SELECT * FROM synth_sample('customers', 1000, 7)` as a Python UDTF.

`analyze` reads the table's schema from the model registry (so the function's columns are the
fitted table's columns) and `eval` generates the rows with the same deterministic blocks as
`sample_table`: the same (table, num_rows, seed) gives the same rows as `spark.synth.sample`
and `CALL synth.sample`. Both run in Python workers, which read the registry directory given
at registration (it must be readable where Spark runs Python workers). One call generates its
rows in one task; for tens of millions of rows use `CALL synth.sample(..., output => ...)`,
which generates in parallel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.udtf import UserDefinedTableFunction

__all__ = ["register_table_functions", "sample_udtf"]


def sample_udtf(root: str, namespace: str = "default", backends: dict[str, type] | None = None) -> UserDefinedTableFunction:
    """The `synth_sample(table, num_rows, seed, version)` UDTF over the registry at `root`.

    `backends` are the user-registered model classes (`{name: class}`) the function carries to the
    Python workers, which never ran the driver's `register_backend`; by default those registered
    when this is called.
    """
    from pyspark.sql.functions import udtf

    from pyspark_synth.models.base import user_backends

    shipped = dict(user_backends() if backends is None else backends)

    class SynthSample:
        """synth_sample(table, num_rows = original size, seed = random, version = latest)."""

        @staticmethod
        def _entry(table: Any, version: Any) -> Any:
            from pyspark_synth.errors import DataError
            from pyspark_synth.io.registry import ModelRegistry

            if not isinstance(table, str) or not table:
                raise DataError(f"synth_sample: the first argument must be a fitted table's name, got {table!r}")
            return ModelRegistry(root, namespace).get(table, None if version is None else int(version))

        @staticmethod
        def analyze(table: Any, num_rows: Any = None, seed: Any = None, version: Any = None) -> Any:
            from pyspark.sql.udtf import AnalyzeResult

            from pyspark_synth.errors import SynthError
            from pyspark_synth.spark.convert import schema_from_json

            try:
                entry = SynthSample._entry(table.value, None if version is None else version.value)
            except SynthError as exc:  # re-raised here so Spark's message shows it without a deep traceback
                raise type(exc)(f"synth_sample: {exc}") from None
            return AnalyzeResult(schema=schema_from_json(entry.spark_schema))

        def eval(self, table: str, num_rows: Any = None, seed: Any = None, version: Any = None) -> Any:
            import math

            import pandas as pd
            from pyspark import TaskContext
            from pyspark.sql.types import TimestampType

            from pyspark_synth.seeds import resolve_seed
            from pyspark_synth.spark.convert import schema_from_json
            from pyspark_synth.spark.sample_table import DEFAULT_BLOCK_SIZE
            from pyspark_synth.spark.udfs import table_blocks
            from pyspark_synth.spec import check_num_rows

            entry = SynthSample._entry(table, version)
            spec = entry.spec
            n = spec.row_count if num_rows is None else check_num_rows(num_rows, "synth_sample: num_rows")
            if n == 0 or spec.is_empty:
                if n > 0:
                    from pyspark_synth.errors import DataError

                    raise DataError(f"synth_sample: table '{table}' had no rows when it was fitted; ask for 0 rows")
                return
            fn = table_blocks(spec.to_json(), entry.model_bytes(), seed=resolve_seed(None if seed is None else int(seed)),
                              num_rows=n, block_size=DEFAULT_BLOCK_SIZE, backend=shipped.get(spec.backend))
            # mapInPandas reads naive timestamps in the session time zone; do the same (Spark
            # propagates SQL confs to tasks as local properties), so the rows equal sample_table's
            tz = TaskContext.get().getLocalProperty("spark.sql.session.timeZone") if TaskContext.get() else None
            ts_cols = [f.name for f in schema_from_json(spec.spark_schema).fields if isinstance(f.dataType, TimestampType)]
            blocks = pd.DataFrame({"block": range(math.ceil(n / DEFAULT_BLOCK_SIZE))})
            for pdf in fn(iter([blocks])):
                for c in ts_cols:
                    if pdf[c].dt.tz is None:
                        pdf[c] = pdf[c].dt.tz_localize(tz or "UTC", ambiguous=False)
                rows = pdf.astype(object).where(pdf.notna(), None)  # NaN / NaT -> NULL, as mapInPandas
                yield from rows.itertuples(index=False, name=None)

    return udtf(SynthSample, useArrow=True)


def register_table_functions(spark: SparkSession, *, registry: str | None = None) -> list[str]:
    """Register `synth_sample` as a temporary function of `spark`; returns the names registered.

    The function carries the model backends registered (`register_backend`) at this point: call
    it again after registering another one.

    Args:
        spark: The session (classic or Spark Connect).
        registry: Registry root; defaults to the session's (`spark.synth.registryRoot`).
    """
    from pyspark_synth.io.registry import registry_for

    reg = registry_for(spark, registry)
    spark.udtf.register("synth_sample", sample_udtf(str(reg.root), reg.namespace))
    return ["synth_sample"]
