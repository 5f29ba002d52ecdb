"""A real JDBC client: beeline (from the pyspark wheel) runs CALL synth.sample against a Thrift server in this process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.spark.fit_table import fit_table
from pyspark_synth.spark.thrift import start_thrift_server

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.slow]  # a Thrift server and beeline

_KEYS = ("spark.synth.registryRoot",)


@pytest.fixture
def thrift(spark, tmp_path):
    """A model of `thrift_people` in a private registry, and a Thrift server on a free loopback port."""
    saved = {k: spark.conf.get(k, None) for k in _KEYS}
    spark.conf.set("spark.synth.registryRoot", str(tmp_path / "registry"))
    rng = np.random.default_rng(0)
    people = pd.DataFrame({"person_id": np.arange(1, 121), "age": rng.integers(18, 90, 120),
                           "city": rng.choice(["Oslo", "Lima", "Pune"], 120)})
    fit_table(spark.createDataFrame(people), table="thrift_people", backend="copula", seed=1)
    from tests.spark.test_conf_unchanged import ACTIVATE_KEYS, THRIFT_KEYS, conf_unchanged

    # (checked here: a Thrift server starts once per driver JVM, see the last test)
    with conf_unchanged(spark, "start_thrift_server", allowed=ACTIVATE_KEYS | THRIFT_KEYS):
        server = start_thrift_server(spark, host="127.0.0.1")
    yield server
    server.stop()
    spark.sql("DROP DATABASE IF EXISTS thrift_sandbox CASCADE")
    jconf = spark.sparkContext._conf._jconf
    for k, v in saved.items():
        jconf.remove(k)
        spark.conf.unset(k) if v is None else spark.conf.set(k, v)


def _beeline() -> Path:
    import pyspark

    path = Path(pyspark.__file__).resolve().parent / "bin" / "beeline"
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} is missing or not executable")
    return path


def test_beeline_calls_synth_sample(spark, thrift):
    assert thrift.host == "127.0.0.1"
    script = (
        "CALL synth.sample(table => 'thrift_people', num_rows => 25, seed => 7, output => 'thrift_sandbox.people');\n"
        "SELECT count(*) AS n, count(DISTINCT person_id) AS ids FROM thrift_sandbox.people;\n"
        "CALL synth.sample(table => 'nope', num_rows => 5);\n"
    )
    home = Path(_beeline()).parents[1]
    proc = subprocess.run(
        [str(_beeline()), "-u", thrift.jdbc_url, "-n", "synth", "--silent=true", "--outputformat=csv2", "-e", script],
        capture_output=True, text=True, timeout=600, env={**os.environ, "SPARK_HOME": str(home)},
    )
    out = proc.stdout.splitlines()
    assert "table_name,output,num_rows,seed,model_version" in out, proc.stderr[-2000:]
    assert "thrift_people,thrift_sandbox.people,25,7,1" in out
    assert out[out.index("n,ids") + 1] == "25,25"
    assert spark.table("thrift_sandbox.people").count() == 25  # written by the JDBC session, seen here
    # the failing CALL stops beeline with the procedure's own message as the error's first line
    assert proc.returncode != 0
    error = next(line for line in proc.stderr.splitlines() if line.startswith("Error:"))
    assert "synth.sample: NotFittedError: Table 'nope' has no fitted model" in error
    assert "Fitted tables: ['thrift_people']" in error and "Call fit() first" in error


@pytest.mark.slow  # a Thrift server
def test_a_second_thrift_server_in_one_driver_is_refused_with_what_to_do(spark):
    from pyspark_synth.errors import SynthError

    try:
        start_thrift_server(spark, host="127.0.0.1").stop()
    except SynthError:
        pass  # one was started and stopped here before (the test above)
    with pytest.raises(SynthError, match="cannot start twice in one driver JVM.*Keep the first server running"):
        start_thrift_server(spark, host="127.0.0.1")
