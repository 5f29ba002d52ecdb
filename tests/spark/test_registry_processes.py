"""The catalog registry across processes: another session on the same warehouse, the directory
registry of earlier versions, and a fitting process killed mid-fit (each in its own Spark process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # subprocesses with their own Spark session

_SESSION = """
import os, sys, warnings
import pandas as pd
from pyspark.sql import SparkSession
import pyspark_synth
from pyspark_synth import fit_table, sample_table
spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "1").config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.warehouse.dir", {warehouse!r}).getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
df = spark.createDataFrame(pd.DataFrame({{"k": range(120), "x": [i % 7 * 1.5 for i in range(120)], "c": ["a", "b", "c"] * 40}}))
"""


def _run(code: str, tmp_path, *, timeout: float = 600, wait_for: str | None = None, kill_after: float = 0.0) -> str:
    """Run `code` in a new Python process; with `wait_for`, SIGKILL its process group once that line is out."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "PYSPARK_PYTHON": sys.executable}
    proc = subprocess.Popen([sys.executable, "-u", "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, cwd=str(tmp_path), start_new_session=True)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            lines.append(line)
            if wait_for is not None and line.startswith(wait_for):
                time.sleep(kill_after)
                os.killpg(proc.pid, signal.SIGKILL)  # the Python driver and its JVM, mid-work
                break
            if time.monotonic() > deadline:
                break
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    out = "".join(lines)
    if wait_for is None:
        assert proc.returncode == 0, out[-4000:]
    else:
        assert any(line.startswith(wait_for) for line in lines), out[-4000:]
    return out


_HIVE_SESSION = _SESSION.replace(".getOrCreate())", ".config('javax.jdo.option.ConnectionURL', "
                                  "'jdbc:derby:;databaseName=' + {warehouse!r} + '/metastore_db;create=true')"
                                  ".enableHiveSupport().getOrCreate())")


def test_a_second_session_lists_the_model_with_sql_and_samples_it(tmp_path):
    """With a metastore (Hive, here a Derby one beside the warehouse) the catalog table is simply there;
    without one (the in-memory catalog) `activate()` registers what the warehouse holds."""
    for kind, session in (("hive", _HIVE_SESSION), ("in-memory", _SESSION)):
        wh = str(tmp_path / f"wh-{kind}")
        _run(session.format(warehouse=wh) + textwrap.dedent(f"""
            e = fit_table(df, table="people", backend="copula", seed=1)
            sample_table(spark, "people", 50, seed=2).toPandas().to_parquet("first-{kind}.parquet")
            print("CATALOG", spark.conf.get("spark.sql.catalogImplementation"))
        """), tmp_path)
        out = _run(session.format(warehouse=wh) + textwrap.dedent(f"""
            print("CATALOG", spark.conf.get("spark.sql.catalogImplementation"))
            if "{kind}" == "in-memory":  # a new application's in-memory catalog has never seen synth_models
                spark.synth.activate(procedures=False)
            rows = spark.sql("SELECT table, version, backend, fitted_at FROM synth_models").collect()
            print("LISTED", [(r.table, r.version, r.backend, r.fitted_at is not None) for r in rows])
            again = sample_table(spark, "people", 50, seed=2).toPandas()
            pd.testing.assert_frame_equal(again, pd.read_parquet("first-{kind}.parquet"))
            print("SAME-ROWS")
        """), tmp_path)
        assert f"CATALOG {kind}" in out
        assert "LISTED [('people', 1, 'copula', True)]" in out and "SAME-ROWS" in out, out[-3000:]


def test_the_directory_registry_of_earlier_versions_loads_and_migrates(tmp_path):
    wh = str(tmp_path / "wh")
    out = _run(_SESSION.format(warehouse=wh) + textwrap.dedent("""
        from pyspark_synth.errors import SynthError
        from pyspark_synth.io.registry import ModelRegistry
        # what earlier versions did by default: a directory registry at <warehouse>/synth_models
        old = ModelRegistry(os.path.join(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:"), "synth_models"))
        fit_table(df, table="people", backend="copula", seed=1, registry=old)
        before = sample_table(spark, "people", 40, seed=3, registry=old).toPandas()
        # the default registry is now the catalog table: the old models still load (read-only, with a warning)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = sample_table(spark, "people", 40, seed=3).toPandas()
        pd.testing.assert_frame_equal(loaded, before)
        print("WARNED", any("migrate_registry" in str(w.message) for w in caught))
        # a new fit says how to move them into the catalog table
        try:
            fit_table(df, table="people", backend="copula", seed=2)
        except SynthError as exc:
            print("REFUSED", "pyspark_synth.migrate_registry(spark)" in str(exc))
        print("MIGRATED", pyspark_synth.migrate_registry(spark))
        rows = spark.sql("SELECT table, version FROM synth_models WHERE kind = 'table'").collect()
        print("LISTED", [(r.table, r.version) for r in rows])
        pd.testing.assert_frame_equal(sample_table(spark, "people", 40, seed=3).toPandas(), before)
        print("NEXT", fit_table(df, table="people", backend="copula", seed=2).version)
    """), tmp_path)
    assert "WARNED True" in out and "REFUSED True" in out
    assert "MIGRATED {'default': [('people', 1)]}" in out
    assert "LISTED [('people', 1)]" in out and "NEXT 2" in out
    assert os.path.isdir(os.path.join(wh, "synth_models.directory-registry", "default", "people", "v1"))


def test_a_fit_killed_midway_leaves_the_previous_version_usable_and_no_half_version(tmp_path):
    wh = str(tmp_path / "wh")
    _run(_SESSION.format(warehouse=wh) + textwrap.dedent("""
        print("V1", fit_table(df, table="people", backend="copula", seed=1).version)
        sample_table(spark, "people", 30, seed=5).toPandas().to_parquet("v1.parquet")
    """), tmp_path)
    # killed while training (a long CTGAN fit of version 2)
    _run(_SESSION.format(warehouse=wh) + textwrap.dedent("""
        print("TRAINING", flush=True)
        fit_table(df, table="people", backend="ctgan", epochs=100000, batch_size=20, seed=2)
    """), tmp_path, wait_for="TRAINING", kill_after=8.0)
    # killed while saving: after version 2 is claimed, before its row is written
    _run(_SESSION.format(warehouse=wh) + textwrap.dedent("""
        import time
        from pyspark_synth.io import catalog_registry
        location = catalog_registry.CatalogRegistry._partition_location
        def claimed_then_stall(self, *args):
            loc = location(self, *args)
            print("CLAIMED", args, flush=True)
            time.sleep(600)
            return loc
        catalog_registry.CatalogRegistry._partition_location = claimed_then_stall
        fit_table(df, table="people", backend="copula", seed=3)
    """), tmp_path, wait_for="CLAIMED", kill_after=1.0)
    out = _run(_SESSION.format(warehouse=wh) + textwrap.dedent("""
        from pyspark_synth.io.registry import registry_for
        reg = registry_for(spark)
        print("VERSIONS", reg.versions("people"))
        print("LATEST", reg.get("people").version)
        pd.testing.assert_frame_equal(sample_table(spark, "people", 30, seed=5).toPandas(), pd.read_parquet("v1.parquet"))
        print("SAME-ROWS")
        print("SQL", [r.version for r in spark.sql("SELECT version FROM synth_models WHERE table = 'people'").collect()])
        print("NEXT", fit_table(df, table="people", backend="copula", seed=4).version)
    """), tmp_path)
    assert "VERSIONS [1]" in out and "LATEST 1" in out and "SAME-ROWS" in out and "SQL [1]" in out
    assert "NEXT 3" in out  # version 2 stays claimed by the killed writer: never listed, never reused
