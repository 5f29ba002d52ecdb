"""Fitting on Spark: bounded driver work, uniform training samples, no session changes, the spec and explain."""

from __future__ import annotations

import json
import tempfile

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import (
    DataError,
    Metadata,
    SynthError,
    explain,
    fit_database,
    fit_table,
    sample_database,
)
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.spark import fit_database as fit_database_module
from pyspark_synth.spark.fit_table import training_sample, uniform_sample


def test_the_training_sample_is_uniform_over_partitions_and_ignores_the_layout(spark):
    # 10 partitions of 1,000 rows: `sample(fraction).limit(n)` took the first partitions' rows
    df = spark.range(10_000, numPartitions=10).selectExpr("id", "id div 1000 AS part")
    rows = training_sample(df, 10_000, 300, seed=3)
    per_part = rows.groupby("part").size().reindex(range(10), fill_value=0)
    assert len(rows) == 300 and per_part.min() >= 15, per_part.to_dict()
    again = training_sample(df.repartition(3), 10_000, 300, seed=3)
    pd.testing.assert_frame_equal(rows, again)  # the same rows, in the same order, whatever the partitioning
    assert uniform_sample(df, 20_000, 10_000, seed=1) is df  # small tables are taken whole


def test_learned_laws_never_bring_one_row_per_parent_to_the_driver(spark, tmp_path, monkeypatch):
    # 5,000 secondary parents: their law of children per parent is a Spark histogram, and the
    # driving linkage and the training rows are bounded samples (here bounded to 500)
    rng = np.random.default_rng(0)
    n_products, n_orders = 5_000, 3_000
    customers = spark.createDataFrame(pd.DataFrame({"cid": np.arange(400), "seg": rng.choice(["a", "b"], 400)}))
    products = spark.range(n_products).selectExpr("id AS pid", "CAST(id % 7 AS DOUBLE) AS price")
    orders = spark.createDataFrame(pd.DataFrame({"oid": np.arange(n_orders), "cid": rng.integers(0, 400, n_orders),
                                                 "pid": rng.integers(0, n_products, n_orders)}))
    md = Metadata().add_table("customers", pk="cid").add_table("products", pk="pid")
    md.add_table("orders", pk="oid", fk={"cid": "customers.cid", "pid": "products.pid"}, driving_parent="customers")
    largest: list[int] = []
    frame_class = type(customers)  # the session's DataFrame class (classic)
    for name in ("toPandas", "collect"):
        original = getattr(frame_class, name)

        def spy(self, _original=original):  # noqa: ANN001, ANN202
            out = _original(self)
            largest.append(len(out))
            return out

        monkeypatch.setattr(frame_class, name, spy)
    monkeypatch.setattr(fit_database_module, "_LINKAGE_ROWS", 500)
    report = fit_database(spark, md, {"customers": customers, "products": products, "orders": orders},
                          backend="copula", sample_rows=500, seed=1, registry=ModelRegistry(tmp_path))
    assert max(largest) <= 500, sorted(largest)[-5:]
    law = report.entries["orders"].spec.secondary[0].law
    assert law.values[0] == 0 and sum(law.values) < 50  # 0, 1, 2, ... children per product


@pytest.fixture(scope="module")
def shop(spark, tmp_path_factory):
    rng = np.random.default_rng(2)
    customers = pd.DataFrame({"cid": np.arange(120), "seg": rng.choice(["gold", "basic"], 120)})
    orders = pd.DataFrame({"oid": np.arange(500), "cid": rng.integers(0, 120, 500), "amount": rng.gamma(2, 20, 500)})
    md = Metadata().add_table("customers", pk="cid").add_table("orders", pk="oid", fk={"cid": "customers.cid"})
    reg = ModelRegistry(tmp_path_factory.mktemp("shop"))
    frames = {"customers": spark.createDataFrame(customers), "orders": spark.createDataFrame(orders)}
    before = dict(spark.conf.getAll)
    report = fit_database(spark, md, frames, backend="copula", seed=3, registry=reg)
    assert dict(spark.conf.getAll) == before  # fitting leaves the session's conf as it was
    return md, reg, report


