"""examples/pipeline run with `spark-pipelines run` (Spark Declarative Pipelines over Spark Connect).

The fixture fits the models first (the pipeline fits nothing); the test runs the real project and
checks the materialized synthetic tables: row counts, keys, referential integrity, and that they
are the rows the Python API gives for the same seed.
"""

from __future__ import annotations

import importlib.util
import os
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
CHINOOK = ROOT.parent / "shared" / "datasets" / "chinook"


def _example_module():
    spec = importlib.util.spec_from_file_location("synth_pipeline_fit_models", PROJECT / "fit_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def registry(spark, tmp_path_factory):
    """Chinook customers and invoices fitted (copula) into a fresh registry, as fit_models.py does."""
    if not (CHINOOK / "Customer.csv").is_file():
        pytest.skip(f"the chinook dataset is not at {CHINOOK}")
    root = tmp_path_factory.mktemp("pipeline-registry")
    entries = _example_module().fit_models(spark, CHINOOK, root, backend="copula", seed=1)
    assert sorted(entries) == ["customers", "invoices"]
    return root


@pytest.fixture(scope="module")
def materialized(registry, tmp_path_factory):
    """The example project copied to a temp dir, pointed at the registry, and run."""
    project = tmp_path_factory.mktemp("pipeline") / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("synth-models", "spark-warehouse", "__pycache__"))
    spec_path = project / "spark-pipeline.yml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["storage"] = (project / "storage").as_uri()
    spec["configuration"]["spark.synth.registryRoot"] = str(registry)
    spec_path.write_text(yaml.safe_dump(spec))
    import pyspark

    home = Path(pyspark.__file__).resolve().parent
    env = {**os.environ, "SPARK_HOME": str(home), "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    proc = subprocess.run([str(home / "bin" / "spark-pipelines"), "run", "--spec", str(spec_path)], cwd=project,
                          env=env, capture_output=True, text=True, timeout=1200)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "Run is COMPLETED" in log
    return project / "spark-warehouse", spec["configuration"]


def test_pipeline_materializes_a_consistent_synthetic_database(spark, registry, materialized):
    warehouse, conf = materialized
    customers = spark.read.parquet(str(warehouse / "customers"))
    invoices = spark.read.parquet(str(warehouse / "invoices"))
    n, seed = int(conf["spark.synth.pipeline.customers"]), int(conf["spark.synth.pipeline.seed"])
    assert customers.count() == n
    assert customers.select("customer_id").distinct().count() == n
    n_inv = invoices.count()
    assert n_inv > n  # chinook customers have about seven invoices each
    assert invoices.select("invoice_id").distinct().count() == n_inv
    assert invoices.join(customers, "customer_id", "left_anti").count() == 0  # every invoice has its customer
    # the pipeline's rows are the Python API's rows for the same seed
    expected_customers = sample_table(spark, "customers", n, seed=seed, registry=str(registry))
    assert_df_equality(customers, expected_customers, ignore_row_order=True, ignore_nullable=True)
    expected_invoices = sample_children(spark, "invoices", expected_customers, seed=seed, registry=str(registry))
    assert_df_equality(invoices, expected_invoices, ignore_row_order=True, ignore_nullable=True)
