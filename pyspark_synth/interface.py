"""The seed API: `Synthesizer`, a thin fit → sample → validate layer over the package's plain functions.

`Synthesizer.fit` reads the tables (`spark.fit_database.read_tables`), runs the privacy step every
fit path runs (`spark.privacy_step.prepare_privacy`: the `PrivacyConfig`'s and the metadata's rules,
detected PII by the `pii` policy; `fake` columns are removed), then calls
`spark.fit_database.fit_database` on the prepared tables. `Synthesizer.sample` calls
`spark.sample_database.sample_database` (whose kernel makes the faked columns again, locale-aware,
from the generated rows) and writes the tables with `io.writers.write_tables`. `validate=True`
runs `validation.validate` on the written tables and writes its HTML report. The accessors (`spark.synth.fit`, `spark.synth.sample`, ...) call the same
functions; nothing here is a second engine.
"""

from __future__ import annotations

import inspect
import os
import uuid
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError, NotFittedError, SynthError, WriteError
from pyspark_synth.metadata import Metadata
from pyspark_synth.privacy.config import PrivacyConfig, TablePrivacy
from pyspark_synth.seeds import resolve_seed
from pyspark_synth.validation.integrity import DEFAULT_KEY_POLICY, check_key_policy

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from pyspark_synth.io.registry import ModelRegistry
    from pyspark_synth.spark.fit_database import FitReport
    from pyspark_synth.validation import ValidationResult

__all__ = ["SAMPLING_STRATEGIES", "Synthesizer"]

_log = get_logger("synthesizer")
SAMPLING_STRATEGIES = ("relational_stratified", "none")
REPORT_NAME = "validation_report.html"


def _resolve_backend(backend: str | type) -> tuple[str, type | None]:
    """(registered name, class) of a backend name (case-insensitive) or a model class (registered on the fly)."""
    from pyspark_synth.models.base import get_backend, register_backend

    if isinstance(backend, type):
        name = getattr(backend, "name", None)
        name = backend.__name__.lower() if not isinstance(name, str) or name in ("", "base") else name.lower()
        register_backend(name, backend)
        return name, backend
    if not isinstance(backend, str) or not backend:
        raise SynthError(f"Synthesizer: backend must be a registered backend name or a model class, got {backend!r}")
    if backend.lower() == "auto":
        return "auto", None  # chosen per table from its data when it trains
    return backend.lower(), get_backend(backend)


def _accepts(cls: type, name: str) -> bool:
    try:
        return name in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


