"""SQL table functions: `SELECT * FROM synth_sample('customers', 1000, 7)` as a Python UDTF.

`analyze` reads the table's schema from the model registry (so the function's columns are the
fitted table's columns) and `eval` generates the rows with the same deterministic blocks as
`sample_table`: the same (table, num_rows, seed) gives the same rows as `spark.synth.sample`
and `CALL synth.sample`. The table name is read by the package's one rule
(`io.names.parse_table_name`: `'default.adult'` and `` '`adult`' `` name the model `adult`).

Both run in Python workers, which have no Spark session. With a directory registry they read the
directory given at registration (it must be readable where Spark runs Python workers). With the
catalog registry (the default) the function carries the latest version of every fitted table,
read when it is registered; a save to the same registry from the session that registered it
adds the new version at once (older versions: `CALL synth.sample(..., version => N)`). One call
generates its rows in one task; for tens of millions of rows use
`CALL synth.sample(..., output => ...)`, which generates in parallel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.udtf import UserDefinedTableFunction

__all__ = ["register_table_functions", "sample_udtf", "snapshot_item"]

_REGISTERED: dict[Any, dict[str, Any]] = {}  # session -> what its synth_sample carries


def snapshot_item(entry: Any) -> dict[str, Any]:
    """What the table function carries of one fitted version (its spec and archive)."""
    return {"version": entry.version, "spec": entry.spec.to_json(), "fitted_at": entry.fitted_at, "path": entry.path,
            "model": entry.model_bytes() if entry.spec.model is not None else None}


def _snapshot_entry(snapshot: dict[str, dict[str, Any]], where: str, table: str, version: Any) -> Any:
    """The entry of `table` from a carried snapshot (runs in a Python worker)."""
    from pyspark_synth.errors import NotFittedError
    from pyspark_synth.io.registry_base import ModelEntry
    from pyspark_synth.spec import TableSpec

    item = snapshot.get(table)
    if item is None:
        raise NotFittedError(f"Table '{table}' has no fitted model in the {where} (as registered for synth_sample). "
                             f"Fitted tables: {sorted(snapshot)}. Call fit() first (df.synth.fit(table='{table}', ...)), "
                             "or register the table function again (pyspark_synth.spark.sql.activate(spark)).")
    if version is not None and int(version) != item["version"]:
        raise NotFittedError(f"synth_sample serves the latest version of each table (table '{table}': v{item['version']}), "
                             f"not v{int(version)}. For that version use CALL synth.sample(table => '{table}', "
                             f"version => {int(version)}) or pyspark_synth.sample_table(spark, '{table}', version={int(version)}).")
    spec = TableSpec.from_json(item["spec"], where=f"The spec of table '{table}' v{item['version']}")
    return ModelEntry(table=table, version=item["version"], path=item["path"], fitted_at=item["fitted_at"], spec=spec,
                      archive=item["model"] if item["model"] is not None else b"")


def sample_udtf(root: str | None = None, namespace: str = "default", backends: dict[str, type] | None = None, *,
                snapshot: dict[str, dict[str, Any]] | None = None, where: str = "model registry") -> UserDefinedTableFunction:
    """The `synth_sample(table, num_rows, seed, version)` UDTF over the registry at `root`, or over a
    snapshot of a catalog registry (`{table: snapshot_item(entry)}`).

    `backends` are the user-registered model classes (`{name: class}`) the function carries to the
    Python workers, which never ran the driver's `register_backend`; by default those registered
    when this is called.
    """
    from pyspark.sql.functions import udtf

    from pyspark_synth.models.base import user_backends

    if (root is None) == (snapshot is None):
        raise ValueError("sample_udtf needs a registry root or a snapshot, exactly one of them")
    shipped = dict(user_backends() if backends is None else backends)

    class SynthSample:
        """synth_sample(table, num_rows = original size, seed = random, version = latest)."""

        @staticmethod
        def _entry(table: Any, version: Any) -> Any:
            from pyspark_synth.errors import DataError
            from pyspark_synth.io.names import model_name
            from pyspark_synth.io.registry import ModelRegistry

            if not isinstance(table, str) or not table:
                raise DataError(f"synth_sample: the first argument must be a fitted table's name, got {table!r}")
            if shipped:  # opening an entry rebuilds its model, which needs the user's classes here too
                from pyspark_synth.models.base import register_backend

                for backend_name, cls in shipped.items():
                    register_backend(backend_name, cls)
            if snapshot is not None:
                return _snapshot_entry(snapshot, where, model_name(table), version)
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
            spec.copied_rows(n, "synth_sample")
            if n == 0 or spec.is_empty:
                if n > 0:
                    from pyspark_synth.errors import DataError

                    raise DataError(f"synth_sample: table '{table}' had no rows when it was fitted; ask for 0 rows")
                return
            fn = table_blocks(spec.to_json(), None if spec.is_copied else entry.model_bytes(), seed=resolve_seed(None if seed is None else int(seed)),
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


def _session_key(spark: Any) -> Any:
    """What identifies a session across its Python wrappers (Connect: its id; classic: the JVM session)."""
    sid = getattr(spark, "session_id", None)
    if isinstance(sid, str):
        return ("connect", sid)
    try:
        return ("classic", int(spark._jsparkSession.hashCode()))  # noqa: SLF001
    except Exception:  # noqa: BLE001
        return ("object", id(spark))


def register_table_functions(spark: SparkSession, *, registry: Any = None) -> list[str]:
    """Register `synth_sample` as a temporary function of `spark`; returns the names registered.

    The function carries the model backends registered (`register_backend`) at this point: call
    it again after registering another one.

    Args:
        spark: The session (classic or Spark Connect).
        registry: A registry or a directory registry's root; defaults to the session's (see
            `io.registry.registry_for`).
    """
    from pyspark_synth.io import catalog_registry
    from pyspark_synth.io.registry import ModelRegistry, registry_for

    reg = registry_for(spark, registry)
    if isinstance(reg, ModelRegistry):
        _REGISTERED.pop(_session_key(spark), None)
        spark.udtf.register("synth_sample", sample_udtf(str(reg.root), reg.namespace))
        return ["synth_sample"]
    snapshot = {t: snapshot_item(reg.get(t)) for t in reg.tables()}
    state = {"registry": (str(getattr(reg, "name", reg.location)), reg.namespace), "where": reg.location,
             "snapshot": snapshot}
    _REGISTERED[_session_key(spark)] = state
    catalog_registry.on_save(_after_save)
    spark.udtf.register("synth_sample", sample_udtf(snapshot=snapshot, where=reg.location))
    return ["synth_sample"]


def _after_save(spark: Any, registry: Any, entry: Any) -> None:
    """A catalog registry saved `entry` from `spark`: its synth_sample serves the new version now."""
    state = _REGISTERED.get(_session_key(spark))
    if state is None or state["registry"] != (str(registry.name), registry.namespace):
        return
    state["snapshot"] = {**state["snapshot"], entry.table: snapshot_item(entry)}
    spark.udtf.register("synth_sample", sample_udtf(snapshot=state["snapshot"], where=state["where"]))