def test_explain_says_what_sampling_will_do_before_any_job(spark, shop):
    md, reg, report = shop
    tracker = spark.sparkContext.statusTracker()
    spark.sparkContext.setJobGroup("explain", "explain must not run jobs")
    try:
        text = explain(spark, md, {"customers": 60}, registry=reg)
    finally:
        spark.sparkContext.setJobGroup("", "")
    assert list(tracker.getJobIdsForGroup("explain")) == []
    mean = report.entries["orders"].spec.driving.mean_children
    assert f"orders: ~{60 * mean:,.0f} rows (500 real; copula model)" in text
    assert "driven by cid -> customers.cid: each of ~60 parents draws its children" in text
    assert text.splitlines()[1].strip().startswith("1. customers")
    assert report.explain({"customers": 60}) == text
    # the registry keeps the database spec, so explain needs no metadata
    assert explain(spark, None, {"customers": 60}, registry=reg, catalog_table="no_such_catalog_table") == text
    assert spark.synth.explain(md, {"customers": 60}, registry=reg) == text
    with pytest.raises(DataError, match=r"num_rows for table 'customers' must be an integer number of rows"):
        explain(spark, md, {"customers": 1.5}, registry=reg)


def test_sampling_sizes_accept_numpy_integers_and_the_conf_is_untouched(spark, shop):
    md, reg, _ = shop
    before = dict(spark.conf.getAll)
    out = sample_database(spark, md, {"customers": np.int64(30)}, seed=1, registry=reg)
    assert dict(spark.conf.getAll) == before
    assert out["customers"].count() == 30
    with pytest.raises(DataError, match="must be an integer number of rows"):
        sample_database(spark, md, {"customers": 1.5}, registry=reg)
    assert spark.synth.sample("customers", np.int64(7), registry=reg, seed=1).count() == 7


def test_a_misspelt_hyper_parameter_fails_before_any_spark_job(spark, shop, tmp_path):
    md, _, _ = shop
    tracker = spark.sparkContext.statusTracker()
    spark.sparkContext.setJobGroup("typo", "no job before the arguments are checked")
    try:
        with pytest.raises(SynthError, match=r"Backend 'copula' has no parameter 'n_quantile'\. Did you mean 'n_quantiles'"):
            fit_database(spark, md, {"customers": spark.range(3).selectExpr("id AS cid"),
                                     "orders": spark.range(3).selectExpr("id AS oid", "id AS cid")},
                         backend="copula", n_quantile=10, registry=ModelRegistry(tmp_path))
    finally:
        spark.sparkContext.setJobGroup("", "")
    assert list(tracker.getJobIdsForGroup("typo")) == []
    df = spark.createDataFrame(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))
    entry = fit_table(df, table="t", backend="copula", epochs=5, registry=ModelRegistry(tmp_path), seed=0)
    assert [n for n in entry.spec.notes if "epochs" in n] == [
        "epochs=5 not used: the 'copula' backend does not train in epochs or batches"]


def _archive(entry) -> tuple:  # noqa: ANN001
    """A model archive's content (the zip's own timestamps aside)."""
    from pyspark_synth.models._archive import unpack

    def timeless(x):  # noqa: ANN001, ANN202 - training histories record wall seconds
        if isinstance(x, dict):
            return {k: timeless(v) for k, v in x.items() if k != "seconds"}
        return [timeless(v) for v in x] if isinstance(x, list) else x

    header, arrays = unpack(entry.model_bytes())
    return json.dumps(timeless(header["config"]), sort_keys=True, default=str), {k: v.tolist() for k, v in arrays.items()}


def _no_driver_slot(monkeypatch) -> None:  # noqa: ANN001
    """Every table a task of the job, as on a cluster (the local master's driver slot off), however
    little work the job gets (its minimum off: these tests' tables train in a moment)."""
    from pyspark_synth.spark import fit_job

    monkeypatch.setattr(fit_job, "driver_takes_a_slot", lambda spark: False)
    _no_minimum(monkeypatch)


def _no_minimum(monkeypatch) -> None:  # noqa: ANN001
    """A job for any work, however little (`fit_job.MIN_JOB_WORK` off)."""
    from pyspark_synth.spark import fit_job

    monkeypatch.setattr(fit_job, "MIN_JOB_WORK", 0.0)


@pytest.mark.parametrize(("backend", "driver_slot"), [pytest.param("copula", True, marks=pytest.mark.slow), ("copula", False), ("ctgan", True),
                                                    pytest.param("ctgan", False, marks=pytest.mark.slow)])
