"""The planning's independent Spark jobs submitted from several driver threads (`spark.at_once`)."""

from __future__ import annotations

import threading

import pytest

from pyspark_synth.spark.at_once import each_at_once


def test_results_keep_the_items_order_and_the_callers_job_group(spark):
    """The calls run on other threads at once, each sees the caller's local properties (its job
    group, so cancelling the caller's group cancels them), and the results are in item order."""
    sc = spark.sparkContext
    sc.setJobGroup("caller-group", "planning", False)
    try:
        seen = []
        started = threading.Barrier(3, timeout=60)  # three calls running at the same time, or it breaks

        def job(n: int) -> int:
            started.wait()
            seen.append((threading.current_thread().name, sc.getLocalProperty("spark.jobGroup.id")))
            return spark.range(n).count()

        assert each_at_once(spark, job, [3, 1, 2]) == [3, 1, 2]
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    assert {group for _, group in seen} == {"caller-group"}
    assert all(name.startswith("pyspark_synth-plan") for name, _ in seen)


def test_the_first_failure_in_item_order_is_raised(spark):
    def job(n: int) -> int:
        if n % 2:
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match="item 1"):
        each_at_once(spark, job, [0, 1, 2, 3])
    assert each_at_once(spark, job, [4]) == [4]  # one item: called here
