"""The embedded default SparkSession used when the caller has none (CLI, demo, seed API)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["get_or_create_session"]


def get_or_create_session(
    app_name: str = "pyspark-synth",
    *,
    master: str | None = None,
    warehouse: str | None = None,
    hive: bool = False,
    extra_conf: dict[str, str] | None = None,
) -> SparkSession:
    """Return the active SparkSession, or start a local one (UTC, UI off, few shuffle partitions).

    Args:
        app_name: Application name of a new session.
        master: Master URL of a new session; defaults to `local[*]`.
        warehouse: `spark.sql.warehouse.dir` of a new session (a catalog that survives restarts
            needs the same warehouse, and `hive=True` for a persistent metastore).
        hive: Enable Hive support (a Derby metastore beside the warehouse).
        extra_conf: More Spark conf for a new session.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = (
        SparkSession.builder.appName(app_name)
        .master(master or os.environ.get("PYSPARK_SYNTH_MASTER", "local[*]"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", os.environ.get("PYSPARK_SYNTH_SHUFFLE_PARTITIONS", "8"))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", os.environ.get("PYSPARK_SYNTH_DRIVER_MEMORY", "4g"))
    )
    if warehouse:
        wh = os.path.abspath(warehouse)
        builder = builder.config("spark.sql.warehouse.dir", wh)
        if hive:
            builder = builder.config(
                "javax.jdo.option.ConnectionURL", f"jdbc:derby:;databaseName={os.path.join(wh, 'metastore_db')};create=true"
            )
    if hive:
        builder = builder.enableHiveSupport()
    for k, v in (extra_conf or {}).items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
