"""Training several tables as the tasks of one Spark job: each sample trains on an executor.

Every table's training sample is known before any model is fitted (contexts come from the real
parents), so all of a database's tables can train at once. Each sample (bounded, `sample_rows`)
is gathered into one Arrow blob on an executor, one task per table (or per slot of tables, see
`_slots`) trains it with `training.train_table`, the step the driver runs in `fit_table`. Only the
model archives and the fit reports come back to the driver, which stores them. On a local master
the driver's own process is one of the slots (`driver_takes_a_slot`): it trains the biggest
expected work itself, with no sample to ship and no Python worker to start, while the job's
tasks train the rest on the other cores; on any master the driver fits the small copula tables
(`trains_at_once`), which cost less to fit than to ship, chooses the automatic backend of the
tables small enough to bring to it (`resolves_here`: those that get the copula it fits too), and
trains everything itself when the job would overlap less training than it costs to start
(`job_overlap` under `MIN_JOB_WORK`: one shipped table while the driver only fits copulas gains nothing).
The rows a model sees, in the order it sees them, are
those of the driver's fit (`PreparedTable.split`), so a table's model does not depend on where
it trained (with the same torch threads).
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from pyspark_synth._log import get_logger
from pyspark_synth.spark.fit_table import PreparedTable

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from pyspark_synth.training import TrainedTable

__all__ = ["MIN_JOB_WORK", "RESOLVE_ROWS", "TableFailure", "driver_takes_a_slot", "executor_gpus",
           "job_overlap", "like_to_pandas", "partition_keys", "resolve_auto", "resolves_here", "threads_by_share", "train_here", "train_in_spark",
           "training_cost", "trains_at_once"]

_log = get_logger("fit_job")
# tables of this many training rows at most have their automatic backend chosen in the driver
# (their rows brought there once, as a driver's fit does)
RESOLVE_ROWS = 20_000
# overlapped work (`job_overlap`, in `training_cost` units: training rows times learned columns)
# below which a job costs more than it saves: its tasks start Python workers that import the
# package (and torch), and each sample goes through a shuffle, about 7 s on this project's 2-core
# machine; 20,000 units are 5 to 10 s of the neural backends' training on one of its cores
# (chinook's Track, 14,012: 5.7 s; northwind's orders, 10,790: 6.2 s); below it the driver trains
# every table, one after another
MIN_JOB_WORK = 20_000.0
_RESULT = ("table string, ok boolean, model binary, trained string, error string, host string, "
           "started double, finished double")


@dataclass(frozen=True)
class TableFailure:
    """A table whose training failed in the job: its error and where it happened."""

    table: str
    error: str
    host: str

    def message(self) -> str:
        """One readable line (the error's last line, with the table)."""
        last = [line for line in self.error.strip().splitlines() if line.strip()][-1:] or ["unknown error"]
        return f"table '{self.table}': {last[0]} (on {self.host})"


def training_cost(prepared: PreparedTable) -> float:
    """A table's expected training work, for scheduling: training rows times learned columns.

    Training time of every backend grows with both (rows per epoch, one output per column); the
    backend `auto` chooses is not known before the task runs, so this is an estimate, only used to
    order the tasks and share out threads.
    """
    from pyspark_synth.models.auto import learned_columns

    table = prepared.job.table
    learned = len(learned_columns(table, table.column_names)) + len(prepared.context_map or {})
    return float(max(1, prepared.training_size)) * max(1, learned)


def executor_cores(spark: SparkSession) -> int:
    """Cores one task can use at most: `spark.executor.cores` where set, else the cores of a local
    master (one JVM runs every task)."""
    from pyspark_synth.spark.sample_table import default_parallelism

    try:
        value = spark.conf.get("spark.executor.cores", None)
    except Exception:  # noqa: BLE001 - Spark Connect may refuse some conf reads
        value = None
    return max(1, int(value)) if value else max(1, default_parallelism(spark))


def threads_by_share(costs: dict[str, float], cores: int, per_executor: int, threads: int | None) -> dict[str, int]:
    """Torch threads for each table's task: `threads` when given, else the table's share of the
    cores by its share of the work, at least one and at most half an executor's cores (at most 4),
    the rule the driver's fit uses for one table (`models._ar_nets.default_threads`: more threads on
    shared cores stall at torch's barriers). One dominant table thus trains with the threads the
    small tables leave to it, not with one thread because there are many tables."""
    if threads:
        return {name: max(1, int(threads)) for name in costs}
    cap = max(1, min(4, per_executor // 2))
    total = sum(costs.values()) or 1.0
    return {name: max(1, min(cap, round(cores * c / total))) for name, c in costs.items()}


def _slots(prepared: Sequence[PreparedTable], n: int | None) -> list[list[PreparedTable]]:
    """The job's tasks, each a list of tables trained one after another.

    By default (`n` None) one task per table, biggest expected work first: Spark starts tasks in
    partition order as cores free up, so this is longest-first list scheduling, and a table whose
    training takes longer than estimated does not hold the others back. With `n` (the caller's
    `parallelism`), the tables are shared over `n` tasks up front, biggest first, each to the task
    with the least work so far, so that at most `n` tables train at once.
    """
    ordered = sorted(prepared, key=lambda p: (-training_cost(p), p.name))
    if n is None or n >= len(ordered):
        return [[p] for p in ordered]
    slots: list[list[PreparedTable]] = [[] for _ in range(max(1, n))]
    load = [0.0] * len(slots)
    for p in ordered:
        i = load.index(min(load))
        slots[i].append(p)
        load[i] += training_cost(p)
    return [s for s in slots if s]


def driver_takes_a_slot(spark: SparkSession) -> bool:
    """True on a local master (`local`, `local[N]`, `local[*]`): the driver's machine runs every
    task, so its own process is one of the training slots (no sample to ship, no worker to start
    for the tables it trains). Not on a cluster (`local-cluster`, YARN, Kubernetes, standalone),
    where the executors hold the cores and the driver only plans, nor over Spark Connect (the
    client is not the cluster's driver)."""
    try:
        master = str(spark.sparkContext.master)
    except Exception:  # noqa: BLE001 - Spark Connect: no SparkContext
        return False
    return master == "local" or (master.startswith("local[") and not master.startswith("local-cluster"))


def trains_at_once(prepared: PreparedTable) -> bool:
    """True for a table whose model is certain to be the copula on a small sample (the copula
    asked for, or `auto`, which gives a table of under `models.auto.SMALL_TABLE_ROWS` training rows
    the copula): fitting it is a few array operations on at most a few hundred rows, less than
    shipping its sample to a task costs, so the driver fits it, on any master."""
    from pyspark_synth.models.auto import AUTO_BACKEND, SMALL_TABLE_ROWS

    return (prepared.sequence is None and prepared.job.backend in (AUTO_BACKEND, "copula", "gaussian_copula")
            and prepared.training_size < SMALL_TABLE_ROWS)


def resolves_here(prepared: PreparedTable) -> bool:
    """True for a table whose automatic backend the driver chooses before it schedules the job:
    `auto` on a flat table of `SMALL_TABLE_ROWS` to `RESOLVE_ROWS` training rows (fewer are the
    copula without a probe, `trains_at_once`; more are not brought to the driver)."""
    from pyspark_synth.models.auto import AUTO_BACKEND, SMALL_TABLE_ROWS

    return (prepared.sequence is None and prepared.job.backend == AUTO_BACKEND
            and SMALL_TABLE_ROWS <= prepared.training_size <= RESOLVE_ROWS)


def resolve_auto(prepared: PreparedTable, pdf: pd.DataFrame, ctx: pd.DataFrame | None) -> tuple[str, str]:
    """`(backend, why)`: the automatic backend's choice for the table's training rows, as
    `training.train_table` would make it (same rows, same seed), so the model does not depend on
    where the choice was made."""
    from pyspark_synth.models.auto import choose_backend
    from pyspark_synth.training import auto_seed

    return choose_backend(prepared.job.table, pdf, ctx, seed=auto_seed(prepared.job))


def local_training(prepared: PreparedTable, rows: tuple[pd.DataFrame, pd.DataFrame | None] | None = None,
                   choice: tuple[str, str] | None = None) -> Any:
    """Bring a table's training sample to this process now (unless `rows`, its
    `PreparedTable.training_rows`, are here already); returns its training step.

    The returned function takes the `TrainingJob` (its threads set) and trains with the rows the
    job's task would read (`PreparedTable.training_rows`, or the sequence arrays), so the model is
    the same wherever it trains; `choice` is the automatic backend's choice when made already.
    """
    from pyspark_synth.training import train_table

    if prepared.sequence is not None:
        from pyspark_synth.spark.fit_sequence import sequence_training

        return sequence_training(prepared)
    pdf, ctx = rows if rows is not None else prepared.training_rows()
    return lambda job: train_table(job, pdf, ctx, backend_class=prepared.model_class, choice=choice)


def train_here(prepared: PreparedTable, threads: int | None = None) -> TrainedTable:
    """Train a prepared table in this process (its sample collected here), with `threads` torch
    threads unless its job sets them (None: the backend's default)."""
    job = prepared.job if threads is None else _with_threads(prepared.job, threads)
    _log.info("fitting table", table=prepared.name, backend=job.backend, rows=prepared.row_count,
              training_rows=prepared.training_size, threads=job.threads)
    return local_training(prepared)(job)


def _murmur3_int(value: int, seed: int = 42) -> int:
    """Spark's `hash()` of an IntegerType value (Murmur3 x86_32, seed 42), as a signed int32: the
    hash its `repartition(n, col)` partitions by (`pmod(hash, n)`)."""
    def mix_k1(k: int) -> int:
        k = (k * 0xCC9E2D51) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        return (k * 0x1B873593) & 0xFFFFFFFF

    h = seed ^ mix_k1(value & 0xFFFFFFFF)
    h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
    h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    h ^= 4
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def partition_keys(n: int) -> list[int]:
    """For each partition 0..n-1 of `repartition(n, key)`, an integer key that lands in it.

    A union of single-partition frames is planned as one partition by Spark 4 (so are their
    coalesces): the tasks are made by hash-partitioning on a key chosen to land each task's rows
    in its own partition.
    """
    keys: dict[int, int] = {}
    candidate = 0
    while len(keys) < n:
        keys.setdefault(_murmur3_int(candidate) % n, candidate)  # Python's % is pmod for n > 0
        candidate += 1
    return [keys[i] for i in range(n)]


def like_to_pandas(table: Any, timezone: str) -> pd.DataFrame:
    """An Arrow table of Spark's rows as pandas, exactly as `DataFrame.toPandas()` gives them (the
    driver's fit reads its sample that way, so a model trained in a task sees the same frame):
    nanosecond temporal types, dates as `datetime.date` objects, and timestamps with a time zone
    as naive wall-clock times of the session's time zone."""
    import pyarrow as pa

    pdf = table.to_pandas(coerce_temporal_nanoseconds=True, date_as_object=True)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            pdf.isetitem(i, pdf.iloc[:, i].dt.tz_convert(timezone).dt.tz_localize(None))
    return pdf


def _blobs(prepared: PreparedTable) -> list[DataFrame]:
    """The table's training sample as rows `(table, part, blob)`: each part one Arrow IPC stream,
    made on an executor. A flat table has one part (its sample); a sequence table two (0: the
    children, 1: their parents)."""
    if prepared.sequence is not None:
        return [_blob(prepared.name, prepared.sequence.children, 0), _blob(prepared.name, prepared.sequence.parents, 1)]
    return [_blob(prepared.name, prepared.sample, 0)]


def _blob(name: str, frame: DataFrame, part: int) -> DataFrame:
    import pyarrow as pa

    columns = list(frame.columns)
    schema = pa.schema([("table", pa.string()), ("part", pa.int32()), ("blob", pa.binary())])

    def pack(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        sink = pa.BufferOutputStream()
        writer = None
        for batch in batches:
            batch = batch.rename_columns(columns)  # the real names again (see below)
            if writer is None:
                writer = pa.ipc.new_stream(sink, batch.schema)
            writer.write_batch(batch)
        if writer is None:
            return
        writer.close()
        yield pa.RecordBatch.from_pydict({"table": [name], "part": [part], "blob": [sink.getvalue().to_pybytes()]},
                                         schema=schema)

    # mapInArrow cannot resolve column names with dots (`park.key`): the sample goes in under
    # positional names, and the blob carries the real ones
    positional = frame.toDF(*[f"_c{i}" for i in range(len(columns))])
    return positional.repartition(1).mapInArrow(pack, "table string, part int, blob binary")


def _collect_with_progress(spark: SparkSession, df: DataFrame | None, slots: list[list[PreparedTable]],
                           here: list[tuple[str, Any]] | None = None) -> tuple[list[Any], list[tuple[str, Any]]]:
    """`df.collect()` (the job's tasks, one per slot), while this process trains `here`'s tables,
    with a progress bar and log lines of the tasks done, running and waiting.

    `here` holds `(table, step)` pairs: each step trains one table in this process (its rows
    already collected, `local_training`), while the job runs; a step's result, or the exception
    it raised, is returned beside the job's rows. The job runs in a helper thread under its own job group (a property of
    that thread only), so the caller's thread and session are left as they are; the driver polls
    Spark's status tracker. On Spark Connect (no status tracker) it just collects.
    """
    import threading
    import uuid

    here = list(here or [])
    local: list[tuple[str, Any]] = []
    if df is not None:
        try:
            sc = spark.sparkContext
            tracker = sc.statusTracker()
        except Exception:  # noqa: BLE001 - Spark Connect: no SparkContext
            return df.collect(), [(name, _attempt(step)) for name, step in here]
    group = f"pyspark_synth-fit-{uuid.uuid4().hex[:8]}"
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            sc.setJobGroup(group, f"pyspark_synth: training {sum(len(s) for s in slots)} tables", False)
            out["rows"] = df.collect()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            out["error"] = exc

    def train_local() -> None:
        for name, step in here:
            local.append((name, _attempt(step)))

    from tqdm.auto import tqdm

    names = ["+".join(p.name for p in slot) for slot in slots] + [f"{name} (driver)" for name, _ in here]
    total = len(slots) + len(here)
    bar = tqdm(total=total, desc="training tables", unit="task", leave=False)
    threads = [threading.Thread(target=train_local, name=f"{group}-driver", daemon=True)]
    if df is not None:
        threads.append(threading.Thread(target=run, name=group, daemon=True))
    for t in threads:
        t.start()
    last = None
    while any(t.is_alive() for t in threads):
        next(t for t in threads if t.is_alive()).join(2.0)
        done = running = 0
        for job in (tracker.getJobIdsForGroup(group) if df is not None else ()):
            job_info = tracker.getJobInfo(job)
            if job_info is None or not job_info.stageIds:
                continue
            info = tracker.getStageInfo(max(job_info.stageIds))  # the result stage: one task per training task
            if info is not None and info.numTasks == len(slots):
                done, running = info.numCompletedTasks, info.numActiveTasks
        done += len(local)
        running += int(threads[0].is_alive())
        state = (done, running)
        if state != last:
            bar.update(done - bar.n)
            bar.set_postfix(running=running, waiting=max(0, total - done - running))
            _log.info("training progress", done=done, running=running, waiting=max(0, total - done - running),
                      tasks=names)
            last = state
    bar.update(total - bar.n)
    bar.close()
    if "error" in out:
        raise out["error"]
    return out.get("rows", []), local


def _attempt(step: Any) -> Any:
    """`step()`, or the formatted traceback of what it raised (as an `_Failed`)."""
    try:
        return step()
    except Exception:  # noqa: BLE001 - reported per table; the other tables go on
        return _Failed(traceback.format_exc(limit=8))


@dataclass(frozen=True)
class _Failed:
    error: str


def train_in_spark(spark: SparkSession, prepared: Sequence[PreparedTable], *, parallelism: int | None = None,
                   threads: int | None = None,
                   driver_slot: bool | None = None) -> tuple[dict[str, TrainedTable], list[TableFailure]]:
    """Train the prepared tables as one Spark job; returns (trained tables by name, failures).

    Args:
        spark: The session.
        prepared: Tables from `fit_table.prepare_table` (empty ones are left out).
        parallelism: At most this many tables train at once (the tables are then shared over
            this many slots up front, biggest first); by default one task per table, biggest
            first, as many at once as the cluster has cores.
        threads: Torch threads in each task; by default each table's share of the cores by its
            share of the work (`threads_by_share`).
        driver_slot: The driver's process is one of the slots: the tables are shared over
            `parallelism` (default: the master's cores) slots up front, biggest first, the first
            slot trains here while the job's tasks train the others (no job at all for one slot).
            None (the default): on a local master only (`driver_takes_a_slot`). On any master,
            the small copula tables (`trains_at_once`) and the tables whose automatic backend,
            chosen here (`resolves_here`), is the copula are fitted here, not in the job, and so
            is every table when the training the job would overlap is under `MIN_JOB_WORK`
            (`job_overlap`; unless the executors have GPUs, `executor_gpus`).
    """
    from functools import partial

    from pyspark_synth.models.base import user_backends
    from pyspark_synth.spark.sample_table import default_parallelism
    from pyspark_synth.training import TrainedTable

    todo = [p for p in prepared if not p.empty]
    if not todo:
        return {}, []
    if parallelism is not None and int(parallelism) < 1:
        from pyspark_synth.errors import SynthError

        raise SynthError(f"parallelism={parallelism!r}: the number of tables trained at once must be at least 1 "
                         "(or None: one task per table, as many at once as the cluster has cores)")
    cores = max(1, default_parallelism(spark))
    if driver_slot is None:
        driver_slot = driver_takes_a_slot(spark)
    # the automatic backend's choice is made here for the tables small enough to bring here: a
    # table that gets the copula is then fitted here (its rows are here, its fit takes a moment),
    # and the others are scheduled by work that is known to be training
    collected: dict[str, tuple[pd.DataFrame, pd.DataFrame | None]] = {}
    choices: dict[str, tuple[str, str]] = {}
    for p in todo:
        if resolves_here(p):
            collected[p.name] = p.training_rows()
            try:
                choices[p.name] = resolve_auto(p, *collected[p.name])
            except Exception:  # noqa: BLE001 - its training chooses again and reports the error with the table
                continue
            _log.info("automatic backend chosen in the driver", table=p.name, backend=choices[p.name][0])
    quick = [p for p in todo if trains_at_once(p) or choices.get(p.name, ("",))[0] == "copula"]
    rest = [p for p in todo if p.name not in {q.name for q in quick}]  # in `todo`'s order
    per_table = {p.name: 1 for p in quick} | threads_by_share({p.name: training_cost(p) for p in rest}, cores,
                                                              executor_cores(spark), threads)
    slots = _slots(rest, (parallelism or cores) if driver_slot else parallelism) if rest else []
    here_tables = quick + (slots.pop(0) if driver_slot and slots else [])
    quick_names = {q.name for q in quick}
    overlap = job_overlap(slots, [p for p in here_tables if p.name not in quick_names])
    if slots and overlap < MIN_JOB_WORK and not executor_gpus(spark):
        _log.info("too little training overlaps for a job: the driver trains every table", overlap=overlap,
                  minimum=MIN_JOB_WORK, tables=[p.name for slot in slots for p in slot])
        here_tables += [p for slot in slots for p in slot]
        slots = []
    # the driver's tables are collected before the job starts (a job submitted after it waits for
    # its cores, Spark's FIFO scheduler; submitting the job first measured slower on chinook and
    # northwind, 1.24 and 1.13 against 1.16 and 1.06 of the sequential fit)
    here = [(p.name, partial(local_training(p, collected.pop(p.name, None), choices.get(p.name)),
                             _with_threads(p.job, per_table[p.name]))) for p in here_tables]
    collected.clear()  # the shipped tables' rows: their tasks read their own
    if slots:
        rows, local = _run_job(spark, slots, per_table, user_backends(), here, choices)
    else:
        _log.info("training tables in the driver", tables=[p.name for p in here_tables], threads=per_table)
        rows, local = _collect_with_progress(spark, None, [], here)
    from pyspark_synth.relational.primary_keys import KeySpec

    trained: dict[str, TrainedTable] = {}
    failures: list[TableFailure] = []
    for name, result in local:
        if isinstance(result, _Failed):
            failures.append(TableFailure(name, result.error, "driver"))
        else:
            trained[name] = result
            _log.info("table trained", table=name, seconds=round(result.seconds, 1), host="driver")
    reached = {r["table"] for r in rows} | {name for name, _ in local}
    failures += [TableFailure(p.name, "its training sample reached no task (no rows)", "driver")
                 for p in todo if p.name not in reached]
    for r in rows:
        if not r["ok"]:
            failures.append(TableFailure(r["table"], r["error"], r["host"]))
            continue
        t = json.loads(r["trained"])
        trained[r["table"]] = TrainedTable(model_bytes=bytes(r["model"]), keys=tuple(KeySpec(**k) for k in t["keys"]),
                                           text=tuple(t["text"]), training_rows=int(t["training_rows"]),
                                           seconds=float(t["seconds"]), report=t["report"], backend=t["backend"],
                                           notes=tuple(t["notes"]))
        _log.info("table trained", table=r["table"], seconds=round(float(t["seconds"]), 1), host=r["host"])
    return trained, failures


def job_overlap(slots: Sequence[Sequence[PreparedTable]], here: Sequence[PreparedTable]) -> float:
    """The training work (`training_cost`) a job would take off the sequential fit's wall time:
    all of its tasks' work but the longest task's (which the job still waits for), plus the
    training the driver does meanwhile (`here`, its copula fits left out). The sequential fit
    takes the sum of all of it, the job about the driver's share or its start-up plus its longest
    task, whichever is longer: it is faster only when this overlap exceeds its start-up."""
    work = [sum(training_cost(p) for p in slot) for slot in slots]
    return sum(work) - max(work, default=0.0) + sum(training_cost(p) for p in here)


def executor_gpus(spark: SparkSession) -> bool:
    """True when the cluster gives its executors GPUs (`spark.executor.resource.gpu.amount`): the
    neural backends then train faster there than on the driver, however little the job overlaps."""
    try:
        return float(spark.conf.get("spark.executor.resource.gpu.amount", "0") or 0) > 0
    except Exception:  # noqa: BLE001 - Spark Connect may refuse some conf reads
        return False


def _with_threads(job: Any, threads: int) -> Any:
    """The job with `threads` torch threads unless it sets its own."""
    import dataclasses

    return job if job.threads else dataclasses.replace(job, threads=int(threads))


def _run_job(spark: SparkSession, slots: list[list[PreparedTable]], per_table: dict[str, int],
             shipped: dict[str, type], here: list[tuple[str, Any]],
             choices: dict[str, tuple[str, str]]) -> tuple[list[Any], list[tuple[str, Any]]]:
    """The training job, one task per slot, while `here`'s tables train in this process;
    `choices` are the automatic backend's choices made in the driver (`resolve_auto`)."""
    from functools import reduce

    from pyspark.sql import functions as F

    todo = [p for slot in slots for p in slot]
    jobs = {p.name: json.dumps({"job": p.job.to_json(), "context_map": p.context_map,
                                "seed": p.job.seed, "threads": per_table[p.name], "choice": choices.get(p.name),
                                "sequence": {**p.sequence.info, "label": p.label} if p.sequence is not None else None})
            for p in todo}
    timezone = spark.conf.get("spark.sql.session.timeZone")
    keys = partition_keys(len(slots))
    frames = reduce(lambda a, b: a.unionByName(b),
                    [b.withColumns({"_task": F.lit(keys[i]), "_order": F.lit(j)})
                     for i, slot in enumerate(slots) for j, p in enumerate(slot) for b in _blobs(p)])
    # one partition per task, its tables in the order planned (a union of single partitions would be one)
    frames = frames.repartition(len(slots), "_task").sortWithinPartitions("_order", "part").drop("_task", "_order")

    def train(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import io
        import os
        import socket

        import pyarrow as pa

        from pyspark_synth.models.base import get_backend
        from pyspark_synth.seeds import derive_seed
        from pyspark_synth.spark.fit_sequence import sequence_arrays
        from pyspark_synth.spark.fit_table import order_rows
        from pyspark_synth.training import TrainingJob, train_sequence, train_table

        os.environ["TQDM_DISABLE"] = "1"  # no progress bars in executor logs
        host = socket.gethostname()
        parts: dict[str, dict[int, bytes]] = {}
        for batch in batches:  # a task's few blobs, its tables in their planned order
            for name, part, blob in zip(batch["table"], batch["part"], batch["blob"], strict=True):
                parts.setdefault(name, {})[int(part)] = blob
        for name, blobs in parts.items():
            started = time.time()
            info = json.loads(jobs[name])
            try:
                job = TrainingJob.from_json(info["job"])
                job = _with_threads(job, info["threads"])  # every other field as sent

                def read(part: int, blobs: dict[int, bytes] = blobs, name: str = name) -> pd.DataFrame:
                    if part not in blobs:
                        raise ValueError(f"table '{name}': its training sample has no rows (part {part})")
                    return like_to_pandas(pa.ipc.open_stream(io.BytesIO(blobs[part])).read_all(), timezone)

                if info["sequence"] is not None:
                    seq = info["sequence"]
                    kids, group, ctx, n_parents = sequence_arrays(read(1), read(0), seq)
                    done = train_sequence(job, kids, group, ctx, n_parents, label=seq["label"])
                else:
                    both = order_rows(read(0), derive_seed(job.seed, name, "sample"))
                    ctx_map = info["context_map"]
                    pdf = both[job.table.column_names]
                    ctx = both[list(ctx_map)].rename(columns=ctx_map).reset_index(drop=True) if ctx_map else None
                    cls = shipped.get(job.backend) or (None if job.backend == "auto" else get_backend(job.backend))
                    choice = tuple(info["choice"]) if info["choice"] else None
                    done = train_table(job, pdf, ctx, backend_class=cls, choice=choice)
                trained = json.dumps({"keys": [k.model_dump() for k in done.keys], "text": list(done.text),
                                      "training_rows": done.training_rows, "seconds": done.seconds,
                                      "report": done.report, "backend": done.backend,
                                      "notes": list(done.notes)}, default=str)
                out = (name, True, done.model_bytes, trained, None)
            except Exception:  # noqa: BLE001 - reported per table; the other tables go on
                out = (name, False, None, None, traceback.format_exc(limit=8))
            yield pd.DataFrame([(*out, host, started, time.time())],
                               columns=["table", "ok", "model", "trained", "error", "host", "started", "finished"])

    _log.info("training tables as one Spark job", tasks=[[p.name for p in s] for s in slots],
              driver=[name for name, _ in here], threads=per_table)
    return _collect_with_progress(spark, frames.mapInPandas(train, _RESULT), slots, here)
