"""The seed API: `Synthesizer`, a thin fit → sample → validate layer over the package's plain functions.

`Synthesizer.fit` reads the tables (`spark.fit_database.read_tables`), applies the `PrivacyConfig`
(`spark.pii.scrub` for drop/mask/hash/custom rules; `fake` columns are removed), then calls
`spark.fit_database.fit_database`. `Synthesizer.sample` calls `spark.sample_database.sample_database`,
adds the faked columns back with fresh locale-aware fakes and writes the tables with
`io.writers.write_tables`. `validate=True` runs `validation.validate` on the written tables and
writes its HTML report. The accessors (`spark.synth.fit`, `spark.synth.sample`, ...) call the same
functions; nothing here is a second engine.
"""

from __future__ import annotations

import inspect
import os
import secrets
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError, NotFittedError, SynthError, WriteError
from pyspark_synth.metadata import Metadata, Table
from pyspark_synth.privacy.config import PrivacyConfig, TablePrivacy
from pyspark_synth.seeds import derive_seed, resolve_seed

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from pyspark_synth.io.registry import ModelRegistry
    from pyspark_synth.spark.fit_database import FitReport
    from pyspark_synth.validation import ValidationResult

__all__ = ["SAMPLING_STRATEGIES", "Synthesizer"]

_log = get_logger("synthesizer")
SAMPLING_STRATEGIES = ("relational_stratified", "none")
_FAKE_SOURCE = "__fake_src"
_MAX_BANNED = 1_000_000
REPORT_NAME = "validation_report.html"


