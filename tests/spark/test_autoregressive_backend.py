"""The autoregressive backend through the Spark fit and sampling path (registry, executors, schema)."""

from __future__ import annotations

import pandas as pd
import pytest

from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.spark.fit_table import fit_table
from pyspark_synth.spark.sample_table import sample_table


@pytest.fixture(scope="module")
def people(spark):
    from tests.spark.test_generation import people_frame

    return spark.createDataFrame(people_frame().drop(columns=["birth", "note"]))


def test_fit_and_sample_through_spark(spark, people, tmp_path_factory):
    registry = ModelRegistry(tmp_path_factory.mktemp("ar_registry"))
    # `city` looks like PII and would be faked by default; here it is learned as it is
    entry = fit_table(people, table="people", backend="autoregressive", registry=registry, seed=3, epochs=2,
                      hidden_size=16, pii="ignore")
    assert entry.backend == "autoregressive"
    out = sample_table(spark, "people", 500, seed=7, registry=registry)
    assert out.schema == people.schema
    rows = out.toPandas()
    assert len(rows) == 500 and rows["person_id"].is_unique
    assert set(rows["city"].dropna()) <= {"Tokyo", "Berlin", "Lima", "Oslo"}
    again = sample_table(spark, "people", 500, seed=7, registry=registry).toPandas()
    pd.testing.assert_frame_equal(rows, again)
