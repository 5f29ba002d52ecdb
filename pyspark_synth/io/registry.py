"""The model registries, and which one a session uses (`registry_for`).

Two registries keep fitted table versions (a `TableSpec` and its model archive) and database specs:

* `CatalogRegistry` (`io.catalog_registry`), the default: a table of the Spark catalog
  (`synth_models`, one row per version), readable with SQL, on whatever storage the catalog uses,
  and usable over Spark Connect;
* `ModelRegistry` (here): a directory tree on the driver's disk. A version is
  `root/<namespace>/<table>/v<version>/` holding `spec.json` (the `TableSpec`), `model.synth` (the
  model archive) and `entry.json` (version and fit time). It is written under a temporary name and
  renamed into place, so a reader never sees a half-written version. Versions written before specs
  existed (a `manifest.json` with an untyped `extra` dict) are read through `spec.migrate_manifest`.

`registry_for(spark, registry)` decides (see its docstring); a table name is read by
`io.names.parse_table_name`, and a model is stored under the name's last part.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark_synth.errors import NotFittedError, SerializationError
from pyspark_synth.io.catalog_registry import CONF_REGISTRY_TABLE, CatalogRegistry
from pyspark_synth.io.names import model_name
from pyspark_synth.io.registry_base import ModelEntry, Registry, check_entry, prepare_spec
from pyspark_synth.spec import DatabaseSpec, TableSpec, migrate_manifest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["CONF_REGISTRY_ROOT", "CONF_REGISTRY_TABLE", "CatalogRegistry", "ModelEntry", "ModelRegistry", "Registry",
           "registry_for"]

CONF_REGISTRY_ROOT = "spark.synth.registryRoot"
_MODEL_FILE = "model.synth"
_SPEC = "spec.json"
_ENTRY = "entry.json"
_LEGACY_MANIFEST = "manifest.json"
_DATABASE_DIR = ".database"


class ModelRegistry(Registry):
    """Fitted models under `root/<namespace>/<table>/v<version>/` on the driver's disk.

    Args:
        root: The registry's root directory (a local path: this registry reads and writes files
            on the driver; for other storage and Spark Connect use the catalog registry).
        namespace: A sub-directory that keeps one set of models apart from others.
    """

    def __init__(self, root: str | Path, namespace: str = "default") -> None:
        self.root = Path(str(root).removeprefix("file:")).expanduser().resolve()
        self.namespace = namespace

    def __repr__(self) -> str:
        return f"ModelRegistry({str(self.root)!r}, namespace={self.namespace!r})"

    @property
    def location(self) -> str:
        """The namespace's directory."""
        return str(self.root / self.namespace)

    def with_namespace(self, namespace: str) -> ModelRegistry:
        """The registry at the same root with another namespace."""
        return ModelRegistry(self.root, namespace)

    def _table_dir(self, table: str) -> Path:
        return self.root / self.namespace / model_name(table)

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
        spec = prepare_spec(spec, model_bytes)
        table = spec.name
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
        """The entry of a table's model (latest version unless `version` is given), checked on open.

        Opening checks the spec, the stored schema and the model archive (rebuilt once by its
        backend) before any Spark job can use them.

        Raises:
            NotFittedError: The table (or the version) has no model.
            SerializationError: The version's spec, schema or model is missing or damaged (names
                the file, the table and the version, and says what to do).
        """
        table = model_name(table)
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
            entry = ModelEntry(table=table, version=v, path=str(folder), fitted_at=fitted_at, spec=spec)
        else:
            entry = self._legacy_entry(table, v, folder)
        return check_entry(entry, f"Table '{table}' v{v} (registry '{self.root / self.namespace}', versions {versions})")

    def listing(self, table: str | None = None) -> list[dict[str, Any]]:
        """One summary per version, read from the specs (no model is opened)."""
        rows = []
        for t in [model_name(table)] if table else self.tables():
            for v in self.versions(t):
                folder = self._table_dir(t) / f"v{v}"
                try:
                    if (folder / _SPEC).is_file():
                        spec = TableSpec.from_json((folder / _SPEC).read_text(), where=f"Spec of table '{t}' v{v}")
                        fitted_at = str(json.loads((folder / _ENTRY).read_text()).get("fitted_at", ""))
                    else:
                        e = self._legacy_entry(t, v, folder)
                        spec, fitted_at = e.spec, e.fitted_at
                except (OSError, ValueError, SerializationError) as exc:
                    rows.append({"table": t, "version": v, "backend": None, "row_count": None, "training_rows": None,
                                 "seed": None, "fitted_at": None, "path": f"{folder} (damaged: {exc})"})
                    continue
                rows.append({"table": t, "version": v, "backend": spec.backend, "row_count": spec.row_count,
                             "training_rows": spec.training_rows, "seed": spec.seed, "fitted_at": fitted_at,
                             "path": str(folder)})
        return rows

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


def registry_for(spark: SparkSession | None, root: str | Path | Registry | None = None,
                 namespace: str = "default") -> Registry:
    """The registry a call uses.

    In this order:

    1. `root` itself when it is a registry (`ModelRegistry`, `CatalogRegistry`);
    2. a directory registry at `root` when it is a path;
    3. a directory registry at the session's `spark.synth.registryRoot` conf when it is set;
    4. otherwise the catalog registry: the table named by the `spark.synth.registryTable` conf, else
       `synth_models` in the session's current catalog and schema (created on the first fit).
       It needs a catalog the user can create a table in; where there is none, the first fit says
       so and how to pick a directory registry (`registry="/dir"` or `spark.synth.registryRoot`).

    Without a session, a directory registry at `root` (default `./synth_models`).
    """
    if isinstance(root, Registry):
        return root
    if root is None and spark is not None:
        root = spark.conf.get(CONF_REGISTRY_ROOT, None) or None
        if root is None:
            return CatalogRegistry(spark, spark.conf.get(CONF_REGISTRY_TABLE, None) or None, namespace)
    if root is None:
        root = "synth_models"
    return ModelRegistry(root, namespace)