def test_a_spark_job_fit_gives_the_models_of_the_sequential_fit(spark, tmp_path, backend, driver_slot, monkeypatch):
    _no_minimum(monkeypatch)
    if not driver_slot:
        _no_driver_slot(monkeypatch)
    rng = np.random.default_rng(5)
    customers = pd.DataFrame({"cid": np.arange(80), "seg": rng.choice(["a", "b"], 80), "age": rng.integers(18, 90, 80)})
    orders = pd.DataFrame({"oid": np.arange(240), "cid": rng.integers(0, 80, 240), "amount": rng.gamma(2, 10, 240)})
    md = Metadata().add_table("customers", pk="cid").add_table("orders", pk="oid", fk={"cid": "customers.cid"})
    frames = {"customers": spark.createDataFrame(customers), "orders": spark.createDataFrame(orders)}
    kw = {} if backend == "copula" else {"epochs": 1, "batch_size": 20, "generator_dim": (16,), "critic_dim": (16,),
                                         "pac": 2, "threads": 1}
    runs = {}
    for where in ("driver", "spark"):
        runs[where] = fit_database(spark, md, frames, backend=backend, seed=9, registry=ModelRegistry(tmp_path / where),
                                   fit_in=where, **kw)
    for name in ("customers", "orders"):
        a, b = runs["driver"].entries[name], runs["spark"].entries[name]
        assert _archive(a) == _archive(b), name
        assert a.spec.model_copy(update={"model": None}) == b.spec.model_copy(update={"model": None})


def test_a_task_trains_on_the_frame_the_driver_reads_dates_timestamps_and_decimals_included(spark, tmp_path,
                                                                                          monkeypatch):
    """A task reads its sample from Arrow; the driver with `toPandas()`, which gives timestamps as
    naive wall-clock times and dates as objects. The task must see the same frame, or the same
    seed gives another model (northwind's orders did)."""
    import datetime as dt
    from decimal import Decimal

    _no_driver_slot(monkeypatch)
    rng = np.random.default_rng(4)
    n = 600  # above the small-table size, so the job trains it
    start = dt.datetime(2020, 1, 1)
    orders = pd.DataFrame({"oid": np.arange(n), "placed": [start + dt.timedelta(hours=int(h)) for h in rng.integers(0, 9000, n)],
                           "due": [(start + dt.timedelta(days=int(d))).date() for d in rng.integers(0, 400, n)],
                           "price": [Decimal(f"{v:.2f}") for v in rng.gamma(2, 10, n)]})
    md = Metadata().add_table("orders", pk="oid")
    frame = spark.createDataFrame(orders, "oid long, placed timestamp, due date, price decimal(10,2)")
    runs = {where: fit_database(spark, md, {"orders": frame}, backend="copula", seed=2,
                                registry=ModelRegistry(tmp_path / where), fit_in=where, pii="ignore")
            for where in ("driver", "spark")}
    a, b = runs["driver"].entries["orders"], runs["spark"].entries["orders"]
    assert _archive(a) == _archive(b)
    assert a.spec.model_copy(update={"model": None}) == b.spec.model_copy(update={"model": None})


def _failing_backend() -> type:
    from pyspark_synth.models.copula import GaussianCopula

    class Brittle(GaussianCopula):
        def fit(self, data, context=None, **kw):  # noqa: ANN001, ANN201
            if "amount" in data.columns:
                raise ValueError("cannot learn amounts")
            return super().fit(data, context=context, **kw)

    return Brittle


@pytest.mark.parametrize("fit_in", ["spark", "spark, every table in the job", "driver"])
def test_a_failing_table_is_named_and_the_others_are_stored(spark, tmp_path, fit_in, monkeypatch):
    from pyspark_synth.models.base import _BACKENDS, register_backend
    from pyspark_synth.spark.fit_database import FitError

    if fit_in != "driver":
        _no_minimum(monkeypatch)
        if fit_in != "spark":
            _no_driver_slot(monkeypatch)
        fit_in = "spark"

    register_backend("brittle", _failing_backend())
    try:
        rng = np.random.default_rng(1)
        customers = spark.createDataFrame(pd.DataFrame({"cid": np.arange(30), "seg": rng.choice(["a", "b"], 30)}))
        orders = spark.createDataFrame(pd.DataFrame({"oid": np.arange(60), "cid": rng.integers(0, 30, 60),
                                                     "amount": rng.normal(size=60)}))
        md = Metadata().add_table("customers", pk="cid").add_table("orders", pk="oid", fk={"cid": "customers.cid"})
        reg = ModelRegistry(tmp_path)
        with pytest.raises(FitError, match=r"1 of 2 tables failed to fit.*table 'orders': ValueError: cannot learn amounts") as info:
            fit_database(spark, md, {"customers": customers, "orders": orders}, backend="brittle", seed=1,
                         registry=reg, fit_in=fit_in)
        assert list(info.value.report.entries) == ["customers"] and reg.versions("orders") == []
        assert reg.get("customers").backend == "brittle"
    finally:
        _BACKENDS.pop("brittle", None)


