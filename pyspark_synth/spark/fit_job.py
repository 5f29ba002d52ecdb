"""Training several tables as the tasks of one Spark job: each sample trains on an executor.

Every table's training sample is known before any model is fitted (contexts come from the real
parents), so all of a database's tables can train at once. Each sample (bounded, `sample_rows`)
is gathered into one Arrow blob on an executor, the blobs are grouped into `parallelism` slots
(largest first, each slot to the least loaded), and one task per slot trains its tables with
`training.train_table`, the step the driver runs in `fit_table`. Only the model archives and the
fit reports come back to the driver, which stores them. The rows a model sees, in the order it
sees them, are those of the driver's fit (`PreparedTable.split`), so a table's model does not
depend on where it trained (with the same torch threads).
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

__all__ = ["TableFailure", "default_parallelism_and_threads", "train_in_spark"]

_log = get_logger("fit_job")
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


def default_parallelism_and_threads(spark: SparkSession, tables: int, parallelism: int | None,
                                    threads: int | None) -> tuple[int, int]:
    """(tables trained at once, torch threads per task): by default as many tables as cores, and
    the cores shared out between them."""
    from pyspark_synth.spark.sample_table import default_parallelism

    cores = max(1, default_parallelism(spark))
    p = max(1, min(tables, parallelism or cores))
    return p, max(1, threads or cores // p)


def _blobs(prepared: PreparedTable) -> DataFrame:
    """One row `(table, blob)`: the table's training sample as one Arrow IPC stream, made on an executor."""
    import pyarrow as pa

    name = prepared.name
    columns = list(prepared.sample.columns)

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
        yield pa.RecordBatch.from_pydict({"table": [name], "blob": [sink.getvalue().to_pybytes()]},
                                         schema=pa.schema([("table", pa.string()), ("blob", pa.binary())]))

    # mapInArrow cannot resolve column names with dots (`park.key`): the sample goes in under
    # positional names, and the blob carries the real ones
    positional = prepared.sample.toDF(*[f"_c{i}" for i in range(len(columns))])
    return positional.repartition(1).mapInArrow(pack, "table string, blob binary")


def _slots(prepared: Sequence[PreparedTable], n: int) -> list[list[PreparedTable]]:
    """Tables shared over `n` slots: biggest first, each to the slot with the fewest rows so far."""
    slots: list[list[PreparedTable]] = [[] for _ in range(n)]
    load = [0] * n
    for p in sorted(prepared, key=lambda p: -p.training_size):
        i = load.index(min(load))
        slots[i].append(p)
        load[i] += p.training_size
    return [s for s in slots if s]


def _collect_with_progress(spark: SparkSession, df: DataFrame, slots: list[list[PreparedTable]]) -> list[Any]:
    """`df.collect()`, with a progress bar and log lines of the slots done, running and waiting.

    The job runs in a helper thread under its own job group (a property of that thread only), so
    the caller's thread and session are left as they are; the driver polls Spark's status
    tracker. On Spark Connect (no status tracker) it just collects.
    """
    import threading
    import uuid

    try:
        sc = spark.sparkContext
        tracker = sc.statusTracker()
    except Exception:  # noqa: BLE001 - Spark Connect: no SparkContext
        return df.collect()
    group = f"pyspark_synth-fit-{uuid.uuid4().hex[:8]}"
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            sc.setJobGroup(group, f"pyspark_synth: training {sum(len(s) for s in slots)} tables", False)
            out["rows"] = df.collect()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            out["error"] = exc

    from tqdm.auto import tqdm

    names = ["+".join(p.name for p in slot) for slot in slots]
    bar = tqdm(total=len(slots), desc="training tables", unit="task", leave=False)
    worker = threading.Thread(target=run, name=group, daemon=True)
    worker.start()
    last = None
    while worker.is_alive():
        worker.join(2.0)
        done = running = 0
        for job in tracker.getJobIdsForGroup(group):
            for stage in (tracker.getJobInfo(job).stageIds if tracker.getJobInfo(job) else []):
                info = tracker.getStageInfo(stage)
                if info is not None and info.numTasks == len(slots):
                    done, running = info.numCompletedTasks, info.numActiveTasks
        state = (done, running)
        if state != last:
            bar.update(done - bar.n)
            bar.set_postfix(running=running, waiting=max(0, len(slots) - done - running))
            _log.info("training progress", done=done, running=running, waiting=max(0, len(slots) - done - running),
                      tasks=names)
            last = state
    bar.update(len(slots) - bar.n)
    bar.close()
    if "error" in out:
        raise out["error"]
    return out["rows"]


