"""Fitting one table's model from a Spark DataFrame: Spark statistics, a bounded sample, its spec."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError, MetadataError, PrivacyWarning
from pyspark_synth.io.names import model_name
from pyspark_synth.io.registry import ModelEntry, ModelRegistry, registry_for
from pyspark_synth.metadata import Metadata, Table, format_validation_error, type_family
from pyspark_synth.seeds import derive_seed, resolve_seed
from pyspark_synth.spec import COPY_BACKEND, EMPTY_BACKEND, ColumnStats, TableSpec, TextColumnSpec
from pyspark_synth.training import TrainedTable, TrainingJob, train_table
from pyspark_synth.validation.integrity import (
    DEFAULT_KEY_POLICY,
    KeyCheck,
    check_key_policy,
    check_primary_key,
    unique_key_rows,
)

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

    from pyspark_synth.distributed import DistributedTraining
    from pyspark_synth.privacy.config import PrivacyConfig
    from pyspark_synth.spark.privacy_step import PrivateTable

__all__ = [
    "DEFAULT_SAMPLE_ROWS",
    "EMPTY_BACKEND",
    "PreparedTable",
    "finish_table",
    "apply_key_policy",
    "fit_table",
    "dp_backend",
    "model_arguments",
    "order_rows",
    "private_stats",
    "prepare_table",
    "resolve_table",
    "table_stats",
    "training_sample",
    "uniform_sample",
]

_log = get_logger("fit")
DEFAULT_SAMPLE_ROWS = 200_000
_HASH = "__synth_u"


def resolve_table(df: DataFrame, table: str | None, metadata: Metadata | Table | None) -> Table:
    """The table's metadata, with columns filled from the DataFrame when the metadata has none.

    Raises:
        MetadataError: The metadata's columns and the DataFrame's columns differ.
    """
    from pyspark_synth.spark.metadata_detection import detect_metadata

    if isinstance(metadata, Metadata):
        if table is None:
            if len(metadata.tables) != 1:
                raise MetadataError(f"Say which table to fit: table=... (the metadata has {sorted(metadata.tables)})")
            table = next(iter(metadata.tables))
        tbl = metadata.validate().table(table)
    elif isinstance(metadata, Table):
        tbl = metadata
    else:
        tbl = None
    name = table or (tbl.name if tbl else "table")
    if tbl is None or not tbl.columns:
        detected = detect_metadata({name: df}).metadata.table(name)
        if tbl is None:
            return detected
        keys = tbl.unlearned_key_columns
        cols = tuple(c.model_copy(update={"type": "id"}) if c.name in keys else
                     _untyped_key(c, detected) for c in detected.columns)
        try:  # validated: a key or constraint naming a column the data does not have is named here
            return Table.model_validate({**dict(tbl), "columns": cols})
        except ValueError as exc:
            raise MetadataError(f"Table '{tbl.name}': the metadata does not fit the data's columns "
                                f"{[c.name for c in cols]}: {format_validation_error(exc)}") from exc
    schema_types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    missing = [c for c in tbl.column_names if c not in schema_types]
    extra = [c for c in schema_types if c not in tbl.column_names]
    if missing or extra:
        raise MetadataError(
            f"Table '{tbl.name}': the DataFrame does not match the metadata: missing columns {missing}, "
            f"columns not in the metadata {extra}. Select the metadata's columns or update the metadata."
        )
    cols = tuple(c if c.sql_type else c.model_copy(update={"sql_type": schema_types[c.name]}) for c in tbl.columns)
    return tbl.model_copy(update={"columns": cols})


def _untyped_key(col: Any, detected: Table) -> Any:
    """A column detection typed 'id' that is no key here gets a modelled type instead."""
    if col.type != "id":
        return col
    fam = type_family(col.sql_type)
    return col.model_copy(update={"type": "numerical" if fam in {"integer", "fractional"} else
                                  "datetime" if fam in {"date", "timestamp", "timestamp_ntz"} else "categorical"})


def table_stats(df: DataFrame, tbl: Table) -> dict[str, Any]:
    """Full-data statistics by one Spark aggregation: row count, null rates, min/max of ordered columns."""
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("__n")]
    ordered = []
    for i, c in enumerate(tbl.columns):
        col = F.col(f"`{c.name}`")
        aggs.append(F.sum(F.when(col.isNull(), 1).otherwise(0)).alias(f"n{i}"))
        if type_family(c.sql_type) in {"integer", "fractional", "date", "timestamp", "timestamp_ntz"}:
            aggs += [F.min(col).alias(f"lo{i}"), F.max(col).alias(f"hi{i}")]
            ordered.append(i)
    row = df.agg(*aggs).first().asDict()
    n = int(row["__n"])
    out: dict[str, Any] = {"row_count": n, "columns": {}}
    for i, c in enumerate(tbl.columns):
        st = {"null_rate": (row[f"n{i}"] or 0) / n if n else 0.0}
        if i in ordered:
            st["min"], st["max"] = row[f"lo{i}"], row[f"hi{i}"]
        out["columns"][c.name] = st
    return out


def private_stats(stats: dict[str, Any], tbl: Table, rare_threshold: int,
                  dp: bool = False) -> tuple[dict[str, Any], list[str]]:
    """The statistics the spec may store: with rare-value protection on, no full-data min/max of a
    column that is not a key (each is one record's exact value; only generated keys need theirs).
    Under differential privacy (`dp`) no min/max and no null rate of a non-key column either (the
    model learns nulls under its budget; the spec's exact rates would bypass it).
    """
    keys = set(tbl.key_columns)
    if dp:
        cols = {c: st for c, st in stats["columns"].items() if c in keys}
        dropped = sorted(c for c in stats["columns"] if c not in keys)
        return {**stats, "columns": cols}, ([
            f"table '{tbl.name}': differential privacy: the spec stores no statistics (null rate, min/max) of "
            f"{len(dropped)} non-key column(s) (they would bypass the budget)"] if dropped else [])
    if rare_threshold <= 1:
        return stats, []
    dropped = [c for c, st in stats["columns"].items() if c not in keys and ("min" in st or "max" in st)]
    if not dropped:
        return stats, []
    cols = {c: ({k: v for k, v in st.items() if k not in ("min", "max")} if c in dropped else st)
            for c, st in stats["columns"].items()}
    return {**stats, "columns": cols}, [
        f"table '{tbl.name}': the full-data min/max of {len(dropped)} non-key column(s) are not stored in the spec "
        "(rare-value protection: each is a single record's value)"]


def _row_uniform(df: DataFrame, seed: int) -> Any:
    """A uniform number in [0, 1) per row, a keyed hash of the row's values (not of its position)."""
    from pyspark.sql import functions as F

    h = F.xxhash64(*[F.col(f"`{c}`") for c in df.columns], F.lit(int(seed) & (2**62 - 1)))
    return F.shiftrightunsigned(h, 11).cast("double") / F.lit(float(2**53))


def uniform_sample(df: DataFrame, n: int, row_count: int, seed: int) -> DataFrame:
    """At most `n` rows of `df`, each row equally likely, the same rows however `df` is partitioned.

    Every row gets a uniform number from a keyed hash of its values; the `n` rows with the smallest
    numbers are kept (a filter keeps a little more than `n / row_count` of the rows first, so only
    those are ordered). `sample(fraction).limit(n)` instead favours the first partitions.
    """
    if row_count <= n:
        return df
    frac = min(1.0, (n + 6 * math.sqrt(n) + 20) / row_count)
    u = _row_uniform(df, seed)
    return df.select("*", u.alias(_HASH)).where(f"{_HASH} < {frac!r}").orderBy(_HASH).limit(n).drop(_HASH)


def training_sample(df: DataFrame, row_count: int, sample_rows: int, seed: int) -> pd.DataFrame:
    """At most `sample_rows` rows, drawn uniformly with Spark and brought to the driver.

    The rows are ordered by a keyed hash of their values (`order_rows`), so the model sees the same
    rows in the same order whatever the partitioning of `df`.
    """
    return order_rows(uniform_sample(df, sample_rows, row_count, seed).toPandas(), seed)


def order_rows(pdf: pd.DataFrame, seed: int) -> pd.DataFrame:
    """`pdf`'s rows in the order of a keyed hash of their values (independent of how they arrived)."""
    import pandas as pd

    if len(pdf) < 2:
        return pdf.reset_index(drop=True)
    order = pd.util.hash_pandas_object(pdf.astype(str), index=False, hash_key=f"{derive_seed(seed, 'order'):016x}"[:16])
    return pdf.iloc[order.argsort(kind="stable").to_numpy()].reset_index(drop=True)


def dp_backend(backend: str, privacy: Any, where: str) -> tuple[str, list[str]]:
    """The backend to train with under differential privacy, checked before any Spark job.

    Without DP (`privacy` is None, or its `differential_privacy` settings are off) the backend is
    returned as it is. With DP, backend "auto" becomes "autoregressive" (a note says so) and a
    backend without a DP mode (`training.has_dp_mode`: the copula, CTGAN, the sequence model) is
    refused.

    Raises:
        PrivacyError: The backend has no differential-privacy mode.
    """
    from pyspark_synth.errors import PrivacyError
    from pyspark_synth.models.auto import AUTO_BACKEND
    from pyspark_synth.models.base import get_backend
    from pyspark_synth.training import has_dp_mode

    dp = getattr(privacy, "differential_privacy", None)
    if dp is None and hasattr(privacy, "dp_settings"):
        dp = privacy.dp_settings()
    if dp is None:
        return backend, []
    if backend == AUTO_BACKEND:
        return "autoregressive", ["backend 'auto' trains 'autoregressive' under differential privacy (the copula and "
                                  "CTGAN have no DP mode)"]
    if not has_dp_mode(get_backend(backend)):
        why = {"copula": "the copula's quantiles and correlations would bypass DP",
               "ctgan": "CTGAN's conditions, mode normaliser and batch normalisation read real rows outside any "
                        "per-record bound"}.get(backend, "it takes no differential_privacy settings")
        raise PrivacyError(f"{where}: backend '{backend}' has no differential-privacy mode ({why}), and "
                           "PrivacyConfig(enable_differential_privacy=True) was given. Use backend='autoregressive' "
                           "(DP-SGD) or backend='auto', or fit without differential privacy. Nothing was fitted.")
    return backend, []


def dp_uncovered(tbl: Table, relations: Mapping[str, Any]) -> list[str]:
    """What differential privacy does not cover in this table's fit: its foreign keys' laws (learned
    exactly by the relational fit) and its generated keys' shapes (said in the notes and warned)."""
    out = []
    labels = [", ".join(r.columns) for r in [relations.get("driving"), *relations.get("secondary", ()),
                                             *relations.get("self_refs", ())] if r is not None]
    if labels:
        out.append(f"table '{tbl.name}': differential privacy does not cover its foreign keys' child-count laws, "
                   f"linkage model and null rates ({'; '.join(labels)}), nor the choice of its driving parent and "
                   "context columns: they are learned exactly from the rows (a parent's number of children is kept "
                   "as it is). Fit the table without its relations to keep only DP statistics")
    if tbl.generated_key_columns:
        out.append(f"table '{tbl.name}': differential privacy does not cover the shapes of its generated keys "
                   f"{list(tbl.generated_key_columns)} (prefix, width, the minimum of number keys): learned from "
                   "the rows")
    return out


def model_arguments(backend: str, epochs: int | None, batch_size: int | None,
                    model_kwargs: Mapping[str, Any]) -> tuple[type | None, dict[str, Any], list[str]]:
    """(model class, constructor arguments, notes) for a fit, checked before any Spark job.

    Raises:
        SynthError: The backend is unknown, or an argument is not one of its parameters.
    """
    from pyspark_synth.errors import SynthError
    from pyspark_synth.models.auto import AUTO_BACKEND
    from pyspark_synth.models.base import backend_arguments, get_backend

    kwargs = dict(model_kwargs)
    if epochs is not None:
        kwargs["epochs"] = epochs
    if batch_size is not None:
        kwargs["batch_size"] = batch_size
    if backend == AUTO_BACKEND:
        other = sorted(set(kwargs) - {"epochs", "batch_size"})
        if other:
            raise SynthError(f"backend='auto' chooses each table's backend from its data, so it takes no backend "
                             f"hyper-parameters ({other}); name a backend (backend='copula', 'autoregressive', "
                             "'ctgan', ...) to set them")
        return None, kwargs, []
    cls = get_backend(backend)
    args, notes = backend_arguments(backend, cls, kwargs)
    return cls, args, notes


def apply_key_policy(checks: Sequence[KeyCheck], frames: Mapping[str, DataFrame], policy: str, *,
                     seed: int) -> tuple[dict[str, DataFrame], list[str]]:
    """Apply `on_duplicate_key` to the tables whose primary key has null or repeated values.

    Args:
        checks: Each table's primary-key check (`validation.integrity.check_primary_key`).
        frames: `{table: rows}`; tables without a failed check are returned as they are.
        policy: "drop" (drop the null-key rows, keep one row per repeated value: the same row on
            every run, see `unique_key_rows`) or "refuse".
        seed: Root seed of the fit (which row of a repeated value is kept).

    Returns:
        The frames after the policy, and one note per table it changed.

    Raises:
        DataError: The policy is "refuse" and a key has null or repeated values (every such key
            is named, with counts and examples).
    """
    bad = [c for c in checks if not c.ok]
    out = dict(frames)
    if not bad:
        return out, []
    if check_key_policy(policy) == "refuse":
        raise DataError(
            "Primary keys with null or repeated values in the data to fit (on_duplicate_key='refuse'):\n  "
            + "\n  ".join(c.message() for c in bad)
            + "\nFix the data (fill or deduplicate the keys), declare another primary key in the metadata, or fit "
              "with on_duplicate_key='drop' to drop the null-key rows and keep one row per repeated key value."
        )
    notes = []
    for chk in bad:
        _log.warning("primary key not unique", policy=policy, **chk.to_dict())
        out[chk.table] = unique_key_rows(out[chk.table], chk.key, derive_seed(seed, chk.table, "keys"))
        notes.append(f"{chk.message()}; policy 'drop' applied: {chk.dropped_rows} rows dropped "
                     f"(null keys, and all but one row of each repeated value), {chk.rows - chk.dropped_rows} kept")
    return out, notes


def fit_table(
    df: DataFrame,
    *,
    table: str | None = None,
    metadata: Metadata | Table | None = None,
    backend: str = "auto",
    epochs: int | None = None,
    batch_size: int | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int | None = None,
    registry: ModelRegistry | str | None = None,
    context_columns: dict[str, str] | None = None,
    catalog_table: str | None = None,
    relations: Mapping[str, Any] | None = None,
    extra_manifest: dict[str, Any] | None = None,
    empty_ok: bool = False,
    privacy: PrivacyConfig | PrivateTable | None = None,
    pii: str = "suggest",
    on_duplicate_key: str = DEFAULT_KEY_POLICY,
    distributed: int | DistributedTraining | None = None,
    **model_kwargs: Any,
) -> ModelEntry:
    """Fit one table's model from a Spark DataFrame and store it (with its spec) in the registry.

    Only a bounded uniform sample (`sample_rows`) reaches the driver; row count, null rates and
    key ranges come from Spark aggregations over the full table. The fitted model is stored as a
    new version in the registry and listed in the catalog metadata table.

    Before anything is learned, the table goes through the privacy step
    (`spark.privacy_step.prepare_privacy`): the PII rules of the metadata (`Column.pii`) and of
    `privacy` are applied, columns without a rule that detection finds to be PII are handled by
    the `pii` policy, and faked columns are removed (sampling makes them again, see `TableSpec.fakes`).

    Args:
        df: The table's rows.
        table: Table name (required when the metadata has several tables).
        metadata: The database metadata (or the table's); detected from `df` when None.
        backend: Registered model backend name ("ctgan", "copula", or a user's).
        epochs: Training epochs (the backend's default when None; not given to backends that do
            not train in epochs, which the spec's notes then say).
        batch_size: Training batch size (as `epochs`).
        sample_rows: Most rows brought to the driver for training.
        seed: Root seed of the fit (sampling of training rows and the model's training).
        registry: Registry or registry root; defaults to the session's (see `registry_for`).
        context_columns: `{column of df: parent column name}` for columns of `df` that hold the
            driving parent's context (joined in by relational fitting); the model is conditioned
            on them and they are not part of the table's output.
        catalog_table: Catalog metadata table that lists the model versions.
        relations: What relational fitting learned about the table (the `TableSpec` fields
            `context`, `driving`, `secondary`, `self_refs`, `notes`); `fit_database` sets it.
        extra_manifest: Deprecated and ignored (relational facts now travel in `relations`).
        empty_ok: Store a table without rows as an empty table instead of refusing it.
        privacy: PII rules, the HMAC key source and detection settings (a `PrivacyConfig`); or the
            table as `prepare_privacy` left it (`fit_database` passes it: the step is not run again).
        pii: What happens to columns without a rule that detection finds to be PII: "suggest"
            (the default: their suggested action is applied and said in the spec's notes),
            "strict" (refuse to fit, listing them) or "ignore" (no detection; learned as they are).
        on_duplicate_key: What to do when the primary key has null or repeated values in `df`
            (counted by a Spark aggregation before the model sees any row): "drop" (the
            default) drops the rows with a null key and keeps one row per repeated value, and
            says so in the spec's notes; "refuse" raises instead.
        distributed: Train the model data-parallel (`spark.torch_distributor`, pyspark's
            `TorchDistributor`): a number of processes on the driver, or a
            `DistributedTraining(num_processes, local_mode=..., use_gpu=...)`. Each process trains
            on its shard of every batch and the gradients are all-reduced; the archive is the same
            kind as any fit's. The autoregressive backend only ("auto" then trains it); None (the
            default) trains in this process.
        **model_kwargs: The backend's hyper-parameters (a name it does not take is an error).

    Returns:
        The registry entry of the new model version.

    Raises:
        SynthError: Unknown backend or hyper-parameter (before any Spark job).
        DataError: The table has no rows (unless `empty_ok`), `on_duplicate_key` is unknown
            (before any Spark job), or it is "refuse" and the primary key has null or repeated values.
        PrivacyError: A PII rule is invalid or a hash rule has no key (before any Spark job), or
            `pii="strict"` and a column without a rule looks like PII (after the detection sample),
            or `distributed` is given with differential privacy.
    """
    from pyspark_synth.distributed import distributed_backend, distributed_setting

    setting = distributed_setting(distributed, "fit_table")
    parallel_notes: list[str] = []
    if setting is not None:  # everything it cannot do fails here, before any Spark job
        from pyspark_synth.spark.torch_distributor import (
            asks_differential_privacy,
            check_distributed,
        )

        backend, parallel_notes = distributed_backend(backend, differential_privacy=asks_differential_privacy(privacy),
                                                      where="fit_table")
        check_distributed(df.sparkSession, setting, where="fit_table")
    prepared = prepare_table(df, table=table, metadata=metadata, backend=backend, epochs=epochs, batch_size=batch_size,
                             sample_rows=sample_rows, seed=seed, registry=registry, context_columns=context_columns,
                             relations=relations, extra_manifest=extra_manifest, empty_ok=empty_ok, privacy=privacy,
                             pii=pii, on_duplicate_key=on_duplicate_key, **model_kwargs)
    trained = None
    if not prepared.empty and setting is not None:
        from pyspark_synth.spark.torch_distributor import train_distributed

        trained = train_distributed(prepared, setting, where="fit_table")
        trained = replace(trained, notes=(*parallel_notes, *trained.notes))
    elif not prepared.empty:
        pdf, ctx = prepared.training_rows()
        _log.info("fitting table", table=prepared.name, backend=backend, rows=prepared.row_count,
                  training_rows=len(pdf), seed=prepared.job.seed)
        trained = train_table(prepared.job, pdf, ctx, backend_class=prepared.model_class)
    return finish_table(prepared, trained, catalog_table=catalog_table)


@dataclass
class PreparedTable:
    """One table ready to train: its metadata, Spark statistics, spec fields and training sample.

    Attributes:
        job: What to train (JSON-able).
        model_class: The backend's class (None for backend "auto": chosen when it trains).
        base: The spec's fields known before training (statistics, relations, notes).
        sample: The bounded training sample (a lazy DataFrame: the table's columns, then the
            context columns under their `context_map` names).
        context_map: `{sample column: parent context column}`.
        training_size: Rows the sample holds (at most `sample_rows`).
        registry: Where the model goes.
        spark: The session.
        key_counters: Composite-key columns generated as counters within their group.
        sequence: For a table fitted in sequential mode, its sample's plan (`fit_sequence.SequencePlan`:
            `sample` is then its children); None for every other table.
        label: The driving foreign key of a sequence table (for its notes).
        copied: A lookup table's rows copied as they are (`spec.CopiedRows`: nothing trains), or None.
    """

    job: TrainingJob
    model_class: type | None
    base: dict[str, Any]
    sample: DataFrame | None
    context_map: dict[str, str]
    registry: ModelRegistry
    spark: Any
    training_size: int = 0
    key_counters: dict[str, tuple[tuple[str, ...], int]] = field(default_factory=dict)
    sequence: Any = None
    label: str = ""
    copied: Any = None

    @property
    def name(self) -> str:
        """The table."""
        return self.job.table.name

    @property
    def row_count(self) -> int:
        """Rows of the real table."""
        return int(self.base["row_count"])

    @property
    def empty(self) -> bool:
        """True when the table has no rows (nothing to train)."""
        return self.sample is None

    def split(self, both: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """A collected sample as (training rows, context rows), in the order `order_rows` gives."""
        both = order_rows(both, derive_seed(self.job.seed, self.name, "sample"))
        pdf = both[self.job.table.column_names]
        ctx = both[list(self.context_map)].rename(columns=self.context_map).reset_index(drop=True) if self.context_map else None
        return pdf, ctx

    def training_rows(self) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The training sample brought to the driver, as (rows, context)."""
        return self.split(self.sample.toPandas())


def prepare_table(
    df: DataFrame,
    *,
    table: str | None = None,
    metadata: Metadata | Table | None = None,
    backend: str = "auto",
    epochs: int | None = None,
    batch_size: int | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int | None = None,
    registry: ModelRegistry | str | None = None,
    context_columns: dict[str, str] | None = None,
    relations: Mapping[str, Any] | None = None,
    extra_manifest: dict[str, Any] | None = None,
    empty_ok: bool = False,
    threads: int | None = None,
    privacy: PrivacyConfig | PrivateTable | None = None,
    pii: str = "suggest",
    on_duplicate_key: str = DEFAULT_KEY_POLICY,
    copied: Any = None,
    **model_kwargs: Any,
) -> PreparedTable:
    """Everything `fit_table` does before training: the privacy step, checks, Spark statistics,
    the sample's plan.

    See `fit_table` for the arguments; `threads` sets torch's threads while the model trains.
    Within a database (`privacy` is a `PrivateTable`), `fit_database` has already checked the
    keys and run the privacy step for every table. With `copied` (a lookup table's rows,
    `spec.CopiedRows`), nothing trains: the table's spec holds those rows.
    """
    from pyspark_synth.spark.privacy_step import PrivateTable, check_pii_mode

    backend, dp_notes = dp_backend(backend, privacy, "fit_table")
    model_cls, kwargs, notes = model_arguments(backend, epochs, batch_size, model_kwargs)
    notes = [*dp_notes, *notes]
    if not isinstance(privacy, PrivateTable):
        check_pii_mode(pii, "fit_table")
        check_key_policy(on_duplicate_key)
    relations = dict(relations or {})
    if extra_manifest is not None:
        warnings.warn("fit_table(extra_manifest=...) is deprecated and ignored; relational facts go in relations=",
                      DeprecationWarning, stacklevel=2)
    seed = resolve_seed(seed)
    table = model_name(table) if table is not None else None  # 'default.adult' -> 'adult' (io.names)
    ctx_map = dict(context_columns or {})
    data_df = df.drop(*ctx_map) if ctx_map else df
    tbl = resolve_table(data_df, table, metadata)
    if isinstance(privacy, PrivateTable):
        private = privacy
    else:  # the table is fitted alone: its privacy step runs here
        df, private = _prepare_privacy(df, tbl, metadata, privacy, pii, sample_rows)
        tbl = private.table
        data_df = df.drop(*ctx_map) if ctx_map else df
    reg = registry_for(df.sparkSession, registry)
    if tbl.primary_key and not isinstance(privacy, PrivateTable):
        chk = check_primary_key(tbl.name, data_df, tbl.primary_key)
        kept, key_notes = apply_key_policy([chk], {tbl.name: df}, on_duplicate_key, seed=seed)
        df, notes = kept[tbl.name], [*key_notes, *notes]
        data_df = df.drop(*ctx_map) if ctx_map else df
    data_df = data_df.select(*[f"`{c}`" for c in tbl.column_names])
    stats = table_stats(data_df, tbl)
    stats, stat_notes = private_stats(stats, tbl, private.rare_threshold, dp=private.differential_privacy is not None)
    notes = [*notes, *stat_notes]
    if private.differential_privacy is not None:
        uncovered = dp_uncovered(tbl, relations)
        notes = [*notes, *uncovered]
        if uncovered:
            warnings.warn("; ".join(uncovered), PrivacyWarning, stacklevel=3)
    base = spec_fields(tbl, seed, stats, data_df.schema, relations, private, notes)
    job = TrainingJob(table=tbl, backend=backend, arguments=kwargs, seed=seed, key_minimums=_key_minimums(tbl, stats),
                      threads=threads, rare_threshold=private.rare_threshold,
                      differential_privacy=private.differential_privacy)
    sample = None
    if copied is not None:
        pass  # nothing to train: the spec holds the rows
    elif stats["row_count"] == 0:
        if not empty_ok:
            raise DataError(f"Table '{tbl.name}' has no rows: there is nothing to learn from. Fit it once it has data "
                            "(within a database, fit_database keeps an empty table as an empty table)")
    else:
        full = df.select(*[f"`{c}`" for c in tbl.column_names + list(ctx_map)])
        sample = uniform_sample(full, sample_rows, stats["row_count"], derive_seed(seed, tbl.name, "sample"))
    counters = counter_keys(data_df, tbl) if stats["row_count"] and copied is None else {}
    if counters:
        base["notes"] = (*base["notes"], *[f"key column '{c}' numbers the rows of each {list(g)} from {start}, as in the "
                                           "data: generated so" for c, (g, start) in counters.items()])
    return PreparedTable(job=job, model_class=model_cls, base=base, sample=sample, context_map=ctx_map, registry=reg,
                         spark=df.sparkSession, training_size=min(stats["row_count"], sample_rows),
                         key_counters=counters, copied=copied)


def spec_fields(tbl: Table, seed: int, stats: dict[str, Any], schema: Any, relations: Mapping[str, Any],
                private: PrivateTable | None, notes: Sequence[str] = ()) -> dict[str, Any]:
    """The `TableSpec` fields known before training: the table, its Spark statistics, the output
    schema, the relation fields, the privacy step's column actions and fakes (none when `private`
    is None: the table had no step), and the notes."""
    from pyspark_synth.spark.privacy_step import fake_specs, output_schema

    fields: dict[str, Any] = {}
    extra: tuple[str, ...] = ()
    if private is not None:
        fakes, fake_notes = fake_specs(private, context=tuple(relations.get("context", ())),
                                       driving=relations.get("driving"))
        schema = output_schema(private, schema)
        fields = {"privacy": private.columns, "fakes": fakes}
        extra = (*private.notes, *fake_notes)
    return {"name": tbl.name, "seed": seed, "table": tbl, "spark_schema": schema.json(),
            "row_count": stats["row_count"],
            "stats": {c: ColumnStats(**json.loads(json.dumps(v, default=str))) for c, v in stats["columns"].items()},
            **relations, "notes": (*relations.get("notes", ()), *notes, *extra), **fields}


def finish_table(prepared: PreparedTable, trained: TrainedTable | None, *, catalog_table: str | None = None,
                 index: bool = True) -> ModelEntry:
    """Store a prepared table's spec and model (none for an empty table) as its new registry version.

    With `index` False the version is not listed in the catalog table: the caller lists several
    at once (`index_models`), one write instead of one per table.
    """
    if trained is None and prepared.copied is not None:  # a lookup table copied as it is
        spec = TableSpec(backend=COPY_BACKEND, training_rows=0, copied=prepared.copied, **prepared.base)
        return _store(prepared.registry, spec, None, prepared.spark, catalog_table if index else False)
    if trained is None:
        # an empty table of a database (northwind's customer_demographics): no model, and its
        # synthetic copy is empty with the same schema
        spec = TableSpec(backend=EMPTY_BACKEND, training_rows=0, **prepared.base)
        return _store(prepared.registry, spec, None, prepared.spark, catalog_table if index else False)
    if prepared.key_counters:
        keys = tuple(k.model_copy(update={"kind": "counter", "offset": prepared.key_counters[k.column][1],
                                          "within": prepared.key_counters[k.column][0]})
                     if k.column in prepared.key_counters else k for k in trained.keys)
        trained = replace(trained, keys=keys)
    return _store(prepared.registry, trained_spec(prepared.base, prepared.job.backend, trained), trained.model_bytes,
                  prepared.spark, catalog_table if index else False)


def counter_keys(df: DataFrame, tbl: Table, *, share: float = 0.99) -> dict[str, tuple[tuple[str, ...], int]]:
    """The generated columns of a composite primary key that count the rows of their group.

    A pit-stop table keyed by (race_id, driver_id, stop) numbers each (race, driver)'s stops 1..n:
    such a column is generated by numbering the synthetic rows of each group the same way, not
    from row ids (1..N over the table). A column qualifies when it is an integer and, in at least
    `share` of the groups of the other key columns, its values are exactly start..start+n-1 for
    the group's n rows, with one start for every group, and some group has more than one row.
    One Spark aggregation per candidate column.

    Returns:
        `{column: (group columns, start)}`.
    """
    from pyspark.sql import functions as F

    out: dict[str, tuple[tuple[str, ...], int]] = {}
    if len(tbl.primary_key) < 2:
        return out
    for c in tbl.generated_key_columns:
        if type_family(tbl.column(c).sql_type) != "integer":
            continue
        group = tuple(k for k in tbl.primary_key if k != c)
        v = F.col(f"`{c}`")
        g = df.where(v.isNotNull()).groupBy(*[F.col(f"`{k}`") for k in group]).agg(
            F.min(v).alias("mn"), F.max(v).alias("mx"), F.count(F.lit(1)).alias("n"), F.count_distinct(v).alias("d"))
        row = g.agg(F.count(F.lit(1)).alias("groups"), F.min("mn").alias("lo"), F.max("mn").alias("hi"),
                    F.max("n").alias("most"),
                    F.sum(F.when((F.col("mx") - F.col("mn") + 1 == F.col("n")) & (F.col("d") == F.col("n")), 1)
                          .otherwise(0)).alias("runs")).first()
        groups = int(row["groups"] or 0)
        if groups and row["lo"] == row["hi"] and int(row["most"]) > 1 and int(row["runs"]) >= share * groups:
            out[c] = (group, int(row["lo"]))
    return out


def _key_minimums(tbl: Table, stats: dict[str, Any]) -> dict[str, Any]:
    """The smallest value of each generated key column over the full table (where integer keys start)."""
    return {c: stats["columns"][c].get("min") for c in tbl.generated_key_columns}


def trained_spec(base: dict[str, Any], backend: str, trained: TrainedTable) -> TableSpec:
    """The table's spec from its Spark statistics and relations (`base`) and what training produced."""
    return TableSpec(backend=trained.backend or backend, training_rows=trained.training_rows, keys=trained.keys,
                     text=tuple(TextColumnSpec.model_validate(t) for t in trained.text), model=_pending_model(),
                     model_report=trained.report, **{**base, "notes": (*base.get("notes", ()), *trained.notes)})


def _prepare_privacy(df: DataFrame, tbl: Table, metadata: Metadata | Table | None, privacy: PrivacyConfig | None,
                     pii: str, sample_rows: int) -> tuple[DataFrame, PrivateTable]:
    """The privacy step of a table fitted alone (its other columns, a joined context, pass through)."""
    from pyspark_synth.spark.privacy_step import prepare_privacy

    tables = dict(metadata.tables) if isinstance(metadata, Metadata) else {}
    tables[tbl.name] = tbl
    prep = prepare_privacy(df.sparkSession, Metadata(tables=tables), {tbl.name: df}, privacy=privacy, pii=pii,
                           columns={tbl.name: tbl.column_names}, max_rows=sample_rows, where="fit_table")
    return prep.frames[tbl.name], prep.tables[tbl.name]


def _pending_model() -> Any:
    """A placeholder model reference; the registry records the archive's real size and digest."""
    from pyspark_synth.spec import ModelReference

    return ModelReference(size=0, sha256="")


def _store(reg: ModelRegistry, spec: TableSpec, model_bytes: bytes | None, spark: Any,
           catalog_table: str | None | bool) -> ModelEntry:
    """Save a table's spec and model (none for an empty table) as a new registry version and list it
    in the catalog table (not when `catalog_table` is False)."""
    entry = reg.save(spec, model_bytes)
    if catalog_table is not False:
        index_models(spark, [entry], catalog_table, reg)
    _log.info("fitted table", table=spec.name, backend=spec.backend, version=entry.version, path=entry.path)
    return entry


def index_models(spark: Any, entries: Sequence[ModelEntry], catalog_table: str | None, reg: ModelRegistry) -> None:
    """List model versions in the catalog table, in one write (appended to the table)."""
    from datetime import datetime, timezone

    from pyspark_synth.io.catalog import write_records

    if not entries:
        return
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = [{
        "metadata_name": reg.namespace, "record_type": "model", "table_name": entry.table,
        "column_name": None, "position": entry.version, "sql_type": None, "semantic_type": entry.backend,
        "nullable": None, "primary_key": None, "pii_kind": None, "pii_action": None,
        "detail": json.dumps({"version": entry.version, "path": entry.path, "fitted_at": entry.fitted_at,
                              "row_count": entry.row_count, "training_rows": entry.training_rows,
                              "columns": entry.columns, "backend": entry.backend, "seed": entry.seed}),
        "library_version": entry.library_version, "updated_at": now,
    } for entry in entries]
    write_records(spark, rows, catalog_table)