def test_the_automatic_backend_is_the_default_and_the_choice_is_reported(spark, tmp_path):
    from tests.unit.test_auto_backend import _gaussian, _ring

    small = _gaussian(100).assign(sid=np.arange(100))
    ring = _ring(2000).assign(rid=np.arange(2000), sid=np.arange(2000) % 100)
    md = Metadata().add_table("small", pk="sid").add_table("ring", pk="rid", fk={"sid": "small.sid"})
    report = fit_database(spark, md, {"small": spark.createDataFrame(small), "ring": spark.createDataFrame(ring)},
                          epochs=2, seed=3, registry=ModelRegistry(tmp_path))
    chosen = {t: e.backend for t, e in report.entries.items()}
    assert chosen == {"small": "copula", "ring": "autoregressive"}
    notes = report.entries["ring"].spec.notes
    assert any(n.startswith("backend 'auto' chose 'autoregressive': a copula scores") for n in notes), notes
    assert any("100 rows: a small table" in n for n in report.entries["small"].spec.notes)
    assert report.entries["ring"].spec.model_report  # the autoregressive model says what it chose
    with pytest.raises(SynthError, match=r"backend='auto' chooses each table's backend.*\['n_quantiles'\]"):
        fit_table(spark.createDataFrame(small), table="small", n_quantiles=3, registry=ModelRegistry(tmp_path))


def _task_recording_backend() -> type:
    from pyspark_synth.models.copula import GaussianCopula

    class Recording(GaussianCopula):
        uses_torch = True  # it reads torch's threads, so the training sets them

        def fit(self, data, context=None, **kw):  # noqa: ANN001, ANN201
            import torch
            from pyspark import TaskContext

            out = super().fit(data, context=context, **kw)
            task = TaskContext.get()
            self.fit_report_ = {"partition": task.partitionId() if task else None, "threads": torch.get_num_threads()}
            return out

    return Recording


def _three_tables(spark):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(2)
    shops = pd.DataFrame({"sid": np.arange(10), "kind": rng.choice(["a", "b"], 10)})
    customers = pd.DataFrame({"cid": np.arange(60), "seg": rng.choice(["a", "b"], 60), "age": rng.integers(18, 90, 60)})
    orders = pd.DataFrame({"oid": np.arange(400), "cid": rng.integers(0, 60, 400), "amount": rng.gamma(2, 10, 400),
                           "qty": rng.integers(1, 5, 400)})
    md = (Metadata().add_table("shops", pk="sid").add_table("customers", pk="cid")
          .add_table("orders", pk="oid", fk={"cid": "customers.cid"}))
    return md, {"shops": spark.createDataFrame(shops), "customers": spark.createDataFrame(customers),
                "orders": spark.createDataFrame(orders)}


def _recorded_tasks(spark, path, **kw) -> dict[str, int | None]:  # noqa: ANN001
    """Fit the three tables with the recording backend: each table's task partition (None: the
    driver), after checking every table trained with one torch thread (2 cores: 1 each at most)."""
    md, frames = _three_tables(spark)
    report = fit_database(spark, md, frames, backend="recording", seed=1, registry=ModelRegistry(path),
                          fit_in="spark", pii="ignore", **kw)
    assert all(e.spec.model_report["threads"] == 1 for e in report.entries.values())
    return {t: e.spec.model_report["partition"] for t, e in report.entries.items()}


@pytest.fixture
def recording():  # noqa: ANN201
    from pyspark_synth.models.base import _BACKENDS, register_backend

    register_backend("recording", _task_recording_backend())
    yield
    _BACKENDS.pop("recording", None)


