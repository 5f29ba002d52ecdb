"""The Spark Connect suite's session: a local Spark Connect server started in this process.

`SparkSession.builder.remote("local[2]")` starts the server (a classic driver inside this process
that serves Spark Connect) and returns a Connect client session. A process that has done this
runs pyspark's functions in their Connect versions, so a classic session cannot share it: this
directory runs in its own pytest invocation (`python -m pytest tests/connect`, see .ci/run), and
the root conftest leaves it out of the default run. Classic sessions of these tests run in
subprocesses.
"""

from __future__ import annotations

import os
import sys

import pytest


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """A Spark Connect session on a local server (UI off, 2 shuffle partitions, UTC, a temp warehouse)."""
    pytest.importorskip("grpc", reason="Spark Connect needs the connect extra (pip install -e '.[dev]')")
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the server's Python workers run this Python
    warehouse = tmp_path_factory.mktemp("connect-warehouse")
    session = (
        SparkSession.builder.remote("local[2]")
        .appName("pyspark-synth-connect-tests")
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
    assert type(session).__module__.startswith("pyspark.sql.connect"), type(session)
    yield session
    session.stop()
