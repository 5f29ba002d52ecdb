"""Rows that several steps of a sampling plan read: computed once and kept on the executors.

Generating a child table reads its parents' rows, the drawn counts and the expanded rows several
times (counts, keys, dealing of other foreign keys). Each such frame is computed once, when the
plan is built, and kept on the executors' disks (a local checkpoint; a reliable one when the
SparkContext has a checkpoint directory), which also cuts it from its lineage so later plans stay
small. Nothing here changes the session's conf.

Declarative pipelines may not run jobs while their definitions are built: inside `plans_only()`
the frames stay in the plan instead (recomputed where they are read; the rows are the same).

On Spark Connect a checkpointed frame is a relation cached on the server, which the client
releases when its Python object is collected. Left to the garbage collector at interpreter exit,
that release is a gRPC call from a finalizer, which can block the process for ever. So the
relations kept here are tracked and released explicitly: by `release_kept()` (when the frames
that read them are no longer needed) or, at the latest, by an `atexit` hook that runs before the
interpreter tears down.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["kept", "kept_relations", "plans_only", "planning_only", "release_kept"]

_log = get_logger("checkpoints")
_PLANS_ONLY: ContextVar[bool] = ContextVar("pyspark_synth_plans_only", default=False)
_KEPT: weakref.WeakSet[Any] = weakref.WeakSet()  # Connect's CachedRemoteRelation plans made by kept()
_LOCK = threading.Lock()
_HOOKED = False


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
    out = df.checkpoint(eager=True) if reliable else df.localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)
    _track(out)
    return out


def _track(df: Any) -> None:
    """Remember a Connect frame's server-side relation, to release it before the interpreter exits."""
    global _HOOKED
    plan = getattr(df, "_plan", None)
    if type(plan).__name__ != "CachedRemoteRelation":
        return  # a classic session: the checkpoint lives as long as its SparkContext
    with _LOCK:
        _KEPT.add(plan)
        if not _HOOKED:
            atexit.register(release_kept)
            _HOOKED = True


def kept_relations(spark: Any = None) -> int:
    """How many relations `kept` cached on a Connect server are not released yet (of `spark`, or all)."""
    with _LOCK:
        plans = list(_KEPT)
    return sum(1 for p in plans if getattr(p, "_relation_id", None) is not None
               and (spark is None or getattr(p, "_spark_session", None) is spark))


def release_kept(spark: Any = None) -> int:
    """Release the relations `kept` cached on Spark Connect servers (of `spark`, or all); returns how many.

    Frames that read them (the child tables of a `sample_database` result) cannot be used
    afterwards. It runs by itself at interpreter exit; call it earlier to free the server's
    memory, e.g. when a notebook has written what it sampled. A classic session has nothing to
    release.
    """
    with _LOCK:
        plans = list(_KEPT)
    released = 0
    for plan in plans:
        session = getattr(plan, "_spark_session", None)
        if spark is not None and session is not spark:
            continue
        relation_id = getattr(plan, "_relation_id", None)
        if relation_id is None:
            continue
        try:
            if session is not None and not session.client.is_closed:
                from pyspark.sql.connect.plan import RemoveRemoteCachedRelation

                session.client.execute_command(RemoveRemoteCachedRelation(plan).command(session.client))
                released += 1
        except Exception as exc:  # noqa: BLE001 - the server may be gone; the session ends with it
            _log.warning("could not release a kept relation", relation=relation_id, error=str(exc))
        plan._relation_id = None  # its finalizer has nothing left to release
        with _LOCK:
            _KEPT.discard(plan)
    return released
