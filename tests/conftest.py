"""Shared fixtures: one session-scoped local SparkSession, and helpers to restore conf changes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"
CONNECT_TESTS = ROOT / "tests" / "connect"


def pytest_ignore_collect(collection_path, config):
    """tests/connect runs only when named (`python -m pytest tests/connect`, as .ci/run does).

    Its session is a Spark Connect one, and a process that has started Spark Connect switches
    pyspark's functions to their Connect versions (`SPARK_CONNECT_MODE_ENABLED`), which breaks a
    classic session in the same process: the two suites run in separate pytest invocations.
    """
    path = Path(collection_path).resolve()
    if path != CONNECT_TESTS and CONNECT_TESTS not in path.parents:
        return None
    named = [Path(str(a).split("::")[0]).resolve() for a in config.args]
    return None if any(a == CONNECT_TESTS or CONNECT_TESTS in a.parents for a in named) else True


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """The active SparkSession, else a local[2] one (UI off, 2 shuffle partitions, UTC)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    warehouse = tmp_path_factory.mktemp("warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("pyspark-synth-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def spark_conf(spark):
    """Set Spark SQL conf for one test; the previous values are restored afterwards."""
    saved: dict[str, str | None] = {}

    def _set(key: str, value: str) -> None:
        if key not in saved:
            saved[key] = spark.conf.get(key, None)
        spark.conf.set(key, value)

    yield _set
    for key, value in saved.items():
        if value is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, value)
