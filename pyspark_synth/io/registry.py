"""The model registry: versioned model archives in a directory tree, indexed in the catalog table."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark_synth._version import __version__
from pyspark_synth.errors import NotFittedError, SerializationError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["CONF_REGISTRY_ROOT", "ModelEntry", "ModelRegistry", "registry_for"]

CONF_REGISTRY_ROOT = "spark.synth.registryRoot"
_MODEL_FILE = "model.synth"
_MANIFEST = "manifest.json"


@dataclass
class ModelEntry:
    """One fitted model version of one table, as described by its manifest."""

    table: str
    version: int
    path: str
    backend: str
    fitted_at: str
    row_count: int
    training_rows: int
    columns: list[str]
    spark_schema: str
    seed: int
    library_version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)

    def model_bytes(self) -> bytes:
        """The archive bytes of the fitted model."""
        p = Path(self.path) / _MODEL_FILE
        if not p.is_file():
            raise SerializationError(f"Model file '{p}' of table '{self.table}' v{self.version} is missing")
        return p.read_bytes()

    def to_json(self) -> str:
        """The manifest as JSON text."""
        return json.dumps(asdict(self), sort_keys=True)


class ModelRegistry:
    """Fitted models under `root/<namespace>/<table>/v<version>/` (archive + manifest.json).

    A version directory is written under a temporary name and renamed into place, so a reader
    never sees a half-written version.
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
        return sorted(p.name for p in d.iterdir() if p.is_dir() and self.versions(p.name)) if d.is_dir() else []

    def save(self, table: str, model_bytes: bytes, **manifest: Any) -> ModelEntry:
        """Store a new version of `table`'s model; returns its entry."""
        d = self._table_dir(table)
        d.mkdir(parents=True, exist_ok=True)
        version = (self.versions(table) or [0])[-1] + 1
        tmp = d / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        final = d / f"v{version}"
        entry = ModelEntry(table=table, version=version, path=str(final),
                           fitted_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), **manifest)
        try:
            (tmp / _MODEL_FILE).write_bytes(model_bytes)
            (tmp / _MANIFEST).write_text(entry.to_json())
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return entry

    def get(self, table: str, version: int | None = None) -> ModelEntry:
        """The entry of a table's model (latest version unless `version` is given)."""
        versions = self.versions(table)
        if not versions:
            raise NotFittedError(
                f"Table '{table}' has no fitted model in the registry at '{self.root / self.namespace}'. "
                f"Fitted tables: {self.tables()}. Call fit() first (df.synth.fit(table='{table}', ...))."
            )
        v = versions[-1] if version is None else version
        if v not in versions:
            raise NotFittedError(f"Table '{table}' has no model version {v}; versions: {versions}")
        p = self._table_dir(table) / f"v{v}" / _MANIFEST
        try:
            data = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise SerializationError(f"Manifest '{p}' is missing or corrupt: {exc}") from exc
        return ModelEntry(**data)


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
