"""Training one large table data-parallel with pyspark's `TorchDistributor`: the checks and the launch.

`check_distributed` refuses, before any Spark job, what cannot run (a session of Spark Connect,
more processes than the driver's cores or the cluster's task slots, GPUs the session does not
declare). `train_distributed` brings the table's bounded training sample to the driver (as
`fit_table` does), starts `TorchDistributor(num_processes, local_mode, use_gpu).run(...)` with
`distributed.train_process` (each process trains its shard, `models.data_parallel`), and turns
rank 0's result into the `TrainedTable` that `finish_table` stores: the same archive as any fit.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.distributed import DistributedTraining, train_process, trained_from_result
from pyspark_synth.errors import DataError, SynthError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from pyspark_synth.spark.fit_table import PreparedTable
    from pyspark_synth.training import TrainedTable

__all__ = ["asks_differential_privacy", "check_distributed", "train_distributed"]

_log = get_logger("distributed")


def asks_differential_privacy(privacy: Any) -> bool:
    """Whether a fit's `privacy=` (a PrivacyConfig, PrivateTable or PrivateDatabase) trains with DP-SGD."""
    if privacy is None:
        return False
    if hasattr(privacy, "dp_settings"):
        return privacy.dp_settings() is not None
    if getattr(privacy, "differential_privacy", None) is not None:
        return True
    return any(getattr(t, "differential_privacy", None) is not None for t in (getattr(privacy, "tables", None) or {}).values())


def _driver_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_distributed(spark: SparkSession, setting: DistributedTraining, *, where: str) -> None:
    """Refuse, before any Spark job, a data-parallel fit that cannot run here.

    Raises:
        SynthError: The session is a Spark Connect one, or torch has no distributed package.
        DataError: More processes than the driver's cores (local mode, CPUs) or the cluster's task
            slots (executors: a barrier stage needs all of them at once), or GPUs asked for that
            the session does not declare.
    """
    if type(spark).__module__.startswith("pyspark.sql.connect"):
        raise SynthError(f"{where}: distributed= is not supported on a Spark Connect session: pyspark_synth starts "
                         "TorchDistributor from a classic session (it needs the SparkContext's cores and resources to "
                         "check the setting). Fit from a classic SparkSession, or without distributed=.")
    import torch.distributed as dist

    if not dist.is_available():
        raise SynthError(f"{where}: distributed= needs torch.distributed, which this torch build lacks; install a "
                         "torch with distributed support, or fit without distributed=")
    n = setting.num_processes
    sc = spark.sparkContext
    master = sc.master
    if setting.local_mode:
        if setting.use_gpu:
            gpus = len(sc.resources["gpu"].addresses) if "gpu" in sc.resources else 0
            if n > gpus:
                raise DataError(f"{where}: DistributedTraining(num_processes={n}, local_mode=True, use_gpu=True) needs "
                                f"{n} GPUs on the driver, and the session declares {gpus} (spark.driver.resource.gpu."
                                "amount and spark.driver.resource.gpu.discoveryScript). Start the session with them, "
                                "use fewer processes, or use_gpu=False.")
        elif n > _driver_cores():
            raise DataError(f"{where}: DistributedTraining(num_processes={n}, local_mode=True) runs {n} processes on the "
                            f"driver, which has {_driver_cores()} cores: use at most {_driver_cores()}, or "
                            "local_mode=False to run them on a cluster's executors.")
        return
    slots = int(sc.defaultParallelism)
    if n > slots:
        place = ("this session has no cluster (master " + repr(master) + ")" if master.startswith("local")
                 else f"the cluster has {slots} task slots")
        raise DataError(f"{where}: DistributedTraining(num_processes={n}, local_mode=False) runs one barrier task per "
                        f"process, all at once, and {place} with {slots} slots. Use at most {slots} processes, "
                        "local_mode=True, or a bigger cluster.")
    if setting.use_gpu and float(spark.conf.get("spark.task.resource.gpu.amount", "0") or 0) < 1:
        raise DataError(f"{where}: DistributedTraining(use_gpu=True, local_mode=False) needs a GPU per task: start the "
                        "session with spark.task.resource.gpu.amount=1 (and executor GPU resources), or use_gpu=False.")


def train_distributed(prepared: PreparedTable, setting: DistributedTraining, *, where: str,
                      threads: int | None = None) -> TrainedTable:
    """Train a prepared table's model in `setting.num_processes` processes with `TorchDistributor`.

    Args:
        prepared: The table (`fit_table.prepare_table`), with a backend that trains data-parallel.
        setting: The processes.
        where: The public function, for errors.
        threads: Torch threads per process; by default the driver's cores shared out between the
            processes (local mode), else `spark.task.cpus`.

    Raises:
        SynthError: The training failed in a process (its output is in the message).
    """
    from pyspark.ml.torch.distributor import TorchDistributor

    n = setting.num_processes
    spark = prepared.spark
    if threads is None and prepared.job.threads is None:
        threads = (max(1, _driver_cores() // n) if setting.local_mode
                   else int(spark.conf.get("spark.task.cpus", "1") or 1))
    job = replace(prepared.job, threads=prepared.job.threads or threads)
    pdf, ctx = prepared.training_rows()
    _log.info("training table data-parallel", table=prepared.name, processes=n, local_mode=setting.local_mode,
              use_gpu=setting.use_gpu, training_rows=len(pdf), threads_per_process=job.threads)
    try:
        result = TorchDistributor(num_processes=n, local_mode=setting.local_mode, use_gpu=setting.use_gpu).run(
            train_process, job.to_json(), pdf, ctx, setting.use_gpu)
    except Exception as exc:
        last = [line for line in str(exc).strip().splitlines() if line.strip()][-6:]
        raise SynthError(f"{where}: table '{prepared.name}': data-parallel training in {n} processes failed: "
                         + " | ".join(last)) from exc
    trained = trained_from_result(result, f"{where}: table '{prepared.name}'")
    place = "on the driver" if setting.local_mode else "as barrier tasks on the executors"
    device = "GPUs over NCCL" if setting.use_gpu else "CPUs over gloo"
    note = (f"table '{prepared.name}': trained data-parallel in {n} processes {place} (TorchDistributor, "
            f"{device}, {job.threads} torch threads each)")
    return replace(trained, notes=(*trained.notes, note))


def train_tables_distributed(prepared: list[PreparedTable], setting: DistributedTraining, *, backend: str,
                             notes: list[str], where: str, threads: int | None = None
                             ) -> tuple[dict[str, TrainedTable], dict[str, str]]:
    """Train each table data-parallel, one after another (each takes every process); (trained tables,
    `{failed table: its traceback}`).

    Args:
        prepared: The tables to train this way (none empty).
        setting: The processes.
        backend: The backend they train (`distributed.distributed_backend`'s choice: a table
            prepared with "auto" trains it).
        notes: Notes of that choice, added to each table's.
        where: The public function, for errors.
        threads: Torch threads per process (see `train_distributed`).
    """
    import traceback

    from pyspark_synth.models.base import get_backend

    trained: dict[str, TrainedTable] = {}
    failures: dict[str, str] = {}
    for p in prepared:
        if p.job.backend != backend:  # "auto": the arguments are epochs / batch_size, which it takes too
            p = replace(p, job=replace(p.job, backend=backend), model_class=get_backend(backend))
        try:
            done = train_distributed(p, setting, where=where, threads=threads)
        except Exception:  # noqa: BLE001 - reported with the table; the other tables go on
            failures[p.name] = traceback.format_exc(limit=8)
            continue
        trained[p.name] = replace(done, notes=(*notes, *done.notes))
    return trained, failures
