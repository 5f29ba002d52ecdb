"""Data-parallel training of one table with TorchDistributor (`fit_table/fit_database(distributed=...)`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import (
    DataError,
    DistributedTraining,
    Metadata,
    PrivacyConfig,
    PrivacyError,
    SynthError,
    fit_database,
    fit_table,
    sample_table,
)
from pyspark_synth.io.registry import ModelRegistry
from tests.spark.test_fitting import _archive

SMALL = {"epochs": 1, "hidden_size": 16, "pii": "ignore"}


def _table(spark, n: int = 400):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(2)
    return spark.createDataFrame(pd.DataFrame({"id": np.arange(n), "a": rng.normal(size=n),
                                               "b": rng.choice(list("xyz"), n), "c": rng.integers(0, 9, n)}))


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"distributed": 0}, DataError, r"fit_table: distributed=0: the number of training processes must be >= 1"),
    ({"distributed": 2, "backend": "ctgan"}, SynthError, r"backend 'ctgan' cannot train with distributed="),
    ({"distributed": 2, "backend": "copula"}, SynthError, r"backend 'copula' cannot train with distributed="),
    ({"distributed": 2, "privacy": PrivacyConfig(enable_differential_privacy=True, epsilon=3.0)}, PrivacyError,
     r"distributed training cannot be combined with differential privacy"),
    ({"distributed": 10_000}, DataError, r"runs 10000 processes on the driver, which has \d+ cores"),
    ({"distributed": DistributedTraining(3, local_mode=False)}, DataError,
     r"one barrier task per process.*this session has no cluster \(master 'local\[2\]'\) with 2 slots"),
    ({"distributed": DistributedTraining(1, use_gpu=True)}, DataError,
     r"needs 1 GPUs on the driver, and the session declares 0"),
])
def test_what_cannot_train_data_parallel_fails_before_any_spark_job(spark, tmp_path, kwargs, error, match):
    df = _table(spark)
    tracker = spark.sparkContext.statusTracker()
    spark.sparkContext.setJobGroup("ddp-refused", "no job before distributed= is checked")
    try:
        with pytest.raises(error, match=match):
            fit_table(df, table="t", registry=ModelRegistry(tmp_path), **{"backend": "autoregressive", **kwargs})
    finally:
        spark.sparkContext.setJobGroup("", "")
    assert list(tracker.getJobIdsForGroup("ddp-refused")) == []


def test_fit_database_checks_distributed_before_any_spark_job(spark, tmp_path):
    md = Metadata().add_table("t", pk="id")
    with pytest.raises(SynthError, match=r"fit_database: backend 'copula' cannot train with distributed="):
        fit_database(spark, md, {"t": _table(spark)}, backend="copula", distributed=2, registry=ModelRegistry(tmp_path))


@pytest.mark.slow
def test_two_processes_train_a_model_that_samples_the_table_the_same_for_a_seed(spark, tmp_path):
    df = _table(spark)
    entries = [fit_table(df, table="t", seed=7, distributed=2, registry=ModelRegistry(tmp_path / f"r{i}"), **SMALL)
               for i in range(2)]
    a, b = entries
    assert _archive(a) == _archive(b)  # the same weights and report (wall seconds aside)
    assert a.backend == "autoregressive"  # "auto" trains the backend that trains data-parallel
    assert a.spec.model_report["data_parallel"] == {"processes": 2, "backend": "gloo", "device": "cpu"}
    assert any("backend 'auto' trains 'autoregressive' with distributed training" in n for n in a.spec.notes)
    assert any("trained data-parallel in 2 processes on the driver (TorchDistributor, CPUs over gloo" in n
               for n in a.spec.notes)
    out = sample_table(spark, "t", num_rows=30, registry=ModelRegistry(tmp_path / "r0"), seed=1)
    assert out.schema == df.schema and out.count() == 30
    assert set(out.toPandas()["b"]) <= {"x", "y", "z"}


@pytest.mark.slow
def test_fit_database_trains_the_tables_above_min_rows_data_parallel(spark, tmp_path):
    rng = np.random.default_rng(3)
    customers = pd.DataFrame({"cid": np.arange(40), "seg": rng.choice(["a", "b"], 40)})
    orders = pd.DataFrame({"oid": np.arange(600), "cid": rng.integers(0, 40, 600), "amount": rng.gamma(2, 10, 600)})
    md = Metadata().add_table("customers", pk="cid").add_table("orders", pk="oid", fk={"cid": "customers.cid"})
    report = fit_database(spark, md, {"customers": spark.createDataFrame(customers),
                                      "orders": spark.createDataFrame(orders)},
                          seed=5, epochs=1, pii="ignore", registry=ModelRegistry(tmp_path),
                          distributed=DistributedTraining(2, min_rows=500))
    orders_notes, customer_notes = report.entries["orders"].spec.notes, report.entries["customers"].spec.notes
    assert report.entries["orders"].backend == "autoregressive"
    assert report.entries["orders"].spec.model_report["data_parallel"]["processes"] == 2
    assert any("trained data-parallel in 2 processes" in n for n in orders_notes)
    assert not any("data-parallel" in n for n in customer_notes)  # 40 rows: trained as usual
    assert report.entries["customers"].backend == "copula"  # "auto" still chooses for the others