class Synthesizer:
    """Learn a relational database and write synthetic copies of it (the seed project's API).

    Args:
        metadata: The database metadata (tables, keys, foreign keys; columns may be left empty).
        privacy_config: PII rules, the HMAC key source and auto-detection, applied before fitting.
        spark_session: The session; when None the active one, else a new local one, is used.
        backend: "auto" (the default: chosen per table from its data, see `models.auto`), a
            registered model backend, case-insensitive ("CTGAN", "copula", "autoregressive", a
            user's name from `pyspark_synth.models.register_backend`), or a model class (registered
            on use).
        embedding_threshold: Categorical columns with more distinct values get an entity embedding
            (passed to backends whose constructor takes it).
        registry: Model registry (or its root directory); by default a fresh namespace of the
            session's registry, so two Synthesizers never sample each other's models.
        report_dir: Directory of the validation report (default: the output directory).

    Example:
        >>> syn = Synthesizer(md, PrivacyConfig(rules={"users": {"email": "hash"}}, key_env="HMAC_KEY"))
        >>> syn.fit({"users": "file:///data/users.csv", "orders": "/data/orders.parquet"}, epochs=50)
        >>> paths = syn.sample({"users": 1000}, output_format="delta", output_path="/tmp/synthetic")
    """

    def __init__(
        self,
        metadata: Metadata,
        privacy_config: PrivacyConfig | None = None,
        spark_session: SparkSession | None = None,
        backend: str | type = "auto",
        embedding_threshold: int = 50,
        *,
        registry: ModelRegistry | str | None = None,
        report_dir: str | os.PathLike | None = None,
    ) -> None:
        self.metadata = metadata
        self.privacy_config = privacy_config
        self.spark_session = spark_session
        self.backend = backend
        self.embedding_threshold = embedding_threshold
        self.registry = registry
        self.report_dir = report_dir

    # ------------------------------------------------------------------ session
    @property
    def spark(self) -> SparkSession:
        """The session given, else the active one, else a new local one (the embedded default)."""
        if self.spark_session is None:
            from pyspark_synth.spark.session import get_or_create_session

            self.spark_session = get_or_create_session("pyspark-synth")
        return self.spark_session

    def _check_fitted(self) -> None:
        if not hasattr(self, "metadata_"):
            raise NotFittedError("This Synthesizer is not fitted yet. Call fit() first.")

    # ---------------------------------------------------------------------- fit
    def fit(
        self,
        data: str | Mapping[str, Any],
        sampling_strategy: str = "relational_stratified",
        sample_size: int | None = 5_000_000,
        validate: bool | Mapping[str, Any] = False,
        epochs: int = 300,
        batch_size: int = 500,
        *,
        seed: int | None = None,
        stratify_by: str | None = None,
        pii: str = "suggest",
        on_duplicate_key: str = DEFAULT_KEY_POLICY,
        copy_lookups: bool | Collection[str] = True,
        **model_kwargs: Any,
    ) -> Synthesizer:
        """Read the database, apply the privacy rules, and fit every table's model; returns self.

        Args:
            data: A database in the catalog (all of its tables the metadata names), or
                `{table: uri}` with .csv / .parquet files, Delta directories, `file://` URIs,
                catalog table names or DataFrames.
            sampling_strategy: "relational_stratified" fits on a sample of about `sample_size`
                root rows with all their descendants; "none" fits on everything (bounded per table
                by the engine's training sample).
            sample_size: Root rows of the relational sample.
            validate: After each `sample()`, compare the written tables with the (scrubbed) real
                ones and write the HTML report; a mapping gives options to `validation.validate`.
            epochs: Training epochs.
            batch_size: Training batch size.
            seed: Root seed of the fit.
            stratify_by: Root column the relational sample is stratified by.
            pii: Columns without a rule that detection finds to be PII: "suggest" (the default:
                their suggested action is applied and said in `fit_report_.notes`), "strict"
                (refuse to fit, listing them) or "ignore" (no detection; learned as they are).
            on_duplicate_key: Rows whose primary key is null or repeats a value: "drop" (the
                default: dropped, one row kept per value, listed in `fit_report_`) or "refuse"
                (see `fit_database`).
            copy_lookups: Lookup tables copied as they are: True (the default: any the rule
                finds and nothing rules out), False (none: modelled as any table) or a list of
                table names (see `fit_database`).
            **model_kwargs: Passed to the backend's constructor.

        Raises:
            SynthError: The backend is not registered.
            DataError: A table has no data, the database does not exist, the strategy or
                `on_duplicate_key` or `copy_lookups` is unknown, or a primary key breaks `on_duplicate_key="refuse"`.
            PrivacyError: A rule is invalid, or hash rules have no key (before any training), or
                `pii="strict"` and a column without a rule looks like PII.
        """
        from pyspark_synth.spark.fit_database import (
            check_copy_lookups,
            fill_columns,
            fit_database,
            read_tables,
        )
        from pyspark_synth.spark.privacy_step import check_pii_mode, prepare_privacy

        if sampling_strategy not in SAMPLING_STRATEGIES:
            raise DataError(f"Synthesizer.fit: unknown sampling_strategy {sampling_strategy!r}. "
                            f"Use one of {list(SAMPLING_STRATEGIES)}.")
        check_pii_mode(pii, "Synthesizer.fit")
        check_key_policy(on_duplicate_key, "Synthesizer.fit: on_duplicate_key")
        name, cls = _resolve_backend(self.backend)
        if self.embedding_threshold is not None and cls is not None and _accepts(cls, "embedding_threshold"):
            model_kwargs.setdefault("embedding_threshold", self.embedding_threshold)
        metadata = self.metadata.validate()
        check_copy_lookups(copy_lookups, metadata, "Synthesizer.fit")
        seed = resolve_seed(seed)
        spark = self.spark
        frames = read_tables(spark, self._sources(data, metadata))
        cfg = self.privacy_config or PrivacyConfig()
        prepared = prepare_privacy(spark, fill_columns(metadata, frames), frames, privacy=cfg, pii=pii,
                                   where="Synthesizer.fit")
        frames, metadata, plans = prepared.frames, prepared.metadata, prepared.plans
        reg = self._registry()
        report = fit_database(
            spark, metadata, frames, backend=name, epochs=epochs, batch_size=batch_size,
            sample_size=sample_size if sampling_strategy == "relational_stratified" else None,
            stratify_by=stratify_by, seed=seed, registry=reg, privacy=prepared, on_duplicate_key=on_duplicate_key,
            copy_lookups=copy_lookups, **model_kwargs,
        )
        self.backend_ = name
        self.registry_ = reg
        self.fit_report_: FitReport = report
        self.metadata_: Metadata = report.metadata or metadata
        self.privacy_: dict[str, TablePrivacy] = plans
        self.real_: dict[str, DataFrame] = frames
        self.validate_ = validate
        self.seed_ = seed
        _log.info("synthesizer fitted", tables=list(self.metadata_.tables), backend=name, seed=seed,
                  privacy={t: p.describe() for t, p in plans.items() if p.describe()})
        return self

    def _sources(self, data: str | Mapping[str, Any], metadata: Metadata) -> dict[str, Any]:
        names = list(metadata.tables)
        if isinstance(data, str):
            try:
                listed = {t.name for t in self.spark.catalog.listTables(data)}
            except Exception as exc:  # noqa: BLE001 - the catalog's own error is reported
                raise DataError(f"Synthesizer.fit: database '{data}' cannot be listed in the catalog "
                                f"({type(exc).__name__}: {exc}). Give an existing database or a {{table: uri}} map.") from exc
            missing = [t for t in names if t not in listed]
            if missing:
                raise DataError(f"Synthesizer.fit: database '{data}' has no table(s) {missing}. "
                                f"Its tables: {sorted(listed)}. Metadata tables: {names}")
            return {t: f"{data}.{t}" for t in names}
        if not isinstance(data, Mapping):
            raise DataError(f"Synthesizer.fit: data must be a database name or a {{table: uri}} map, got {type(data).__name__}")
        missing = [t for t in names if t not in data]
        extra = [t for t in data if t not in metadata.tables]
        if missing or extra:
            raise DataError(f"Synthesizer.fit: the data map does not match the metadata: no data for {missing}, "
                            f"tables not in the metadata {extra}. Metadata tables: {names}")
        return {t: data[t] for t in names}

    def _registry(self) -> ModelRegistry:
        from pyspark_synth.io.registry import Registry, registry_for

        if isinstance(self.registry, Registry):
            return self.registry
        return registry_for(self.spark, self.registry).with_namespace(f"synthesizer-{uuid.uuid4().hex[:12]}")

    # ------------------------------------------------------------------- sample
    def sample(
        self,
        num_rows: Mapping[str, int] | None = None,
        output_format: str = "delta",
        output_path: str | os.PathLike | None = None,
        *,
        seed: int | None = None,
        scale: float | None = None,
        mode: str = "error",
    ) -> dict[str, str]:
        """Generate every table and write it; returns `{table: absolute output path}`.

        Args:
            num_rows: Rows per root table; child tables get their sizes from their parents.
                Roots not named keep their original size (times `scale`).
            output_format: "delta" or "parquet".
            output_path: Directory that receives one sub-directory per table; by default
                `<warehouse>/synthetic/<run>`.
            seed: Root seed of the generation (a random, logged one when None).
            scale: Size factor of unnamed roots relative to the original tables.
            mode: "error" (refuse to overwrite) or "overwrite".

        Raises:
            NotFittedError: fit() was not called.
            DataError: `num_rows` names unknown or non-root tables.
            WriteError: Unknown format, or the output exists and mode is "error".
        """
        from pyspark_synth.io.writers import write_tables
        from pyspark_synth.spark.sample_database import sample_database

        self._check_fitted()
        if output_format not in ("delta", "parquet"):
            raise WriteError(f"Synthesizer.sample: output_format must be 'delta' or 'parquet', got {output_format!r}")
        if num_rows is not None and not isinstance(num_rows, Mapping):
            raise DataError(f"Synthesizer.sample: num_rows must be {{root table: rows}}, got {type(num_rows).__name__}. "
                            f"Roots: {[t for t, tb in self.metadata_.tables.items() if tb.driving_fk is None]}")
        seed = resolve_seed(seed)
        spark = self.spark
        # the kernel makes the faked columns from the generated rows (TableSpec.fakes)
        frames = sample_database(spark, self.metadata_, num_rows, scale=scale, seed=seed, registry=self.registry_)
        if output_path is None:
            wh = str(spark.conf.get("spark.sql.warehouse.dir", "spark-warehouse")).removeprefix("file:")
            output_path = os.path.join(wh, "synthetic", f"{self.registry_.namespace}-{seed}")
        paths = write_tables(frames, str(output_path), format=output_format, mode=mode)  # type: ignore[arg-type]
        paths = {t: os.path.abspath(p) if "://" not in p else p for t, p in paths.items()}
        self.output_paths_ = paths
        _log.info("synthetic database written", paths=paths, format=output_format, seed=seed)
        if self.validate_:
            options = dict(self.validate_) if isinstance(self.validate_, Mapping) else {}
            root = Path(self.report_dir) if self.report_dir is not None else Path(str(output_path).removeprefix("file://"))
            self.validate(paths, report_path=root / REPORT_NAME, **options)
        return paths

    # ----------------------------------------------------------------- validate
    def validate(self, synthetic: Mapping[str, Any] | None = None, *, report_path: str | os.PathLike | None = None,
                 **options: Any) -> ValidationResult:
        """Compare synthetic tables with the real (scrubbed) ones; optionally write the HTML report.

        Args:
            synthetic: `{table: path | DataFrame}`; by default the tables of the last `sample()`.
            report_path: Write the HTML report there.
            **options: Passed to `validation.validate` (thresholds, pairs, privacy, ...).

        Returns:
            The ValidationResult, also kept as `validation_` (and the report path as `report_path_`).
        """
        from pyspark_synth.spark.fit_database import read_tables
        from pyspark_synth.validation import validate

        self._check_fitted()
        if synthetic is None:
            if not hasattr(self, "output_paths_"):
                raise NotFittedError("Synthesizer.validate: nothing sampled yet. Call sample() first or pass synthetic=.")
            synthetic = self.output_paths_
        syn = read_tables(self.spark, dict(synthetic))
        real = {t: df for t, df in self.real_.items() if t in syn}
        syn = {t: syn[t].select(*[f"`{c}`" for c in real[t].columns if c in syn[t].columns]) for t in real}
        result = validate(real, syn, self.metadata_, **options)
        self.validation_ = result
        if report_path is not None:
            path = Path(report_path).expanduser().resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            result.to_html(path)
            self.report_path_ = str(path)
            _log.info("validation report written", path=str(path), score=result.score)
        return result

    def __repr__(self) -> str:
        state = f"fitted, tables={list(self.metadata_.tables)}" if hasattr(self, "metadata_") else "not fitted"
        return f"Synthesizer(backend={self.backend!r}, {state})"

