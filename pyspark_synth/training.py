"""Training one table's model from its training rows: the step every fit runs, on the driver or in a task.

`train_table` takes a `TrainingJob` (plain JSON-able data: the table's metadata, the backend and its
arguments, the seed) and the table's bounded training sample, and returns what the table's spec
needs besides the Spark statistics: the model archive, the key shapes, the free-text models and the
model's own report. Pure pandas/torch: the Spark layer runs it in the driver (`fit_table`) or in
the tasks of one Spark job (`fit_database(..., fit_in="spark")`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pyspark_synth.metadata import Table
from pyspark_synth.models.runtime import TorchThreads
from pyspark_synth.relational.primary_keys import KeySpec, learn_key_spec
from pyspark_synth.seeds import derive_seed

__all__ = ["TrainedTable", "TrainingJob", "train_table"]


@dataclass(frozen=True)
class TrainingJob:
    """What to train for one table (JSON-able, so it travels to executors of any session).

    Attributes:
        table: The table's metadata.
        backend: The registered backend name.
        arguments: The backend's constructor arguments (checked with `models.base.backend_arguments`).
        seed: The table's fit seed (the model's seed is derived from it).
        key_minimums: `{generated key column: its smallest value in the full table}`.
        threads: Torch threads while training (None: leave torch's setting).
    """

    table: Table
    backend: str
    arguments: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    key_minimums: dict[str, Any] = field(default_factory=dict)
    threads: int | None = None

    def to_json(self) -> str:
        """The job as JSON text."""
        return json.dumps({"table": self.table.model_dump(mode="json"), "backend": self.backend,
                           "arguments": self.arguments, "seed": self.seed,
                           "key_minimums": self.key_minimums, "threads": self.threads}, default=str)

    @classmethod
    def from_json(cls, text: str) -> TrainingJob:
        """Inverse of `to_json`."""
        d = json.loads(text)
        return cls(table=Table.model_validate(d["table"]), backend=d["backend"], arguments=d["arguments"],
                   seed=int(d["seed"]), key_minimums=d["key_minimums"], threads=d["threads"])


@dataclass(frozen=True)
class TrainedTable:
    """What training one table produced.

    Attributes:
        model_bytes: The fitted model's archive.
        keys: How the table's generated key columns are made from row ids.
        text: Fitted free-text column models (`TextModel` states).
        training_rows: Rows the model was trained on.
        seconds: Wall time of the training.
        report: The model's own account of the fit (`fit_report_`, when the backend has one).
        backend: The backend that trained (the one chosen, when the job asked for "auto").
        notes: What training chose (the automatic backend's choice and why).
    """

    model_bytes: bytes
    keys: tuple[KeySpec, ...]
    text: tuple[dict[str, Any], ...]
    training_rows: int
    seconds: float
    report: dict[str, Any] = field(default_factory=dict)
    backend: str = ""
    notes: tuple[str, ...] = ()


def train_table(job: TrainingJob, data: pd.DataFrame, context: pd.DataFrame | None = None,
                backend_class: type | None = None) -> TrainedTable:
    """Fit `job`'s backend on `data` (conditioned on `context`, aligned row-wise) and describe the result.

    Args:
        job: What to train.
        data: The training rows (the table's columns).
        context: The driving parent's context columns, one row per data row, or None.
        backend_class: The model class to use (a user's backend travels this way to executors);
            by default the one registered under `job.backend`. With `job.backend == "auto"` the
            backend is chosen from the data (`models.auto.choose_backend`).
    """
    from pyspark_synth.models.auto import AUTO_BACKEND, choose_backend
    from pyspark_synth.models.base import backend_arguments, get_backend
    from pyspark_synth.models.text import text_specs

    start = time.perf_counter()
    tbl = job.table
    backend, arguments, notes = job.backend, dict(job.arguments), ()
    if backend == AUTO_BACKEND:
        backend, why = choose_backend(tbl, data, context, seed=derive_seed(job.seed, tbl.name, "auto"))
        cls = get_backend(backend)
        arguments, skipped = backend_arguments(backend, cls, arguments)
        notes = (f"backend 'auto' chose '{backend}': {why}", *skipped)
    else:
        cls = backend_class or get_backend(backend)
    with TorchThreads(job.threads):
        model = cls(tbl, seed=derive_seed(job.seed, tbl.name, "model"), **arguments)
        model.fit(data, context=context) if context is not None else model.fit(data)
    keys = tuple(learn_key_spec(c, tbl.column(c).sql_type, data[c], salt=tbl.name, minimum=job.key_minimums.get(c))
                 for c in tbl.generated_key_columns)
    report = getattr(model, "fit_report_", None)
    return TrainedTable(model_bytes=model.to_bytes(), keys=keys, text=tuple(text_specs(tbl, data)),
                        training_rows=len(data), seconds=time.perf_counter() - start,
                        report=json.loads(json.dumps(report, default=str)) if isinstance(report, dict) else {},
                        backend=backend, notes=notes)
