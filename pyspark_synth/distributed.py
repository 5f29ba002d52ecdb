"""Data-parallel training of one large table: the setting, its checks, and the function every process runs.

`fit_table(..., distributed=N)` and `fit_database(..., distributed=DistributedTraining(...))`
train a table's neural model in N processes at once (`spark.torch_distributor` starts them with
pyspark's `TorchDistributor`): each process gets the table's whole bounded training sample, fits
the same encodings, computes the loss of its shard of every batch, and torch's
`DistributedDataParallel` all-reduces the gradients over gloo (NCCL on GPUs); the losses that
decide early stopping and the time budget are all-reduced as well (`models.data_parallel`).
Rank 0's model archive (the archive every fit writes, so sampling is unchanged) comes back.
Pure Python and torch: no Spark here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark_synth.errors import DataError, PrivacyError, SynthError

if TYPE_CHECKING:
    import pandas as pd

    from pyspark_synth.training import TrainedTable

__all__ = ["DISTRIBUTED_BACKENDS", "DistributedTraining", "distributed_backend", "distributed_setting",
           "train_process", "trained_from_result"]

DISTRIBUTED_BACKENDS = ("autoregressive",)


@dataclass(frozen=True)
class DistributedTraining:
    """How to train one table data-parallel.

    Attributes:
        num_processes: Training processes (`TorchDistributor(num_processes=...)`); each computes a
            share of every batch. 1 runs the same code in one process.
        local_mode: True: the processes run on the driver (at most its cores, or its GPUs);
            False: one barrier task per process on the executors (at most the cluster's task slots).
        use_gpu: Each process trains on a GPU over NCCL (the session must declare GPU resources:
            `spark.driver.resource.gpu.amount` in local mode, `spark.task.resource.gpu.amount`
            else); False trains on CPUs over gloo.
        min_rows: With `fit_database`, only tables whose training sample has at least this many
            rows train data-parallel (the others train as usual, as tasks of one Spark job).
    """

    num_processes: int
    local_mode: bool = True
    use_gpu: bool = False
    min_rows: int = 0

    def __post_init__(self) -> None:
        n = self.num_processes
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise DataError(f"DistributedTraining: num_processes must be an int >= 1 (the training processes), got "
                            f"{n!r}")
        for name in ("local_mode", "use_gpu"):
            if not isinstance(getattr(self, name), bool):
                raise DataError(f"DistributedTraining: {name} must be True or False, got {getattr(self, name)!r}")
        m = self.min_rows
        if isinstance(m, bool) or not isinstance(m, int) or m < 0:
            raise DataError(f"DistributedTraining: min_rows must be an int >= 0 (the smallest training sample to "
                            f"train data-parallel), got {m!r}")

    def applies_to(self, training_rows: int) -> bool:
        """Whether a table with this many training rows trains data-parallel."""
        return training_rows >= self.min_rows


def distributed_setting(value: int | DistributedTraining | None, where: str) -> DistributedTraining | None:
    """`distributed=` of a fit as a setting: None (train as usual), an int N (N processes on the
    driver, on CPUs) or a `DistributedTraining`.

    Raises:
        DataError: Anything else, or N < 1.
    """
    if value is None or isinstance(value, DistributedTraining):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{where}: distributed must be None, a number of processes (an int >= 1) or a "
                        f"DistributedTraining(num_processes, local_mode=..., use_gpu=...), got {value!r}")
    if value < 1:
        raise DataError(f"{where}: distributed={value}: the number of training processes must be >= 1 "
                        "(or None to train in one process)")
    return DistributedTraining(num_processes=value)


def distributed_backend(backend: str, *, differential_privacy: bool, where: str) -> tuple[str, list[str]]:
    """The backend a data-parallel fit trains, checked before any Spark job: "auto" becomes
    "autoregressive" (a note says so); a backend without data-parallel training is refused, and so is
    differential privacy (DP-SGD's accounting assumes one process drawing every batch).

    Raises:
        SynthError: The backend cannot train data-parallel.
        PrivacyError: Differential privacy was asked for.
    """
    from pyspark_synth.models.auto import AUTO_BACKEND

    if differential_privacy:
        raise PrivacyError(f"{where}: distributed training cannot be combined with differential privacy: DP-SGD's "
                           "privacy accounting assumes one process that draws every batch, and it is not extended "
                           "to data-parallel shards here. Fit without distributed=, or without "
                           "PrivacyConfig(enable_differential_privacy=True). Nothing was fitted.")
    if backend == AUTO_BACKEND:
        return "autoregressive", ["backend 'auto' trains 'autoregressive' with distributed training (the backend "
                                  "that trains data-parallel)"]
    if backend not in DISTRIBUTED_BACKENDS:
        why = {"ctgan": "its GAN training (two optimisers and a gradient penalty) has no data-parallel version",
               "copula": "it fits statistics, not a network: there is nothing to train data-parallel",
               "autoregressive_sequential": "its sequence batches have no data-parallel version"}.get(
                   backend, "it has no data-parallel training")
        raise SynthError(f"{where}: backend '{backend}' cannot train with distributed=: {why}. Backends that can: "
                         f"{list(DISTRIBUTED_BACKENDS)} (or 'auto', which then trains 'autoregressive'); or fit "
                         "without distributed=. Nothing was fitted.")
    return backend, []


def train_process(job_json: str, data: pd.DataFrame, context: pd.DataFrame | None,
                  use_gpu: bool = False) -> dict[str, Any]:
    """Train one table as one process of a data-parallel group (what `TorchDistributor.run` calls).

    The process joins the group the launcher describes in its environment, trains its shard, and
    returns rank 0's model archive and training account. Every process returns the same (rank 0's
    bytes are broadcast), so whichever process's result the launcher keeps, it is rank 0's.

    Args:
        job_json: The `TrainingJob` as JSON.
        data: The training rows, in the order the model sees them (the same in every process).
        context: The context rows aligned with `data`, or None.
        use_gpu: Train on this process's GPU over NCCL.
    """
    import os

    from pyspark_synth.models.data_parallel import DataParallel
    from pyspark_synth.training import TrainingJob, train_table

    os.environ["TQDM_DISABLE"] = "1"  # one progress bar per process would interleave
    par = DataParallel.from_environment(use_gpu=use_gpu)
    try:
        job = TrainingJob.from_json(job_json)
        done = train_table(job, data, context, data_parallel=par)
        account = json.dumps({"keys": [k.model_dump() for k in done.keys], "text": list(done.text),
                              "training_rows": done.training_rows, "seconds": done.seconds,
                              "report": done.report, "backend": done.backend, "notes": list(done.notes)},
                             default=str).encode()
        model = par.broadcast_bytes(done.model_bytes if par.rank == 0 else None)
        account = par.broadcast_bytes(account if par.rank == 0 else None)
        par.barrier()  # every process has both before any leaves the group
    finally:
        par.close()
    return {"model": model, "trained": account.decode()}


def trained_from_result(result: Any, where: str) -> TrainedTable:
    """The `TrainedTable` of what `train_process` returned.

    Raises:
        SynthError: The result is not what `train_process` returns (the launcher lost it).
    """
    from pyspark_synth.relational.primary_keys import KeySpec
    from pyspark_synth.training import TrainedTable

    if not isinstance(result, dict) or not isinstance(result.get("model"), bytes | bytearray):
        raise SynthError(f"{where}: the data-parallel training returned no model (got {type(result).__name__}); "
                         "see the training processes' output above")
    t = json.loads(result["trained"])
    return TrainedTable(model_bytes=bytes(result["model"]), keys=tuple(KeySpec(**k) for k in t["keys"]),
                        text=tuple(t["text"]), training_rows=int(t["training_rows"]), seconds=float(t["seconds"]),
                        report=t["report"], backend=t["backend"], notes=tuple(t["notes"]))
