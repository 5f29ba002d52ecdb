"""Rows that several steps of a sampling plan read: computed once and kept on the executors.

Generating a child table reads its parents' rows, the drawn counts and the expanded rows several
times (counts, keys, dealing of other foreign keys). Each such frame is computed once, when the
plan is built, and kept on the executors' disks (a local checkpoint; a reliable one when the
SparkContext has a checkpoint directory), which also cuts it from its lineage so later plans stay
small. Nothing here changes the session's conf.

Declarative pipelines may not run jobs while their definitions are built: inside `plans_only()`
the frames stay in the plan instead (recomputed where they are read; the rows are the same).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["kept", "plans_only", "planning_only"]

_PLANS_ONLY: ContextVar[bool] = ContextVar("pyspark_synth_plans_only", default=False)


@contextmanager
def plans_only() -> Iterator[None]:
    """Within the block, `kept` computes nothing: frames stay part of the plans that read them."""
    token = _PLANS_ONLY.set(True)
    try:
        yield
    finally:
        _PLANS_ONLY.reset(token)


def planning_only() -> bool:
    """True inside `plans_only()` (no job may run while plans are built)."""
    return _PLANS_ONLY.get()


def kept(df: DataFrame) -> DataFrame:
    """`df` computed now and kept on the executors' disks (as it is, inside `plans_only()`)."""
    if _PLANS_ONLY.get():
        return df
    from pyspark import StorageLevel

    try:
        reliable = bool(df.sparkSession.sparkContext.getCheckpointDir())
    except Exception:  # noqa: BLE001 - Spark Connect sessions have no SparkContext
        reliable = False
    return df.checkpoint(eager=True) if reliable else df.localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)
