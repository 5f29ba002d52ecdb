"""The model registry: versioned (table spec, model archive) pairs in a directory tree.

A version is `root/<namespace>/<table>/v<version>/` holding `spec.json` (the `TableSpec`),
`model.synth` (the model archive) and `entry.json` (version and fit time). It is written under a
temporary name and renamed into place, so a reader never sees a half-written version. Versions
written before specs existed (a `manifest.json` with an untyped `extra` dict) are read through
`spec.migrate_manifest`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark_synth.errors import NotFittedError, SerializationError, SynthError
from pyspark_synth.spec import DatabaseSpec, ModelReference, TableSpec, migrate_manifest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["CONF_REGISTRY_ROOT", "ModelEntry", "ModelRegistry", "registry_for"]

CONF_REGISTRY_ROOT = "spark.synth.registryRoot"
_MODEL_FILE = "model.synth"
_SPEC = "spec.json"
_ENTRY = "entry.json"
_LEGACY_MANIFEST = "manifest.json"
_DATABASE_DIR = ".database"


@dataclass(frozen=True)
class ModelEntry:
    """One fitted version of one table: its spec, and where its model archive is.

    Attributes:
        table: The table.
        version: The version number (1, 2, ...).
        path: The version's directory.
        fitted_at: When it was fitted (ISO 8601, UTC).
        spec: What sampling needs besides the model (keys, relations, schema, ...).
    """

    table: str
    version: int
    path: str
    fitted_at: str
    spec: TableSpec

    # the manifest fields of earlier versions, read from the spec
    @property
    def backend(self) -> str:
        """The model backend."""
        return self.spec.backend

    @property
    def row_count(self) -> int:
        """Rows of the real table."""
        return self.spec.row_count

    @property
    def training_rows(self) -> int:
        """Rows the model was trained on."""
        return self.spec.training_rows

    @property
    def columns(self) -> list[str]:
        """The output columns."""
        return self.spec.columns

    @property
    def spark_schema(self) -> str:
        """The output schema as JSON."""
        return self.spec.spark_schema

    @property
    def seed(self) -> int:
        """The root seed of the fit."""
        return self.spec.seed

    @property
    def library_version(self) -> str:
        """The pyspark_synth version that fitted it."""
        return self.spec.library_version

    @property
    def extra(self) -> dict[str, Any]:
        """Deprecated: the untyped manifest dictionary of earlier versions; use `spec`."""
        warnings.warn("ModelEntry.extra is deprecated: read the typed ModelEntry.spec instead",
                      DeprecationWarning, stacklevel=2)
        s = self.spec
        rel: dict[str, Any] = {
            "context": list(s.context),
            "driving": s.driving.model_dump(mode="json") if s.driving else None,
            "secondary": [r.model_dump(mode="json") for r in s.secondary],
            "self_refs": [r.model_dump(mode="json") for r in s.self_refs],
        }
        return {"keys": [k.model_dump() for k in s.keys], "text": [t.model_dump(mode="json") for t in s.text],
                "table": s.table.model_dump(mode="json"), "relational": rel,
                "stats": {"row_count": s.row_count, "columns": {c: v.model_dump() for c, v in s.stats.items()}}}

    def model_bytes(self) -> bytes:
        """The model archive, checked against the size and digest the spec recorded.

        Raises:
            SerializationError: The file is missing, truncated or changed since it was written.
        """
        where = f"Model file '{Path(self.path) / _MODEL_FILE}' of table '{self.table}' v{self.version}"
        ref = self.spec.model
        if ref is None:
            raise SerializationError(f"Table '{self.table}' v{self.version} has no model: it was empty when fitted")
        p = Path(self.path) / ref.file
        if not p.is_file():
            raise SerializationError(f"{where} is missing. Refit the table, or load an earlier version.")
        data = p.read_bytes()
        if ref.sha256 and (len(data) != ref.size or hashlib.sha256(data).hexdigest() != ref.sha256):
            raise SerializationError(
                f"{where} is damaged: it holds {len(data):,} bytes that do not match the {ref.size:,} bytes recorded at "
                f"fit time (digest differs). Refit the table, or load an earlier version (versions: see synth.models).")
        return data


class ModelRegistry:
    """Fitted models under `root/<namespace>/<table>/v<version>/`.

    Args:
        root: The registry's root directory.
        namespace: A sub-directory that keeps one set of models apart from others.
    """

    def __init__(self, root: str | Path, namespace: str = "default") -> None:
        self.root = Path(str(root).removeprefix("file:")).expanduser().resolve()
        self.namespace = namespace

    def _table_dir(self, table: str) -> Path:
        return self.root / self.namespace / table

    def versions(self, table: str) -> list[int]:
        """Existing versions of a table, ascending."""
        d = self._table_dir(table)
        if not d.is_dir():
            return []
        return sorted(int(p.name[1:]) for p in d.iterdir() if p.name.startswith("v") and p.name[1:].isdigit())

    def tables(self) -> list[str]:
        """Tables that have at least one version."""
        d = self.root / self.namespace
        if not d.is_dir():
            return []
        return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith(".") and self.versions(p.name))

    def save(self, spec: TableSpec, model_bytes: bytes | None = None) -> ModelEntry:
        """Store a new version of a table's spec and model; returns its entry.

        Args:
            spec: The table's spec (its `model` reference is filled in here).
            model_bytes: The model archive (None for an empty table).
        """
        if not isinstance(spec, TableSpec):
            raise SynthError("ModelRegistry.save(table, bytes, **manifest) is no longer supported: pass a TableSpec "
                             "and the model bytes (fit_table builds both)")
        table = spec.name
        if model_bytes is not None:
            spec = spec.model_copy(update={"model": ModelReference(
                size=len(model_bytes), sha256=hashlib.sha256(model_bytes).hexdigest())})
        spec = TableSpec.model_validate(spec.model_dump())
        d = self._table_dir(table)
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            if model_bytes is not None:
                (tmp / _MODEL_FILE).write_bytes(model_bytes)
            (tmp / _SPEC).write_text(spec.to_json(indent=1))
            while True:
                version = (self.versions(table) or [0])[-1] + 1
                final = d / f"v{version}"
                fitted_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
                (tmp / _ENTRY).write_text(json.dumps({"table": table, "version": version, "fitted_at": fitted_at}))
                try:
                    os.rename(tmp, final)  # fails when another writer took this version number
                    break
                except OSError:
                    if not final.exists():
                        raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return ModelEntry(table=table, version=version, path=str(final), fitted_at=fitted_at, spec=spec)

    def get(self, table: str, version: int | None = None) -> ModelEntry:
        """The entry of a table's model (latest version unless `version` is given).

        Raises:
            NotFittedError: The table (or the version) has no model.
            SerializationError: The version's spec is missing or damaged (names the file).
        """
        versions = self.versions(table)
        if not versions:
            raise NotFittedError(
                f"Table '{table}' has no fitted model in the registry at '{self.root / self.namespace}'. "
                f"Fitted tables: {self.tables()}. Call fit() first (df.synth.fit(table='{table}', ...))."
            )
        v = versions[-1] if version is None else version
        if v not in versions:
            raise NotFittedError(f"Table '{table}' has no model version {v}; versions: {versions}")
        folder = self._table_dir(table) / f"v{v}"
        spec_file = folder / _SPEC
        if spec_file.is_file():
            spec = TableSpec.from_json(spec_file.read_text(), where=f"Spec '{spec_file}' of table '{table}' v{v}")
            try:
                info = json.loads((folder / _ENTRY).read_text())
                fitted_at = str(info["fitted_at"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise SerializationError(f"Entry file '{folder / _ENTRY}' of table '{table}' v{v} is missing or damaged "
                                         f"({exc}). Refit the table, or load an earlier version.") from None
            return ModelEntry(table=table, version=v, path=str(folder), fitted_at=fitted_at, spec=spec)
        return self._legacy_entry(table, v, folder)

    def _legacy_entry(self, table: str, v: int, folder: Path) -> ModelEntry:
        p = folder / _LEGACY_MANIFEST
        try:
            data = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise SerializationError(f"Manifest '{p}' of table '{table}' v{v} is missing or corrupt: {exc}. Refit the "
                                     "table, or load an earlier version.") from None
        model = folder / _MODEL_FILE
        spec = migrate_manifest(data, model_size=model.stat().st_size if model.is_file() else 0)
        return ModelEntry(table=table, version=v, path=str(folder), fitted_at=str(data.get("fitted_at", "")), spec=spec)

    # ---------------------------------------------------------------------- databases
    def save_database(self, spec: DatabaseSpec) -> int:
        """Store a database's spec (its tables' specs in generation order); returns its version."""
        d = self.root / self.namespace / _DATABASE_DIR
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".tmp-{uuid.uuid4().hex}.json"
        tmp.write_text(spec.model_dump_json())
        while True:
            version = (self.database_versions() or [0])[-1] + 1
            final = d / f"v{version}.json"
            try:
                os.link(tmp, final)  # atomic, and fails when another writer took this version
                break
            except FileExistsError:
                continue
        tmp.unlink()
        return version

    def database_versions(self) -> list[int]:
        """Versions of the stored database spec, ascending."""
        d = self.root / self.namespace / _DATABASE_DIR
        if not d.is_dir():
            return []
        return sorted(int(p.name[1:-5]) for p in d.iterdir()
                      if p.name.startswith("v") and p.name.endswith(".json") and p.name[1:-5].isdigit())

    def get_database(self, version: int | None = None) -> DatabaseSpec:
        """The database spec stored by the latest (or the given) `fit_database`.

        Raises:
            NotFittedError: No database was fitted into this registry namespace.
        """
        versions = self.database_versions()
        if not versions:
            raise NotFittedError(f"No database was fitted into the registry at '{self.root / self.namespace}'. "
                                 "Call fit_database() (spark.synth.fit(metadata, tables)) first.")
        v = versions[-1] if version is None else version
        if v not in versions:
            raise NotFittedError(f"The registry has no database version {v}; versions: {versions}")
        p = self.root / self.namespace / _DATABASE_DIR / f"v{v}.json"
        try:
            return DatabaseSpec.model_validate_json(p.read_text())
        except (OSError, ValueError) as exc:
            raise SerializationError(f"Database spec '{p}' is missing or damaged ({exc}). Refit the database.") from None


def registry_for(spark: SparkSession | None, root: str | Path | ModelRegistry | None = None,
                 namespace: str = "default") -> ModelRegistry:
    """The registry given, or one at the `spark.synth.registryRoot` conf, or `<warehouse>/synth_models`."""
    if isinstance(root, ModelRegistry):
        return root
    if root is None and spark is not None:
        root = spark.conf.get(CONF_REGISTRY_ROOT, None)
        if not root:
            wh = spark.conf.get("spark.sql.warehouse.dir", "spark-warehouse")
            root = os.path.join(str(wh).removeprefix("file:"), "synth_models")
    if root is None:
        root = "synth_models"
    return ModelRegistry(root, namespace)
