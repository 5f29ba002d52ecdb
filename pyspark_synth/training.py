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
from typing import TYPE_CHECKING, Any

import pandas as pd

from pyspark_synth.metadata import Table
from pyspark_synth.models.runtime import TorchThreads
from pyspark_synth.relational.primary_keys import KeySpec, learn_key_spec
from pyspark_synth.seeds import derive_seed

if TYPE_CHECKING:
    from pyspark_synth.models.data_parallel import DataParallel

__all__ = ["TrainedTable", "TrainingJob", "train_sequence", "train_table"]

FEW_PARENTS = 50  # fewer parents than this: a sequence table's notes say its counts come from few sequences


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
        rare_threshold: `k` of the rare-value protection (`transformers.rare`; from
            `PrivacyConfig.rare_threshold`): given to a backend that takes `rare_threshold`, applied
            to the training rows for one that does not; None leaves each backend's default.
        differential_privacy: DP-SGD settings (`PrivacyConfig.dp_settings()`), given to the backend
            as its `differential_privacy` argument; None trains without differential privacy.
    """

    table: Table
    backend: str
    arguments: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    key_minimums: dict[str, Any] = field(default_factory=dict)
    threads: int | None = None
    rare_threshold: int | None = None
    differential_privacy: dict[str, Any] | None = None

    def to_json(self) -> str:
        """The job as JSON text."""
        return json.dumps({"table": self.table.model_dump(mode="json"), "backend": self.backend,
                           "arguments": self.arguments, "seed": self.seed,
                           "key_minimums": self.key_minimums, "threads": self.threads,
                           "rare_threshold": self.rare_threshold,
                           "differential_privacy": self.differential_privacy}, default=str)

    @classmethod
    def from_json(cls, text: str) -> TrainingJob:
        """Inverse of `to_json`."""
        d = json.loads(text)
        return cls(table=Table.model_validate(d["table"]), backend=d["backend"], arguments=d["arguments"],
                   seed=int(d["seed"]), key_minimums=d["key_minimums"], threads=d["threads"],
                   rare_threshold=d.get("rare_threshold"), differential_privacy=d.get("differential_privacy"))


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


def auto_seed(job: TrainingJob) -> int:
    """The seed of the automatic backend's choice for a job's table (wherever it is made)."""
    return derive_seed(job.seed, job.table.name, "auto")


def train_table(job: TrainingJob, data: pd.DataFrame, context: pd.DataFrame | None = None,
                backend_class: type | None = None, data_parallel: DataParallel | None = None,
                choice: tuple[str, str] | None = None) -> TrainedTable:
    """Fit `job`'s backend on `data` (conditioned on `context`, aligned row-wise) and describe the result.

    Args:
        job: What to train.
        data: The training rows (the table's columns).
        context: The driving parent's context columns, one row per data row, or None.
        backend_class: The model class to use (a user's backend travels this way to executors);
            by default the one registered under `job.backend`. With `job.backend == "auto"` the
            backend is chosen from the data (`models.auto.choose_backend`).
        data_parallel: This process's place in a data-parallel group (`distributed.train_process`);
            the model's `fit` takes it (the autoregressive backend). None trains here alone.
        choice: With `job.backend == "auto"`, the `(backend, why)` that `choose_backend` already
            gave for these rows (the fit job's driver chooses before it schedules,
            `fit_job.resolve_auto`); None chooses here.
    """
    from pyspark_synth.models.auto import AUTO_BACKEND, choose_backend
    from pyspark_synth.models.base import backend_arguments, get_backend
    from pyspark_synth.models.text import text_specs

    start = time.perf_counter()
    tbl = job.table
    backend, arguments, notes = job.backend, dict(job.arguments), ()
    if backend == AUTO_BACKEND:
        backend, why = choice or choose_backend(tbl, data, context, seed=auto_seed(job))
        cls = get_backend(backend)
        arguments, skipped = backend_arguments(backend, cls, arguments)
        notes = (f"backend 'auto' chose '{backend}': {why}", *skipped)
    else:
        cls = backend_class or get_backend(backend)
    arguments, data, rare_notes_ = _privacy_arguments(job, cls, backend, arguments, data)
    with TorchThreads(job.threads if getattr(cls, "uses_torch", True) else None):
        model = cls(tbl, seed=derive_seed(job.seed, tbl.name, "model"), **arguments)
        extra = {"data_parallel": data_parallel} if data_parallel is not None else {}
        model.fit(data, context=context, **extra) if context is not None else model.fit(data, **extra)
    keys = tuple(learn_key_spec(c, tbl.column(c).sql_type, data[c], salt=tbl.name, minimum=job.key_minimums.get(c))
                 for c in tbl.generated_key_columns)
    report = getattr(model, "fit_report_", None)
    notes = (*notes, *rare_notes_, *_report_notes(tbl.name, report))
    text = tuple(text_specs(tbl, data))
    if job.differential_privacy is not None and text:
        # a word model keeps the words of at least 5 rows, exactly: no DP counterpart, so not learned
        dropped = [t.get("column") for t in text]
        text = ()
        notes = (*notes, f"table '{tbl.name}': differential privacy: the free-text column(s) {dropped} are not "
                 "learned (their word and format models have no DP counterpart) and come back null")
    return TrainedTable(model_bytes=model.to_bytes(), keys=keys, text=text,
                        training_rows=len(data), seconds=time.perf_counter() - start,
                        report=json.loads(json.dumps(report, default=str)) if isinstance(report, dict) else {},
                        backend=backend, notes=notes)


def train_sequence(job: TrainingJob, children: pd.DataFrame, group: Any, context: pd.DataFrame | None,
                   num_parents: int, *, label: str) -> TrainedTable:
    """Fit a child table's sequence model (`job.backend`, the sequential autoregressive model).

    Args:
        job: What to train (its arguments are the sequence model's).
        children: The sampled parents' children, each parent's in sequence order.
        group: Each child's parent, an index into the parents (`spark.fit_sequence.sequence_arrays`).
        context: The parents' context columns, one row per parent, or None.
        num_parents: How many parents were sampled (those without children included).
        label: The driving foreign key, for the notes.
    """
    from pyspark_synth.models.base import get_backend
    from pyspark_synth.models.text import text_specs

    start = time.perf_counter()
    tbl = job.table
    with TorchThreads(job.threads):
        model = get_backend(job.backend)(tbl, seed=derive_seed(job.seed, tbl.name, "model"), **job.arguments)
        model.fit(children, group=group, parent_context=context, num_parents=num_parents, table_name=tbl.name)
    rep = model.fit_report_
    note = (f"table '{tbl.name}': children generated as one sequence per parent of '{label}' by the "
            f"{job.backend} model (their number, order and values); trained on {num_parents:,} parents "
            f"with {len(children):,} children, {rep['epochs']} epochs ({rep['stop_reason']})")
    longest, window = rep["children_per_parent"]["max"], model.max_sequence_window
    if num_parents < FEW_PARENTS:
        note += (f"; only {num_parents} parents, so the children per parent are learned from {num_parents} sequences "
                 "(the linkage model and a per-row model may do better: leave the table out of sequential=)")
    if longest > window:
        note += (f"; sequences longer than {window} children (up to {longest:,}) train the row model on their "
                 f"first {window} (max_sequence_window)")
    keys = tuple(learn_key_spec(c, tbl.column(c).sql_type, children[c], salt=tbl.name, minimum=job.key_minimums.get(c))
                 for c in tbl.generated_key_columns)
    return TrainedTable(model_bytes=model.to_bytes(), keys=keys, text=tuple(text_specs(tbl, children)),
                        training_rows=len(children), seconds=time.perf_counter() - start,
                        report=json.loads(json.dumps(rep, default=str)), backend=job.backend,
                        notes=(*_report_notes(tbl.name, rep), note))


def _accepts(cls: type, name: str) -> bool:
    import inspect

    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def has_dp_mode(cls: type) -> bool:
    """Whether a backend class trains with differential privacy: it takes `differential_privacy`
    and does not declare `differential_privacy_mode = False` (CTGAN keeps the parameter to refuse it)."""
    return _accepts(cls, "differential_privacy") and bool(getattr(cls, "differential_privacy_mode", True))


def _privacy_arguments(job: TrainingJob, cls: type, backend: str, arguments: dict[str, Any],
                       data: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame, tuple[str, ...]]:
    """The backend's arguments with the job's rare-value threshold and DP settings, and the training rows.

    A backend that takes no `rare_threshold` (a user's) gets rows already protected by
    `transformers.rare.protect_rare_values`; one that takes no `differential_privacy` is refused.
    """
    from pyspark_synth.errors import PrivacyError
    from pyspark_synth.transformers.rare import protect_rare_values, rare_notes

    out = dict(arguments)
    notes: tuple[str, ...] = ()
    if job.rare_threshold is not None:
        if _accepts(cls, "rare_threshold"):
            out.setdefault("rare_threshold", int(job.rare_threshold))
        else:
            data, found = protect_rare_values(data, job.table, threshold=job.rare_threshold,
                                              seed=derive_seed(job.seed, job.table.name, "rare"))
            notes = rare_notes(job.table.name, found, int(job.rare_threshold))
    if job.differential_privacy is not None:
        if not has_dp_mode(cls):
            raise PrivacyError(f"Table '{job.table.name}': backend '{backend}' has no differential-privacy mode; use "
                               "backend='autoregressive' with PrivacyConfig(enable_differential_privacy=True), or "
                               "fit without differential privacy.")
        out["differential_privacy"] = dict(job.differential_privacy)
    return out, data, notes


def _report_notes(table: str, report: Any) -> tuple[str, ...]:
    """Notes from a model's fit report: what rare-value protection changed, the DP budget spent."""
    from pyspark_synth.transformers.rare import RareColumn

    if not isinstance(report, dict):
        return ()
    out: list[str] = []
    k = report.get("rare_threshold")
    for col, counts in (report.get("rare_values") or {}).items():
        if not isinstance(counts, dict):
            continue
        if {"values_pooled", "rows"} <= set(counts):  # the autoregressive codecs' report
            counts = {"rare_values": counts["values_pooled"], "rare_rows": counts["rows"]}
        elif "tail_rows_clipped" in counts:
            counts = {"clipped_low": counts["tail_rows_clipped"].get("low", 0),
                      "clipped_high": counts["tail_rows_clipped"].get("high", 0)}
        elif counts.get("suppressed"):
            out.append(f"table '{table}': rare-value protection (k={k}) on '{col}': fewer than k values, the "
                       "column is not learned (null)")
            continue
        known = {f: int(v) for f, v in counts.items() if f in RareColumn.__dataclass_fields__ and f != "column"}
        text = RareColumn(col, **known).describe()
        if text:
            out.append(f"table '{table}': rare-value protection (k={k}) on '{col}': {text}")
    dp = report.get("differential_privacy")
    st = dp.get("statistics") if isinstance(dp, dict) else None
    if isinstance(st, dict):
        out.append(f"table '{table}': rare-value protection (k={k}) under differential privacy: category values, "
                   f"exact numbers, nulls and numeric bounds are learned from noisy counts (Gaussian noise of "
                   f"standard deviation {st['noise_std']:.3g}); a value is kept only when its noisy count exceeds "
                   f"{st['threshold']:.3g} rows (at least k), and numbers are bounded by a fixed grid's buckets "
                   "that pass the noise; how many values were left out is not counted (that count is not private)")
    if isinstance(dp, dict) and dp.get("epsilon") is not None:
        out.append(f"table '{table}': trained with differential privacy (DP-SGD): epsilon={dp['epsilon']:.3g} "
                   f"spent at delta={dp['delta']:.3g} (noise multiplier {dp['noise_multiplier']:.3g}, clipping "
                   f"norm {dp['max_grad_norm']:.3g}, {dp['steps']} steps at sampling rate {dp['sample_rate']:.3g}); "
                   f"not covered by it: {', '.join(dp.get('not_covered', ()))}")
    return tuple(out)
