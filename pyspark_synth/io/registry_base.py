"""What every model registry shares: the entry of one fitted version, the interface, the checks on open.

Two registries implement `Registry`: `registry.ModelRegistry` (a directory tree on the driver's
disk) and `catalog_registry.CatalogRegistry` (a table of the Spark catalog). Opening an entry
(`get`) checks it on the driver before any Spark job uses it (`check_entry`): the spec, the stored
Spark schema, and the model archive (its size and digest against the spec, then the archive read
and the model rebuilt by its backend, so a damaged config fails here and not in an executor).
A damaged entry raises `SerializationError` naming the table, the version and what to do.
"""

from __future__ import annotations

import hashlib
import json
import threading
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark_synth.errors import ModelVersionError, SerializationError, SynthError
from pyspark_synth.spec import DatabaseSpec, ModelReference, TableSpec

__all__ = ["ModelEntry", "Registry", "check_archive", "check_schema", "prepare_spec"]

_MODEL_FILE = "model.synth"
_CHECKED: set[str] = set()  # digests of archives already rebuilt once in this process
_CHECKED_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelEntry:
    """One fitted version of one table: its spec, and where its model archive is.

    Attributes:
        table: The table.
        version: The version number (1, 2, ...).
        path: Where the version is stored (a directory of a directory registry; the partition
            location of a catalog registry's row).
        fitted_at: When it was fitted (ISO 8601, UTC).
        spec: What sampling needs besides the model (keys, relations, schema, ...).
        archive: The model archive, when the registry read it with the entry (catalog registry);
            None when it is the file `path/model.synth` (directory registry).
    """

    table: str
    version: int
    path: str
    fitted_at: str
    spec: TableSpec
    archive: bytes | None = field(default=None, repr=False, compare=False)

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
            SerializationError: The archive is missing, truncated or changed since it was written.
        """
        ref = self.spec.model
        if ref is None:
            raise SerializationError(f"Table '{self.table}' v{self.version} has no model: it was empty when fitted")
        if self.archive is not None:
            where = f"Model archive of table '{self.table}' v{self.version} (at {self.path})"
            data = bytes(self.archive)
        else:
            p = Path(self.path) / ref.file
            where = f"Model file '{Path(self.path) / _MODEL_FILE}' of table '{self.table}' v{self.version}"
            if not p.is_file():
                raise SerializationError(f"{where} is missing. Refit the table, or load an earlier version.")
            data = p.read_bytes()
        check_digest(data, ref, where)
        return data


def check_digest(data: bytes, ref: ModelReference, where: str) -> None:
    """Refuse an archive whose size or digest differs from what the spec recorded at fit time."""
    if ref.sha256 and (len(data) != ref.size or hashlib.sha256(data).hexdigest() != ref.sha256):
        raise SerializationError(
            f"{where} is damaged: it holds {len(data):,} bytes that do not match the {ref.size:,} bytes recorded at "
            f"fit time (digest differs). Refit the table, or load an earlier version (versions: see synth.models).")


def check_schema(spec: TableSpec, where: str) -> None:
    """Refuse a spec whose stored Spark schema is not a schema Spark can read."""
    try:
        from pyspark.sql.types import StructType

        StructType.fromJson(json.loads(spec.spark_schema))
    except Exception as exc:  # noqa: BLE001 - any failure to read the schema is damage
        raise SerializationError(f"{where}: the stored Spark schema cannot be read ({type(exc).__name__}: {exc}). "
                                 "Refit the table, or load an earlier version.") from None


def check_archive(spec: TableSpec, data: bytes, where: str) -> None:
    """Rebuild the model from its archive once on the driver, as the executors will.

    The archive is read (`models._archive.unpack`: no code runs while loading) and the model is
    rebuilt by its backend, so a config with missing or wrong fields fails here with the table and
    version named, not later in an executor. An archive is rebuilt once per process (by digest).

    Raises:
        SerializationError: The archive or its config is damaged (says what to do).
        ModelVersionError: The archive was written by a newer library.
    """
    digest = hashlib.sha256(data).hexdigest()
    if digest in _CHECKED:
        return
    from pyspark_synth.models.base import load_model_bytes, shippable_backend

    try:
        load_model_bytes(data, shippable_backend(spec.backend))
    except ModelVersionError as exc:
        raise ModelVersionError(f"{where}: {exc}") from None
    except SerializationError as exc:
        raise SerializationError(f"{where} is damaged: {exc}. Refit the table, or load an earlier version.") from None
    except SynthError:
        raise  # e.g. a backend that is not registered here: its own message says what to do
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
        raise SerializationError(
            f"{where} is damaged: its archive's config cannot be read by the '{spec.backend}' backend "
            f"({type(exc).__name__}: {exc}). Refit the table, or load an earlier version.") from None
    with _CHECKED_LOCK:
        _CHECKED.add(digest)


def check_entry(entry: ModelEntry, where: str) -> ModelEntry:
    """The checks of opening an entry (see the module docstring); returns the entry."""
    check_schema(entry.spec, where)
    if entry.spec.model is not None:
        check_archive(entry.spec, entry.model_bytes(), where)
    return entry


def prepare_spec(spec: Any, model_bytes: bytes | None) -> TableSpec:
    """The spec to store: its model reference filled from the archive, validated again."""
    if not isinstance(spec, TableSpec):
        raise SynthError("ModelRegistry.save(table, bytes, **manifest) is no longer supported: pass a TableSpec "
                         "and the model bytes (fit_table builds both)")
    if model_bytes is not None:
        if not isinstance(model_bytes, bytes | bytearray):
            raise SynthError(f"The model archive must be bytes, got {type(model_bytes).__name__}")
        model_bytes = bytes(model_bytes)
        spec = spec.model_copy(update={"model": ModelReference(
            size=len(model_bytes), sha256=hashlib.sha256(model_bytes).hexdigest())})
    return TableSpec.model_validate(spec.model_dump())


class Registry(ABC):
    """Fitted table versions and database specs, kept apart by `namespace`."""

    namespace: str

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the registry is (a directory, or a catalog table), for messages."""

    @abstractmethod
    def versions(self, table: str) -> list[int]:
        """Existing versions of a table, ascending."""

    @abstractmethod
    def tables(self) -> list[str]:
        """Tables that have at least one version."""

    @abstractmethod
    def save(self, spec: TableSpec, model_bytes: bytes | None = None) -> ModelEntry:
        """Store a new version of a table's spec and model; returns its entry."""

    @abstractmethod
    def get(self, table: str, version: int | None = None) -> ModelEntry:
        """The entry of a table's model (latest version unless `version` is given), checked."""

    @abstractmethod
    def save_database(self, spec: DatabaseSpec) -> int:
        """Store a database's spec; returns its version."""

    @abstractmethod
    def database_versions(self) -> list[int]:
        """Versions of the stored database spec, ascending."""

    @abstractmethod
    def get_database(self, version: int | None = None) -> DatabaseSpec:
        """The database spec stored by the latest (or the given) `fit_database`."""

    @abstractmethod
    def with_namespace(self, namespace: str) -> Registry:
        """The same registry with another namespace."""

    def listing(self, table: str | None = None) -> list[dict[str, Any]]:
        """One summary per version (of every table, or of one): what `CALL synth.models()` shows.

        The default opens every entry; registries that can list without reading models override it.
        """
        rows = []
        for t in [table] if table else self.tables():
            for v in self.versions(t):
                e = self.get(t, v)
                rows.append({"table": e.table, "version": e.version, "backend": e.backend, "row_count": e.row_count,
                             "training_rows": e.training_rows, "seed": e.seed, "fitted_at": e.fitted_at,
                             "path": e.path})
        return rows
