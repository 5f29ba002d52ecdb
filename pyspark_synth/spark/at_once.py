"""Independent small Spark jobs of the planning submitted side by side, from driver threads.

Fitting a database plans with many small Spark jobs, one or a few per table or key (a profile,
a key check, a lookup test), each on a table that may be tiny. Such a job's time is mostly
latency: scheduling, code generation, a shuffle's round trips, not the cores' work. Spark runs
the jobs of several driver threads at once, so submitting the independent ones together hides
that latency (`each_at_once`). The threads inherit the caller's local properties (job group,
description, Spark Connect tags), so cancelling the caller's group cancels them too, and the
results come back in the order of the items whatever order the jobs finish in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["PLANNING_THREADS", "each_at_once"]

T = TypeVar("T")
R = TypeVar("R")

# driver threads submitting planning jobs at once (the jobs are small; more threads than this
# gained nothing on chinook's 11 tables)
PLANNING_THREADS = 4


def each_at_once(spark: Any, fn: Callable[[T], R], items: Iterable[T], threads: int = PLANNING_THREADS) -> list[R]:
    """`[fn(x) for x in items]`, the calls made from up to `threads` driver threads at once.

    Each call must be independent of the others (its own Spark jobs, no shared state). The first
    exception raised (in the items' order) is raised here once every call has ended.
    """
    todo = list(items)
    if len(todo) < 2 or threads < 2:
        return [fn(x) for x in todo]
    from pyspark.util import inheritable_thread_target

    # with the session, its tags are inherited too (classic and Spark Connect alike)
    target = inheritable_thread_target(spark)(fn) if spark is not None else inheritable_thread_target(fn)
    with ThreadPoolExecutor(max_workers=min(threads, len(todo)), thread_name_prefix="pyspark_synth-plan") as pool:
        futures = [pool.submit(target, x) for x in todo]
        return [f.result() for f in futures]
