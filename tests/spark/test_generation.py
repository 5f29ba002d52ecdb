"""Generation as a Spark job: fit to the registry, lazy deterministic sampling (writes: test_writers.py)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality

from pyspark_synth.errors import DataError, NotFittedError
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.spark.sample_table import sample_table


def people_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.5, n)
    income[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({
        "person_id": np.arange(1, n + 1, dtype=np.int32),
        "age": rng.integers(18, 90, n).astype(np.int64),
        "income": income,
        "city": rng.choice(["Tokyo", "Berlin", "Lima", "Oslo"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "active": rng.random(n) < 0.7,
        "signup": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**8, n), unit="s"),
        "birth": [dt.date(1950, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 20000, n)],
        # free text: shared words plus a word unique to the row (never to be generated)
        "note": [f"{a} {b} ref{i}" for i, (a, b) in enumerate(zip(rng.choice(NOTE_WORDS, n), rng.choice(NOTE_WORDS, n), strict=True))],
    })


NOTE_WORDS = ["call", "back", "later", "paid", "late", "new", "customer"]


@pytest.fixture(scope="module")
def people(spark):
    from pyspark.sql import types as T

    schema = T.StructType([
        T.StructField("person_id", T.IntegerType(), False),
        T.StructField("age", T.LongType(), True),
        T.StructField("income", T.DoubleType(), True),
        T.StructField("city", T.StringType(), True),
        T.StructField("active", T.BooleanType(), True),
        T.StructField("signup", T.TimestampType(), True),
        T.StructField("birth", T.DateType(), True),
        T.StructField("note", T.StringType(), True),
    ])
    return spark.createDataFrame(people_frame(), schema=schema)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return ModelRegistry(tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="module")
def fitted(people, registry):
    # `city` looks like PII (a city) and would be faked by default; here it is learned as it is
    return people.synth.fit(table="people", backend="copula", registry=registry, seed=3, pii="ignore")


def test_fit_records_the_model_in_registry_and_catalog(spark, fitted, registry):
    assert fitted.version == 1 and fitted.row_count == 400 and fitted.table == "people"
    assert registry.get("people").path == fitted.path
    row = spark.sql("SELECT * FROM synth_metadata WHERE record_type = 'model' AND table_name = 'people'").collect()
    assert row and '"row_count": 400' in row[-1].detail


def test_sample_is_lazy_and_keeps_the_schema(spark, people, fitted, registry):
    tracker = spark.sparkContext.statusTracker()
    spark.sparkContext.setJobGroup("lazy-check", "lazy-check")
    df = spark.synth.sample("people", 1000, seed=1, registry=registry)
    assert tracker.getJobIdsForGroup("lazy-check") == []
    spark.sparkContext.setJobGroup("", "")
    assert df.schema == people.schema
    pdf = df.toPandas()
    assert len(pdf) == 1000
    assert pdf["person_id"].is_unique and pdf["person_id"].min() == 1
    assert set(pdf["city"]) <= {"Tokyo", "Berlin", "Lima", "Oslo"}
    assert 0.02 < pdf["income"].isna().mean() < 0.2
    assert pdf["age"].between(18, 89).all()
    notes = pdf["note"].dropna()
    assert len(notes) > 900 and set(" ".join(notes).split()) <= set(NOTE_WORDS)  # no row-unique word leaks


def test_same_rows_whatever_the_partitioning(spark, fitted, registry):
    frames = [sample_table(spark, "people", 9000, seed=11, registry=registry, num_partitions=p, block_size=1000)
              for p in (1, 3, 7)]
    assert [f.rdd.getNumPartitions() for f in frames] == [1, 3, 7]
    for other in frames[1:]:
        assert_df_equality(frames[0], other, ignore_row_order=True)
    different = sample_table(spark, "people", 9000, seed=12, registry=registry, block_size=1000)
    assert frames[0].exceptAll(different).count() > 8000


def test_default_num_rows_is_the_original_count(spark, fitted, registry):
    assert sample_table(spark, "people", registry=registry, seed=0).count() == 400
    assert sample_table(spark, "people", 0, registry=registry, seed=0).count() == 0


def test_sampling_errors(spark, fitted, registry, tmp_path):
    with pytest.raises(NotFittedError, match=r"Table 'ghost' has no fitted model .* Fitted tables: \['people'\]. Call fit\(\) first"):
        spark.synth.sample("ghost", 10, registry=registry)
    with pytest.raises(NotFittedError, match=r"Call fit\(\) first"):
        spark.synth.sample("people", 10, registry=ModelRegistry(tmp_path / "empty"))
    with pytest.raises(DataError, match=r"num_rows for table 'people' must be 0 or more, got -5"):
        spark.synth.sample("people", -5, registry=registry)
    with pytest.raises(DataError, match=r"must be an integer"):
        spark.synth.sample("people", 2.5, registry=registry)


@pytest.mark.slow  # a second Spark session in a subprocess
def test_registry_round_trip_in_a_new_session(tmp_path):
    code = textwrap.dedent(f"""
        import pandas as pd
        from pyspark_synth.spark.session import get_or_create_session
        from pyspark_synth.spark.fit_table import fit_table
        from pyspark_synth.spark.sample_table import sample_table
        s1 = get_or_create_session(master="local[1]", warehouse={str(tmp_path / 'wh')!r})
        s1.conf.set("spark.synth.registryRoot", {str(tmp_path / 'models')!r})
        df = s1.createDataFrame(pd.DataFrame({{"k": range(200), "x": [i % 7 * 1.5 for i in range(200)], "c": ["a", "b"] * 100}}))
        fit_table(df, table="t", backend="copula", seed=1)
        first = sample_table(s1, "t", 300, seed=9).toPandas()
        s1.stop()
        s2 = get_or_create_session(master="local[1]", warehouse={str(tmp_path / 'wh')!r})
        s2.conf.set("spark.synth.registryRoot", {str(tmp_path / 'models')!r})
        second = sample_table(s2, "t", 300, seed=9).toPandas()
        pd.testing.assert_frame_equal(first, second)
        print("REGISTRY-OK")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "REGISTRY-OK" in out.stdout, out.stderr[-3000:]