def _resolve_backend(backend: str | type) -> tuple[str, type]:
    """(registered name, class) of a backend name (case-insensitive) or a model class (registered on the fly)."""
    from pyspark_synth.models.base import get_backend, register_backend

    if isinstance(backend, type):
        name = getattr(backend, "name", None)
        name = backend.__name__.lower() if not isinstance(name, str) or name in ("", "base") else name.lower()
        register_backend(name, backend)
        return name, backend
    if not isinstance(backend, str) or not backend:
        raise SynthError(f"Synthesizer: backend must be a registered backend name or a model class, got {backend!r}")
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
        backend: A registered model backend, case-insensitive ("CTGAN", "copula", a user's name
            from `pyspark_synth.models.register_backend`), or a model class (registered on use).
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
        backend: str | type = "CTGAN",
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
            **model_kwargs: Passed to the backend's constructor.

        Raises:
            SynthError: The backend is not registered.
            DataError: A table has no data, the database does not exist, or the strategy is unknown.
            PrivacyError: A rule is invalid, or hash/fake rules have no key (before any training).
        """
        from pyspark_synth.spark.fit_database import fit_database, read_tables

        if sampling_strategy not in SAMPLING_STRATEGIES:
            raise DataError(f"Synthesizer.fit: unknown sampling_strategy {sampling_strategy!r}. "
                            f"Use one of {list(SAMPLING_STRATEGIES)}.")
        name, cls = _resolve_backend(self.backend)
        if self.embedding_threshold is not None and _accepts(cls, "embedding_threshold"):
            model_kwargs.setdefault("embedding_threshold", self.embedding_threshold)
        metadata = self.metadata.validate()
        seed = resolve_seed(seed)
        spark = self.spark
        frames = read_tables(spark, self._sources(data, metadata))
        cfg = self.privacy_config or PrivacyConfig()
        frames, metadata, plans, key, banned, salt, order = self._apply_privacy(cfg, frames, metadata, seed)
        reg = self._registry()
        report = fit_database(
            spark, metadata, frames, backend=name, epochs=epochs, batch_size=batch_size,
            sample_size=sample_size if sampling_strategy == "relational_stratified" else None,
            stratify_by=stratify_by, seed=seed, registry=reg, **model_kwargs,
        )
        self.backend_ = name
        self.registry_ = reg
        self.fit_report_: FitReport = report
        self.metadata_: Metadata = report.metadata or metadata
        self.privacy_: dict[str, TablePrivacy] = plans
        self.real_: dict[str, DataFrame] = frames
        self.validate_ = validate
        self.seed_ = seed
        self._key = key
        self._banned = banned
        self._salt = salt
        self._order = order
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

    # ------------------------------------------------------------------ privacy
    def _apply_privacy(self, cfg: PrivacyConfig, frames: dict[str, DataFrame], metadata: Metadata, seed: int) -> tuple:
        """Scrub the frames, remove faked columns, and adapt the metadata; nothing is learned yet."""
        from pyspark_synth.spark.pii import detect_pii, scrub

        cfg.check_tables(metadata.tables)
        plans: dict[str, TablePrivacy] = {}
        for name, df in frames.items():
            detected = None
            if cfg.auto_detect:
                found = detect_pii(df, sample_rows=cfg.detect_sample_rows, min_confidence=cfg.min_confidence)
                detected = cfg.detected_rules(found)  # type: ignore[arg-type]
            plans[name] = cfg.plan_table(metadata.tables[name], df.columns, detected)
        key = cfg.require_key(plans, conf_value=self.spark.conf.get(cfg.key_conf, None))
        salt = secrets.token_hex(16)
        banned: dict[str, dict[str, frozenset[str]]] = {}
        order: dict[str, list[str]] = {}
        out: dict[str, DataFrame] = {}
        tables: dict[str, Table] = {}
        for name, df in frames.items():
            plan = plans[name]
            dropped = {c for c, r in plan.scrub_rules.items() if r.action == "drop"}
            order[name] = [c for c in df.columns if c not in dropped]
            if plan.fake_rules:
                banned[name] = self._original_digests(df, list(plan.fake_rules), salt)
                df = df.drop(*plan.fake_rules)
            if plan.scrub_rules:
                df = scrub(df, plan.scrub_rules, key=key, hash_length=cfg.hash_length)
            out[name] = df
        gone = {t: set(p.fake_rules) | {c for c, r in p.scrub_rules.items() if r.action == "drop"} for t, p in plans.items()}
        for name in frames:
            tables[name] = _scrubbed_table(metadata.tables[name], plans[name], gone)
        return out, Metadata(tables=tables).validate(), plans, key, banned, salt, order

    def _original_digests(self, df: DataFrame, columns: list[str], salt: str) -> dict[str, frozenset[str]]:
        """Salted digests of the distinct original values of the faked columns (one Spark job)."""
        from pyspark.sql import functions as F

        pairs = F.array(*[F.struct(F.lit(c).alias("c"), F.substring(
            F.sha2(F.concat(F.lit(salt), F.col(f"`{c}`").cast("string")), 256), 1, 16).alias("d")) for c in columns])
        rows = (df.select(F.explode(pairs).alias("p")).select("p.c", "p.d").where(F.col("d").isNotNull())
                .distinct().limit(_MAX_BANNED * len(columns) + 1).collect())
        out: dict[str, set[str]] = {c: set() for c in columns}
        for r in rows:
            out[r["c"]].add(r["d"])
        if len(rows) > _MAX_BANNED * len(columns):
            _log.warning("too many distinct originals to exclude from fakes; fakes may coincide with originals",
                         columns=columns, limit=_MAX_BANNED)
        return {c: frozenset(v) for c, v in out.items()}

    def _add_fakes(self, name: str, df: DataFrame, seed: int) -> DataFrame:
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        from pyspark_synth.privacy.config import fake_columns

        plan = self.privacy_[name]
        fakes = {c: r.model_dump() for c, r in plan.fake_rules.items()}
        key = self._key.reveal()
        banned = self._banned.get(name, {})
        salt = self._salt
        src = df.withColumn(_FAKE_SOURCE, F.xxhash64(*[F.col(f"`{c}`") for c in df.columns]).cast("string"))
        schema = T.StructType(df.schema.fields + [T.StructField(c, T.StringType(), True) for c in fakes])

        def run(batches: Any) -> Any:
            for pdf in batches:
                yield fake_columns(pdf, fakes, key=key, seed=seed, source=_FAKE_SOURCE, salt=salt, banned=banned)

        out = src.mapInPandas(run, schema)
        return out.select(*[F.col(f"`{c}`") for c in self._order[name] if c in out.columns])

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
        frames = sample_database(spark, self.metadata_, num_rows, scale=scale, seed=seed, registry=self.registry_)
        for name in frames:
            if self.privacy_[name].fake_rules:
                frames[name] = self._add_fakes(name, frames[name], derive_seed(seed, name, "fakes"))
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


def _scrubbed_table(table: Table, plan: TablePrivacy, removed: Mapping[str, set[str]]) -> Table:
    """The table as the model sees it: dropped and faked columns gone (here and as a child's context),
    scrubbed ones typed as strings."""
    parent_gone = {c for fk in table.foreign_keys for c in removed.get(fk.parent_table, ())}
    gone = removed.get(table.name, set())
    if not gone and not plan.scrub_rules and not parent_gone:
        return table
    changed = {c for c, r in plan.scrub_rules.items() if r.action != "drop"}
    cols = tuple(
        c.model_copy(update={"sql_type": "string", "type": c.type if c.type in ("id", "text") else "categorical"})
        if c.name in changed else c for c in table.columns if c.name not in gone
    )
    ctx = tuple(c for c in table.parent_context_cols if c not in parent_gone) if table.parent_context_cols is not None else None
    return table.model_copy(update={
        "columns": cols, "constraints": {k: v for k, v in table.constraints.items() if k not in gone},
        "parent_context_cols": ctx,
    })