@pytest.mark.slow
def test_each_table_trains_in_its_own_task_biggest_first_and_parallelism_bounds_the_tasks(spark, tmp_path,
                                                                                           monkeypatch, recording):
    """Spark 4 plans a union of single-partition frames as one partition: every table then trained
    in one task, one after another. On a cluster each table must get its own task (biggest work
    first, so Spark's in-order start is longest-first scheduling), and `parallelism` groups them."""
    _no_driver_slot(monkeypatch)
    tasks = _recorded_tasks(spark, tmp_path / "a")
    assert tasks == {"orders": 0, "customers": 1, "shops": 2}, tasks
    assert set(_recorded_tasks(spark, tmp_path / "b", parallelism=1).values()) == {0}
    with pytest.raises(SynthError, match=r"parallelism=0: the number of tables trained at once must be at least 1"):
        _recorded_tasks(spark, tmp_path / "c", parallelism=0)


@pytest.mark.slow
def test_on_a_local_master_the_driver_trains_the_biggest_slot_and_the_job_the_rest(spark, tmp_path, recording,
                                                                                  monkeypatch):
    """On local[2] the driver's process is one of two slots: the biggest table trains there (no
    task), the two small ones share the job's one task; one slot (`parallelism=1`) runs no job."""
    from pyspark_synth.spark.fit_job import driver_takes_a_slot

    _no_minimum(monkeypatch)
    assert driver_takes_a_slot(spark)  # the tests' master is local[2]
    tasks = _recorded_tasks(spark, tmp_path / "a")
    assert tasks == {"orders": None, "customers": 0, "shops": 0}, tasks
    assert set(_recorded_tasks(spark, tmp_path / "b", parallelism=1).values()) == {None}