def train_in_spark(spark: SparkSession, prepared: Sequence[PreparedTable], *, parallelism: int | None = None,
                   threads: int | None = None) -> tuple[dict[str, TrainedTable], list[TableFailure]]:
    """Train the prepared tables as one Spark job; returns (trained tables by name, failures).

    Args:
        spark: The session.
        prepared: Tables from `fit_table.prepare_table` (empty ones are left out).
        parallelism: Tables trained at once (one task each); by default the session's cores.
        threads: Torch threads in each task; by default the cores divided by `parallelism`.
    """
    from functools import reduce

    from pyspark_synth.models.base import user_backends
    from pyspark_synth.training import TrainedTable

    todo = [p for p in prepared if not p.empty]
    if not todo:
        return {}, []
    n, per_task = default_parallelism_and_threads(spark, len(todo), parallelism, threads)
    slots = _slots(todo, n)
    jobs = {p.name: json.dumps({"job": p.job.to_json(), "context_map": p.context_map,
                                "seed": p.job.seed}) for p in todo}
    shipped = user_backends()
    slot_frames = [reduce(lambda a, b: a.unionByName(b), [_blobs(p) for p in slot]).coalesce(1) for slot in slots]
    frames = reduce(lambda a, b: a.unionByName(b), slot_frames)

    def train(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import dataclasses
        import io
        import os
        import socket

        import pyarrow as pa

        from pyspark_synth.models.base import get_backend
        from pyspark_synth.seeds import derive_seed
        from pyspark_synth.spark.fit_table import order_rows
        from pyspark_synth.training import TrainingJob, train_table

        os.environ["TQDM_DISABLE"] = "1"  # no progress bars in executor logs
        host = socket.gethostname()
        for batch in batches:
            for name, blob in zip(batch["table"], batch["blob"], strict=True):
                started = time.time()
                info = json.loads(jobs[name])
                try:
                    job = TrainingJob.from_json(info["job"])
                    job = dataclasses.replace(job, threads=job.threads or per_task)  # every other field as sent
                    both = pa.ipc.open_stream(io.BytesIO(blob)).read_pandas()
                    both = order_rows(both, derive_seed(job.seed, name, "sample"))
                    ctx_map = info["context_map"]
                    pdf = both[job.table.column_names]
                    ctx = both[list(ctx_map)].rename(columns=ctx_map).reset_index(drop=True) if ctx_map else None
                    cls = shipped.get(job.backend) or (None if job.backend == "auto" else get_backend(job.backend))
                    done = train_table(job, pdf, ctx, backend_class=cls)
                    trained = json.dumps({"keys": [k.model_dump() for k in done.keys], "text": list(done.text),
                                          "training_rows": done.training_rows, "seconds": done.seconds,
                                          "report": done.report, "backend": done.backend,
                                          "notes": list(done.notes)}, default=str)
                    out = (name, True, done.model_bytes, trained, None)
                except Exception:  # noqa: BLE001 - reported per table; the other tables go on
                    out = (name, False, None, None, traceback.format_exc(limit=8))
                yield pd.DataFrame([(*out, host, started, time.time())],
                                   columns=["table", "ok", "model", "trained", "error", "host", "started", "finished"])

    _log.info("training tables as one Spark job", tables=[p.name for p in todo], slots=[[p.name for p in s] for s in slots],
              threads_per_task=per_task)
    rows = _collect_with_progress(spark, frames.mapInPandas(train, _RESULT), slots)
    from pyspark_synth.relational.primary_keys import KeySpec

    trained: dict[str, TrainedTable] = {}
    failures: list[TableFailure] = []
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