def _no_job(monkeypatch) -> None:  # noqa: ANN001
    """The training job refused: a fit that submits it fails."""
    from pyspark_synth.spark import fit_job

    def no_job(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the training job ran")

    monkeypatch.setattr(fit_job, "_run_job", no_job)


@pytest.mark.slow
def test_copula_tables_are_fitted_by_the_driver_without_a_job(spark, tmp_path, monkeypatch):
    """A copula on a few hundred rows costs less to fit than to ship: with the automatic backend
    such tables never reach the training job, on any master (the job is refused here), and neither
    does a bigger table whose automatic choice, made in the driver, is the copula."""
    _no_driver_slot(monkeypatch)  # as on a cluster, a job for any work
    _no_job(monkeypatch)
    md, frames = _three_tables(spark)
    report = fit_database(spark, md, frames, seed=1, registry=ModelRegistry(tmp_path), fit_in="spark", pii="ignore")
    assert {t: e.backend for t, e in report.entries.items()} == {"shops": "copula", "customers": "copula",
                                                                  "orders": "copula"}
    rng = np.random.default_rng(3)
    big = spark.createDataFrame(pd.DataFrame({"oid": np.arange(2000), "cid": rng.integers(0, 60, 2000),
                                              "amount": rng.gamma(2, 10, 2000), "qty": rng.integers(1, 5, 2000)}))
    report = fit_database(spark, md, {**frames, "orders": big}, seed=1, registry=ModelRegistry(tmp_path / "b"),
                          fit_in="spark", pii="ignore", epochs=1)  # 2,000 rows: probed, and the copula kept
    assert any(n.startswith("backend 'auto' chose 'copula': a copula scores") for n in report.entries["orders"].spec.notes)
    with pytest.raises(AssertionError, match="the training job ran"):  # 2,000 rows of a backend asked for: the job's
        fit_database(spark, md, {**frames, "orders": big}, backend="copula", seed=1,
                     registry=ModelRegistry(tmp_path / "c"), fit_in="spark", pii="ignore")


@pytest.mark.slow
def test_too_little_training_for_a_job_trains_in_the_driver_on_any_master(spark, tmp_path, monkeypatch, recording):
    """Starting a job (Python workers, their imports, a shuffle per sample) costs seconds: when
    the training it would overlap (every task's work but the longest's, the driver being idle) is
    less than `MIN_JOB_WORK`, the driver trains every table, with a cluster's master too; from it
    on, they are the job's."""
    from pyspark_synth.spark import fit_job

    monkeypatch.setattr(fit_job, "driver_takes_a_slot", lambda spark: False)  # as on a cluster
    md, frames = _three_tables(spark)
    costs = [fit_job.training_cost(p) for p in _prepared(spark, md, frames)]
    work = sum(costs) - max(costs)  # one task per table
    assert fit_job.job_overlap([[p] for p in _prepared(spark, md, frames)], []) == work
    monkeypatch.setattr(fit_job, "MIN_JOB_WORK", work + 1)
    refused = pytest.MonkeyPatch()
    _no_job(refused)
    try:
        assert set(_recorded_tasks(spark, tmp_path / "a").values()) == {None}
    finally:
        refused.undo()
    monkeypatch.setattr(fit_job, "MIN_JOB_WORK", work)  # just enough: every table a task
    assert None not in _recorded_tasks(spark, tmp_path / "b").values()


def _prepared(spark, md, frames) -> list:  # noqa: ANN001
    """The three tables as `fit_database` prepares them for the job (recorded from one fit)."""
    from pyspark_synth.spark import fit_job

    seen: list = []
    real = fit_job.train_in_spark

    def spy(spark, prepared, **kw):  # noqa: ANN001, ANN003, ANN202
        seen.extend(p for p in prepared if not p.empty)
        return real(spark, prepared, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fit_job, "train_in_spark", spy)
        fit_database(spark, md, frames, backend="recording", seed=1, registry=ModelRegistry(tempfile.mkdtemp()),
                     fit_in="spark", pii="ignore")
    return seen


@pytest.mark.slow
def test_the_automatic_choice_is_made_once_in_the_driver_and_the_task_trains_it(spark, tmp_path, monkeypatch):
    """A table small enough to bring to the driver has its automatic backend chosen there, before
    the job is planned (so a copula is never shipped and the job is scheduled by real training):
    the task trains that choice, and the model and its notes are those of the sequential fit."""
    from pyspark_synth.spark import fit_job
    from tests.unit.test_auto_backend import _gaussian, _ring

    _no_driver_slot(monkeypatch)
    shipped: list = []
    real = fit_job._run_job

    def spy(spark, slots, per_table, user, here, choices):  # noqa: ANN001, ANN202
        shipped.append(({p.name for slot in slots for p in slot}, dict(choices)))
        return real(spark, slots, per_table, user, here, choices)

    monkeypatch.setattr(fit_job, "_run_job", spy)
    small = _gaussian(100).assign(sid=np.arange(100))
    ring = _ring(1200).assign(rid=np.arange(1200), sid=np.arange(1200) % 100)
    md = Metadata().add_table("small", pk="sid").add_table("ring", pk="rid", fk={"sid": "small.sid"})
    frames = {"small": spark.createDataFrame(small), "ring": spark.createDataFrame(ring)}
    runs = {where: fit_database(spark, md, frames, epochs=1, seed=3, registry=ModelRegistry(tmp_path / where),
                                fit_in=where, pii="ignore") for where in ("driver", "spark")}
    assert len(shipped) == 1 and shipped[0][0] == {"ring"}, shipped
    assert shipped[0][1]["ring"][0] == "autoregressive"
    a, b = runs["driver"].entries["ring"], runs["spark"].entries["ring"]
    assert b.backend == "autoregressive" and _archive(a) == _archive(b)
    assert a.spec.notes == b.spec.notes


def test_the_partition_keys_match_sparks_hash_partitioning(spark):
    from pyspark.sql import functions as F

    from pyspark_synth.spark.fit_job import _murmur3_int, partition_keys

    rows = spark.range(-40, 120).select(F.col("id").cast("int").alias("i"), F.hash(F.col("id").cast("int")).alias("h")).collect()
    assert [_murmur3_int(r.i) for r in rows] == [r.h for r in rows]
    for n in (1, 3, 7):
        keyed = spark.createDataFrame([(k, i) for i, k in enumerate(partition_keys(n))], "k int, want int").repartition(n, "k")
        placed = keyed.rdd.mapPartitionsWithIndex(lambda idx, it: [(idx, r.want) for r in it]).collect()
        assert sorted(placed) == [(i, i) for i in range(n)]


def test_threads_follow_each_tables_share_of_the_work():
    from pyspark_synth.spark.fit_job import threads_by_share

    # 16 cores of 8-core executors: a dominant table gets half an executor (at most 4), small ones one thread
    assert threads_by_share({"big": 900.0, "a": 50.0, "b": 50.0}, 16, 8, None) == {"big": 4, "a": 1, "b": 1}
    assert threads_by_share({"x": 1.0, "y": 1.0}, 8, 8, None) == {"x": 4, "y": 4}
    assert threads_by_share({"x": 1.0, "y": 3.0}, 2, 2, None) == {"x": 1, "y": 1}  # two cores: never two threads
    assert threads_by_share({"x": 1.0, "y": 3.0}, 8, 8, 3) == {"x": 3, "y": 3}  # the caller's threads win
