"""The model registry as a table of the Spark catalog: one row per fitted table version.

The table (`synth_models` by default, or the `spark.synth.registryTable` conf; any name that
`io.names.parse_table_name` reads, three parts included) is a Parquet table partitioned by
`(namespace, kind, table, version)`, so a SQL user can audit it::

    SELECT table, version, backend, fitted_at FROM synth_models WHERE kind = 'table'

Each row holds a version's spec (the `TableSpec` JSON), its model archive (binary), the fit time,
backend, library version, sizes and the fit notes. `kind = 'database'` rows (with `table = '*'`)
hold the database specs `fit_database` stores.

Versions are atomic and never shared:

* a writer **claims** version N by adding the partition `(namespace, kind, table, N)` to the
  catalog (`ALTER TABLE ... ADD PARTITION`), which the catalog refuses when the partition exists,
  so of two concurrent saves of the same table exactly one gets N and the other tries N + 1;
* it then writes its one row as one Parquet file into that partition's own directory (each
  version has its own staging, so concurrent versions never meet), which appears whole;
* a reader lists rows, not partitions: a claimed partition without its file (a writer still at
  work, or one killed) is no version, and a later save claims the next number.

Everything goes through Spark (SQL, the DataFrame reader and writer), so it works on any storage
the catalog uses and over Spark Connect, with nothing read from the driver's disk.

Claims are as atomic as the catalog: within one Spark application (its sessions, Connect clients
and JDBC sessions share the catalog) and across applications sharing a metastore (Hive, Glue,
...). Applications with private in-memory catalogs over one warehouse directory see each other's
versions (a table left in the warehouse is registered again, and its partitions re-read before
each listing) but do not coordinate their claims.

Models of the directory registry (`ModelRegistry`, the default of earlier versions, at
`<warehouse>/synth_models`) are read (read-only, with a warning) when the catalog table does not
have the table asked for; `migrate_registry(spark)` moves them into the catalog table.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth._version import __version__
from pyspark_synth.errors import NotFittedError, SerializationError, SynthError
from pyspark_synth.io.catalog import default_location, error_condition, files_at, register_existing
from pyspark_synth.io.names import TableName, model_name, parse_table_name, quote_identifier
from pyspark_synth.io.registry_base import ModelEntry, Registry, check_entry, prepare_spec
from pyspark_synth.spec import DatabaseSpec, TableSpec, migrate_manifest

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "CONF_REGISTRY_TABLE",
    "DEFAULT_REGISTRY_TABLE",
    "REGISTRY_SCHEMA",
    "CatalogRegistry",
    "DirectoryRegistryReader",
    "migrate_registry",
]

_log = get_logger("registry")
CONF_REGISTRY_TABLE = "spark.synth.registryTable"
DEFAULT_REGISTRY_TABLE = "synth_models"
_DATA_SCHEMA = (
    "entry_id STRING, fitted_at TIMESTAMP, backend STRING, library_version STRING, row_count BIGINT, "
    "training_rows BIGINT, seed BIGINT, spec STRING, model BINARY, model_size BIGINT, model_sha256 STRING, "
    "report STRING"
)
_PARTITIONS = ("namespace", "kind", "table", "version")
REGISTRY_SCHEMA = _DATA_SCHEMA + ", namespace STRING, kind STRING, table STRING, version INT"
_TABLE, _DATABASE, _ALL_TABLES = "table", "database", "*"
_MAX_CLAIMS = 1000
_CACHE_SIZE = 64
_ENTRIES: OrderedDict[str, ModelEntry] = OrderedDict()  # entry_id -> checked entry (rows never change)
_ENTRIES_LOCK = threading.Lock()
_SYNC_S = 2.0  # how often a registry re-reads what other applications wrote (see CatalogRegistry._sync)
_MEMO_S = 2.0  # how long one registry object reuses a listing it read
_LAST_SYNC: dict[str, float] = {}
_ON_SAVE: list[Callable[[Any, CatalogRegistry, ModelEntry], None]] = []


def on_save(hook: Callable[[Any, CatalogRegistry, ModelEntry], None]) -> None:
    """Call `hook(spark, registry, entry)` after every save to a catalog registry (the SQL table function
    uses it to serve the new version at once). Registering the same hook twice is a no-op."""
    if hook not in _ON_SAVE:
        _ON_SAVE.append(hook)


def _sql_string(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _iso(micros: int | None) -> str:
    if micros is None:
        return ""
    return datetime.fromtimestamp(micros / 1e6, tz=timezone.utc).isoformat(timespec="seconds")


def _now_micros() -> int:
    return int(datetime.now(timezone.utc).timestamp() * 1e6)


def _is_connect(spark: Any) -> bool:
    return type(spark).__module__.startswith("pyspark.sql.connect")


class CatalogRegistry(Registry):
    """Fitted models as rows of a Spark catalog table (see the module docstring).

    Args:
        spark: The session whose catalog holds the table (classic or Spark Connect).
        table: The table's name; the `spark.synth.registryTable` conf, else `synth_models`, when None.
        namespace: Keeps one set of models apart from others in the same table.
    """

    def __init__(self, spark: SparkSession, table: str | TableName | None = None, namespace: str = "default") -> None:
        if table is None:
            table = spark.conf.get(CONF_REGISTRY_TABLE, None) or DEFAULT_REGISTRY_TABLE
        self.spark = spark
        self.name = parse_table_name(table, what="model registry table name")
        if not isinstance(namespace, str) or not namespace:
            raise SynthError(f"A registry namespace must be a non-empty string, got {namespace!r}")
        self.namespace = namespace
        self._legacy: DirectoryRegistryReader | None | bool = False  # False: not looked for yet
        self._known = False  # the table was seen in the catalog
        self._memo: dict[tuple[str, str | None], tuple[float, dict[tuple[str, int], dict[str, Any]]]] = {}

    def __repr__(self) -> str:
        return f"CatalogRegistry({str(self.name)!r}, namespace={self.namespace!r})"

    @property
    def location(self) -> str:
        """The catalog table (and namespace), for messages."""
        return f"catalog table {self.name} (namespace '{self.namespace}')"

    @property
    def table_name(self) -> str:
        """The table's name quoted for SQL."""
        return self.name.sql

    def with_namespace(self, namespace: str) -> CatalogRegistry:
        """The same table with another namespace."""
        return CatalogRegistry(self.spark, self.name, namespace)

    # ------------------------------------------------------------------ the table
    def _exists(self) -> bool:
        if not self._known:
            self._known = self.spark.catalog.tableExists(self.name.sql) or register_existing(
                self.spark, str(self.name), REGISTRY_SCHEMA, partitioned_by=_PARTITIONS)
        return self._known

    def _create(self) -> None:
        """Create the table (on the first save), or say clearly why it cannot be created."""
        legacy = self._legacy_reader()
        loc = default_location(self.spark, str(self.name))
        if legacy is not None and loc is not None and _path_part(legacy.root) == _path_part(loc):
            raise SynthError(self._collision_message(legacy))
        parts = ", ".join(quote_identifier(c) for c in _PARTITIONS)
        try:
            self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.name.sql} ({REGISTRY_SCHEMA}) USING parquet "
                           f"PARTITIONED BY ({parts}) COMMENT 'pyspark_synth model registry: one row per fitted "
                           "table version'")
        except Exception as exc:  # noqa: BLE001 - permission, missing schema, read-only catalog, ...
            if self.spark.catalog.tableExists(self.name.sql):
                return  # another writer created it meanwhile
            raise SynthError(
                f"Cannot create the model registry table {self.name} in the catalog ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}). Name a table you can create with the "
                "spark.synth.registryTable conf (e.g. 'my_schema.synth_models'), or use a directory registry: "
                "registry='/dir' or the spark.synth.registryRoot conf.") from None

    def _collision_message(self, legacy: DirectoryRegistryReader) -> str:
        return (f"The model registry table {self.name} would be created at '{legacy.root}', which holds the model "
                f"directory registry of an earlier pyspark_synth (tables {legacy.tables()}). Move those models into "
                "the catalog table with one line, pyspark_synth.migrate_registry(spark) (it moves the directory "
                f"aside and copies every version), or keep using the directory: spark.synth.registryRoot='{legacy.root}'"
                f" or registry='{legacy.root}'.")

    def _sync(self, *, force: bool = False) -> None:
        """See versions other applications added: re-read the table's files (and, without a metastore,
        its partitions). Writers of this application refresh the table themselves, so this runs at
        most every `_SYNC_S` seconds per table, and at once when a table or version is not found."""
        import time

        key = self.name.sql
        now = time.monotonic()
        if not force and now - _LAST_SYNC.get(key, -1e9) < _SYNC_S:
            return
        _LAST_SYNC[key] = now
        self._memo.clear()
        try:
            impl = str(self.spark.conf.get("spark.sql.catalogImplementation", "in-memory"))
        except Exception:  # noqa: BLE001 - a Connect server may not expose it
            impl = "in-memory"
        if impl == "in-memory" and self._session_catalog():
            self.spark.sql(f"ALTER TABLE {self.name.sql} RECOVER PARTITIONS")
        self.spark.sql(f"REFRESH TABLE {self.name.sql}")

    def _session_catalog(self) -> bool:
        parts = self.name.parts
        if len(parts) == 3:
            return parts[0].lower() == "spark_catalog"
        return len(parts) < 3 and self.spark.catalog.currentCatalog().lower() == "spark_catalog"

    def _rows(self, kind: str, table: str | None = None, version: int | None = None) -> DataFrame:
        from pyspark.sql import functions as F

        df = self.spark.read.table(self.name.sql)
        cond = (F.col("namespace") == F.lit(self.namespace)) & (F.col("kind") == F.lit(kind))
        if table is not None:
            cond = cond & (F.col("table") == F.lit(table))
        if version is not None:
            cond = cond & (F.col("version") == F.lit(int(version)))
        return df.where(cond)

    def _index(self, kind: str, table: str | None = None, *, force: bool = False) -> dict[tuple[str, int], dict[str, Any]]:
        """`{(table, version): its row's id and time}` of the stored rows (no spec, no model).

        Two rows of one version exist only where two applications without a shared catalog
        claimed it at once: the earlier one (by fit time, then id) is the version, with a warning.
        `force` re-reads what other applications wrote first (see `_sync`).
        """
        import time

        if not self._exists():
            return {}
        self._sync(force=force)
        memo = self._memo.get((kind, table))
        if memo is not None and time.monotonic() - memo[0] < _MEMO_S:
            return memo[1]
        rows = (self._rows(kind, table)
                .selectExpr("table", "version", "entry_id", "unix_micros(fitted_at) AS fitted_us")
                .collect())
        out: dict[tuple[str, int], dict[str, Any]] = {}
        for r in sorted(rows, key=lambda r: (r["table"], r["version"], r["fitted_us"] or 0, r["entry_id"])):
            key = (r["table"], int(r["version"]))
            if key in out:
                _log.warning("two rows hold one registry version (concurrent writers without a shared catalog); "
                             "the earlier one is used", registry=str(self.name), table=key[0], version=key[1])
                continue
            out[key] = {"entry_id": r["entry_id"], "fitted_us": r["fitted_us"]}
        self._memo[(kind, table)] = (time.monotonic(), out)
        return out

    # ------------------------------------------------------------------ reading
    def versions(self, table: str) -> list[int]:
        """Existing versions of a table, ascending (the directory registry's, read-only, when the
        catalog table has none and an earlier version's directory registry has some)."""
        name = model_name(table)
        found = sorted(v for (_, v) in self._index(_TABLE, name))
        if not found:
            found = sorted(v for (_, v) in self._index(_TABLE, name, force=True))
        if not found and (legacy := self._legacy_reader()) is not None:
            return legacy.versions(name)
        return found

    def tables(self) -> list[str]:
        """Tables that have at least one version (with the directory registry's, read-only)."""
        found = {t for (t, _) in self._index(_TABLE)}
        legacy = self._legacy_reader()
        if legacy is not None:
            found |= set(legacy.tables())
        return sorted(found)

    def get(self, table: str, version: int | None = None) -> ModelEntry:
        """The entry of a table's model (latest version unless `version` is given), checked on open.

        Raises:
            NotFittedError: The table (or the version) has no model.
            SerializationError: The version's spec, schema or archive is damaged (names the table and
                the version, and says what to do).
        """
        name = model_name(table)
        index = self._index(_TABLE, name)
        if not index or (version is not None and (name, int(version)) not in index):
            index = self._index(_TABLE, name, force=True)  # perhaps saved by another application just now
        versions = sorted(v for (_, v) in index)
        if not versions:
            legacy = self._legacy_reader()
            if legacy is not None and legacy.versions(name):
                warnings.warn(f"Table '{name}' was loaded from the directory registry at '{legacy.root}' written by an "
                              f"earlier pyspark_synth; the model registry table {self.name} does not have it. Move it "
                              "there with pyspark_synth.migrate_registry(spark).", UserWarning, stacklevel=2)
                return legacy.get(name, version)
            raise NotFittedError(
                f"Table '{name}' has no fitted model in the model registry table {self.name} (namespace "
                f"'{self.namespace}'). Fitted tables: {self.tables()}. Call fit() first "
                f"(df.synth.fit(table='{name}', ...)).")
        v = versions[-1] if version is None else int(version)
        if v not in versions:
            raise NotFittedError(f"Table '{name}' has no model version {v}; versions: {versions}")
        info = index[(name, v)]
        with _ENTRIES_LOCK:
            cached = _ENTRIES.get(info["entry_id"])
            if cached is not None:
                _ENTRIES.move_to_end(info["entry_id"])
                return cached
        where = f"Table '{name}' v{v} (model registry table {self.name}, namespace '{self.namespace}', versions {versions})"
        rows = (self._rows(_TABLE, name, v).where(f"entry_id = {_sql_string(info['entry_id'])}")
                .selectExpr("spec", "model", "_metadata.file_path AS file").collect())
        if not rows:
            raise SerializationError(f"{where}: its row disappeared while it was read. Try again.")
        row = rows[0]
        spec = TableSpec.from_json(row["spec"] or "", where=f"The spec of {where}")
        model = bytes(row["model"]) if row["model"] is not None else None
        if spec.model is not None and model is None:
            raise SerializationError(f"{where} has no model archive in its row. Refit the table, or load an earlier "
                                     "version.")
        path = str(row["file"]).rsplit("/", 1)[0]
        entry = check_entry(ModelEntry(table=name, version=v, path=path, fitted_at=_iso(info["fitted_us"]), spec=spec,
                                       archive=model if model is not None else b""), where)
        with _ENTRIES_LOCK:
            _ENTRIES[info["entry_id"]] = entry
            while len(_ENTRIES) > _CACHE_SIZE:
                _ENTRIES.popitem(last=False)
        return entry

    def listing(self, table: str | None = None) -> list[dict[str, Any]]:
        """One summary per version (no spec or model is read); the directory registry's appended."""
        from pyspark.sql import functions as F

        out: list[dict[str, Any]] = []
        if self._exists():
            self._sync()
            df = self._rows(_TABLE, model_name(table) if table else None)
            rows = df.select("table", "version", "entry_id", "backend", "row_count", "training_rows", "seed",
                             F.expr("unix_micros(fitted_at)").alias("fitted_us"),
                             F.col("_metadata.file_path").alias("file")).collect()
            seen: set[tuple[str, int]] = set()
            for r in sorted(rows, key=lambda r: (r["table"], r["version"], r["fitted_us"] or 0, r["entry_id"])):
                if (r["table"], r["version"]) in seen:
                    continue
                seen.add((r["table"], r["version"]))
                out.append({"table": r["table"], "version": int(r["version"]), "backend": r["backend"],
                            "row_count": r["row_count"], "training_rows": r["training_rows"], "seed": r["seed"],
                            "fitted_at": _iso(r["fitted_us"]), "path": str(r["file"]).rsplit("/", 1)[0]})
        legacy = self._legacy_reader()
        if legacy is not None:
            have = {r["table"] for r in out}
            out += [r for r in legacy.listing() if r["table"] not in have and (table is None or r["table"] == model_name(table))]
        return out

    # ------------------------------------------------------------------ writing
    def _claim(self, kind: str, table: str, version: int) -> bool:
        """Claim a version: add its partition (the catalog refuses one that exists). True when claimed."""
        spec = self._partition_spec(kind, table, version)
        try:
            self.spark.sql(f"ALTER TABLE {self.name.sql} ADD PARTITION ({spec})")
            return True
        except Exception as exc:  # noqa: BLE001 - only "already exists" means another writer has it
            if error_condition(exc) == "PARTITIONS_ALREADY_EXIST" or "already exist" in str(exc).lower():
                return False
            raise

    def _partition_spec(self, kind: str, table: str, version: int) -> str:
        return (f"namespace = {_sql_string(self.namespace)}, kind = {_sql_string(kind)}, "
                f"`table` = {_sql_string(table)}, version = {int(version)}")

    def _claimed(self, kind: str, table: str) -> list[int]:
        """Version numbers claimed so far (with or without their row)."""
        rows = self.spark.sql(f"SHOW PARTITIONS {self.name.sql} PARTITION (namespace = {_sql_string(self.namespace)}, "
                              f"kind = {_sql_string(kind)}, `table` = {_sql_string(table)})").collect()
        out = []
        for r in rows:
            m = re.search(r"(?:^|/)version=(\d+)$", str(r[0]))
            if m:
                out.append(int(m.group(1)))
        return out

    def _partition_location(self, kind: str, table: str, version: int) -> str:
        rows = self.spark.sql(f"DESCRIBE TABLE EXTENDED {self.name.sql} PARTITION "
                              f"({self._partition_spec(kind, table, version)})").collect()
        for r in rows:
            if str(r[0]).strip() == "Location" and r[1]:
                return str(r[1])
        raise SynthError(f"The catalog did not say where partition version={version} of {self.name} is stored")

    def _write(self, kind: str, table: str, *, spec_json: str, model: bytes | None, backend: str | None,
               row_count: int | None, training_rows: int | None, seed: int | None, sha256: str | None,
               report: dict[str, Any], version: int | None = None, fitted_us: int | None = None) -> tuple[int, str, int]:
        """Claim a version (the next one, or `version`) and write its row; returns (version, location, time)."""
        if not self._exists():
            self._create()
        if version is None:
            for _ in range(_MAX_CLAIMS):
                claimed = self._claimed(kind, table)
                version = max(claimed, default=0) + 1
                if self._claim(kind, table, version):
                    break
            else:
                raise SynthError(f"Could not claim a version of table '{table}' in {self.name} after {_MAX_CLAIMS} tries")
        elif not self._claim(kind, table, version) and (table, version) in self._index(kind, table):
            raise SynthError(f"Table '{table}' already has version {version} in {self.name}")
        self._memo.clear()
        loc = self._partition_location(kind, table, version)
        fitted_us = fitted_us or _now_micros()
        row = (str(uuid.uuid4()), fitted_us, backend, __version__, row_count, training_rows, seed, spec_json,
               model, len(model) if model is not None else None, sha256, json.dumps(report))
        schema = _DATA_SCHEMA.replace("fitted_at TIMESTAMP", "fitted_us BIGINT")
        df = self.spark.createDataFrame([row], schema)
        cols = [c.strip().split(" ")[0] for c in _DATA_SCHEMA.split(",")]
        df = df.selectExpr(*[("timestamp_micros(fitted_us) AS fitted_at" if c == "fitted_at" else f"`{c}`") for c in cols])
        # one file in the version's own directory: it appears whole, and concurrent versions never
        # share a staging directory (an INSERT into the table would stage at the table's root)
        df.coalesce(1).write.mode("append").parquet(loc)
        self.spark.sql(f"REFRESH TABLE {self.name.sql}")
        self._memo.clear()
        return version, loc, fitted_us

    def save(self, spec: TableSpec, model_bytes: bytes | None = None, *, report: dict[str, Any] | None = None) -> ModelEntry:
        """Store a new version of a table's spec and model as one row; returns its entry.

        Args:
            spec: The table's spec (its `model` reference is filled in here).
            model_bytes: The model archive (None for an empty table).
            report: What the fit found besides the spec's notes (stored as JSON in `report`).

        Raises:
            SynthError: The table cannot be created in the catalog (says how to pick another one).
        """
        spec = prepare_spec(spec, model_bytes)
        data = bytes(model_bytes) if model_bytes is not None else None
        version, loc, fitted_us = self._write(
            _TABLE, spec.name, spec_json=spec.to_json(), model=data, backend=spec.backend, row_count=spec.row_count,
            training_rows=spec.training_rows, seed=spec.seed, sha256=spec.model.sha256 if spec.model else None,
            report={"notes": list(spec.notes), **(report or {})})
        entry = ModelEntry(table=spec.name, version=version, path=loc, fitted_at=_iso(fitted_us), spec=spec,
                           archive=data if data is not None else b"")
        _log.info("saved model version", registry=str(self.name), table=spec.name, version=version)
        for hook in list(_ON_SAVE):
            try:
                hook(self.spark, self, entry)
            except Exception as exc:  # noqa: BLE001 - a hook never fails the save that succeeded
                _log.warning("registry save hook failed", error=str(exc))
        return entry

    # ------------------------------------------------------------------ databases
    def save_database(self, spec: DatabaseSpec) -> int:
        """Store a database's spec (its tables' specs in generation order); returns its version."""
        version, _, _ = self._write(_DATABASE, _ALL_TABLES, spec_json=spec.model_dump_json(), model=None, backend=None,
                                    row_count=None, training_rows=None, seed=None, sha256=None,
                                    report={"tables": list(spec.order)})
        return version

    def database_versions(self) -> list[int]:
        """Versions of the stored database spec, ascending."""
        found = sorted(v for (_, v) in self._index(_DATABASE, _ALL_TABLES))
        if not found and (legacy := self._legacy_reader()) is not None:
            return legacy.database_versions()
        return found

    def get_database(self, version: int | None = None) -> DatabaseSpec:
        """The database spec stored by the latest (or the given) `fit_database`.

        Raises:
            NotFittedError: No database was fitted into this registry namespace.
            SerializationError: The stored spec is damaged.
        """
        index = self._index(_DATABASE, _ALL_TABLES)
        if not index or (version is not None and (_ALL_TABLES, int(version)) not in index):
            index = self._index(_DATABASE, _ALL_TABLES, force=True)
        versions = sorted(v for (_, v) in index)
        if not versions:
            legacy = self._legacy_reader()
            if legacy is not None and legacy.database_versions():
                return legacy.get_database(version)
            raise NotFittedError(f"No database was fitted into the model registry table {self.name} (namespace "
                                 f"'{self.namespace}'). Call fit_database() (spark.synth.fit(metadata, tables)) first.")
        v = versions[-1] if version is None else int(version)
        if v not in versions:
            raise NotFittedError(f"The registry has no database version {v}; versions: {versions}")
        entry_id = index[(_ALL_TABLES, v)]["entry_id"]
        rows = self._rows(_DATABASE, _ALL_TABLES, v).where(f"entry_id = {_sql_string(entry_id)}").select("spec").collect()
        try:
            return DatabaseSpec.model_validate_json(rows[0]["spec"])
        except (IndexError, TypeError, ValueError) as exc:
            raise SerializationError(f"Database spec v{v} in {self.name} (namespace '{self.namespace}') is missing or "
                                     f"damaged ({exc}). Refit the database.") from None

    # ------------------------------------------------------------------ the directory registry of earlier versions
    def _legacy_reader(self) -> DirectoryRegistryReader | None:
        """The directory registry at `<warehouse>/synth_models` (the default of earlier versions), if it
        has this namespace; looked for once per registry object."""
        if self._legacy is False:
            self._legacy = None
            wh = self.spark.conf.get("spark.sql.warehouse.dir", None)
            if wh:
                reader = DirectoryRegistryReader(self.spark, str(wh).rstrip("/") + "/" + DEFAULT_REGISTRY_TABLE,
                                                 self.namespace)
                if reader.tables() or reader.database_versions():
                    self._legacy = reader
        return self._legacy or None


# ---------------------------------------------------------------------------------------------
# the directory registry, read through Spark


_LEGACY_FILE = re.compile(r"/([^/]+)/v(\d+)/(spec\.json|entry\.json|manifest\.json|model\.synth)$")
_LEGACY_DATABASE = re.compile(r"/\.database/v(\d+)\.json$")


class DirectoryRegistryReader:
    """Read-only access to a directory registry (`ModelRegistry`'s layout) through Spark.

    Spark reads the files (the `binaryFile` source), so the directory may be on any storage the
    session reads, and the session may be a Spark Connect one.

    Args:
        spark: The session.
        root: The directory registry's root (a path or URI).
        namespace: Its namespace (a sub-directory).
    """

    def __init__(self, spark: SparkSession, root: str, namespace: str = "default") -> None:
        self.spark, self.root, self.namespace = spark, str(root).rstrip("/"), namespace
        self._files: dict[str, dict[tuple[str, int], dict[str, str]]] = {}

    def _list(self, pattern: str) -> dict[tuple[str, int], dict[str, str]]:
        """`{(table, version): {file name: path}}` of the namespace's version files."""
        if pattern not in self._files:
            found: dict[tuple[str, int], dict[str, str]] = {}
            for path in files_at(self.spark, f"{self.root}/{self.namespace}", pattern, limit=1_000_000):
                m = _LEGACY_FILE.search(path)
                if m and not m.group(1).startswith("."):
                    found.setdefault((m.group(1), int(m.group(2))), {})[m.group(3)] = path
            self._files[pattern] = found
        return self._files[pattern]

    def _read(self, paths: list[str]) -> dict[str, bytes]:
        rows = self.spark.read.format("binaryFile").load(paths).select("path", "content").collect()
        return {r["path"]: bytes(r["content"]) for r in rows}

    def tables(self) -> list[str]:
        """Tables with at least one version."""
        return sorted({t for (t, _) in self._list("*.json")})

    def versions(self, table: str) -> list[int]:
        """A table's versions, ascending."""
        return sorted(v for (t, v) in self._list("*.json") if t == table)

    def get(self, table: str, version: int | None = None) -> ModelEntry:
        """A version's entry (latest unless given), its archive read with it, checked on open."""
        versions = self.versions(table)
        if not versions:
            raise NotFittedError(f"Table '{table}' has no model in the directory registry at '{self.root}'")
        v = versions[-1] if version is None else int(version)
        if v not in versions:
            raise NotFittedError(f"Table '{table}' has no model version {v}; versions: {versions}")
        files = {**self._list("*.json").get((table, v), {}), **self._list("*.synth").get((table, v), {})}
        content = self._read(list(files.values()))
        data = {name: content.get(path) for name, path in files.items()}
        folder = files[next(iter(files))].rsplit("/", 1)[0]
        where = f"Table '{table}' v{v} (directory registry '{self.root}/{self.namespace}', versions {versions})"
        model = data.get("model.synth")
        if data.get("spec.json") is not None:
            spec = TableSpec.from_json(data["spec.json"], where=f"Spec '{folder}/spec.json' of table '{table}' v{v}")
            try:
                fitted_at = str(json.loads(data.get("entry.json") or b"")["fitted_at"])
            except (ValueError, KeyError, TypeError) as exc:
                raise SerializationError(f"Entry file '{folder}/entry.json' of table '{table}' v{v} is missing or "
                                         f"damaged ({exc}). Refit the table, or load an earlier version.") from None
        else:
            try:
                manifest = json.loads(data.get("manifest.json") or b"")
            except ValueError as exc:
                raise SerializationError(f"Manifest '{folder}/manifest.json' of table '{table}' v{v} is missing or "
                                         f"corrupt: {exc}. Refit the table, or load an earlier version.") from None
            spec = migrate_manifest(manifest, model_size=len(model) if model is not None else 0)
            fitted_at = str(manifest.get("fitted_at", ""))
        if spec.model is not None and model is None:
            raise SerializationError(f"Model file '{folder}/model.synth' of table '{table}' v{v} is missing. Refit the "
                                     "table, or load an earlier version.")
        entry = ModelEntry(table=table, version=v, path=folder, fitted_at=fitted_at, spec=spec,
                           archive=model if model is not None else b"")
        return check_entry(entry, where)

    def listing(self) -> list[dict[str, Any]]:
        """One summary per version (each version's entry is opened)."""
        rows = []
        for t in self.tables():
            for v in self.versions(t):
                e = self.get(t, v)
                rows.append({"table": t, "version": v, "backend": e.backend, "row_count": e.row_count,
                             "training_rows": e.training_rows, "seed": e.seed, "fitted_at": e.fitted_at,
                             "path": e.path})
        return rows

    def database_versions(self) -> list[int]:
        """Versions of the stored database spec."""
        paths = files_at(self.spark, f"{self.root}/{self.namespace}/.database", "v*.json", limit=100_000)
        return sorted(int(m.group(1)) for p in paths if (m := _LEGACY_DATABASE.search(p)))

    def get_database(self, version: int | None = None) -> DatabaseSpec:
        """A stored database spec (latest unless given)."""
        versions = self.database_versions()
        if not versions:
            raise NotFittedError(f"No database was fitted into the directory registry at '{self.root}'")
        v = versions[-1] if version is None else int(version)
        if v not in versions:
            raise NotFittedError(f"The registry has no database version {v}; versions: {versions}")
        path = f"{self.root}/{self.namespace}/.database/v{v}.json"
        try:
            (text,) = self._read([path]).values()
            return DatabaseSpec.model_validate_json(text)
        except ValueError as exc:
            raise SerializationError(f"Database spec '{path}' is missing or damaged ({exc}). Refit the database.") from None

    def namespaces(self) -> list[str]:
        """The namespaces (sub-directories with versions or database specs) under the root."""
        root = _path_part(self.root) + "/"
        names = set()
        for p in files_at(self.spark, self.root, "*.json", limit=1_000_000):
            rest = _path_part(p)
            if rest.startswith(root) and (_LEGACY_FILE.search(p) or _LEGACY_DATABASE.search(p)):
                names.add(rest[len(root):].split("/", 1)[0])
        return sorted(names)


def _path_part(uri: str) -> str:
    """A path or URI without its scheme and leading slashes (`file:/a/b`, `file:///a/b`, `/a/b` -> `a/b`)."""
    return re.sub(r"^[A-Za-z][A-Za-z0-9+.\-]+:", "", str(uri)).strip("/")


def migrate_registry(spark: SparkSession, source: str | Any | None = None, *, registry: CatalogRegistry | None = None,
                     namespaces: list[str] | None = None) -> dict[str, list[tuple[str, int]]]:
    """Copy every version of a directory registry into the catalog registry (one line after upgrading).

    Versions keep their numbers and fit times; versions the catalog table already has are skipped,
    so running it again is harmless. When the directory is where the catalog table would be created
    (the default `<warehouse>/synth_models` of earlier versions), it is first moved aside to
    `<dir>.directory-registry` (which needs a local path, or a classic session for other storage).

    Args:
        spark: The session.
        source: The directory registry's root (or a `ModelRegistry`); the default directory of
            earlier versions (`<warehouse>/synth_models`) when None.
        registry: The catalog registry to fill; the session's default table when None.
        namespaces: The namespaces to copy; every one found when None.

    Returns:
        `{namespace: [(table, version), ...]}` of the versions copied (`'*'` for database specs).

    Raises:
        SynthError: The directory holds no registry, or it must be moved aside and cannot be.
    """
    if source is not None and not isinstance(source, str) and hasattr(source, "root"):  # a ModelRegistry
        source = str(source.root)
    if source is None:
        wh = spark.conf.get("spark.sql.warehouse.dir", None)
        if not wh:
            raise SynthError("migrate_registry: the session has no spark.sql.warehouse.dir; give source='<directory>'")
        source = str(wh).rstrip("/") + "/" + DEFAULT_REGISTRY_TABLE
    source = str(source).rstrip("/")
    target = registry or CatalogRegistry(spark)
    found = DirectoryRegistryReader(spark, source).namespaces()
    if not found:
        raise SynthError(f"migrate_registry: '{source}' holds no directory registry (no <namespace>/<table>/v<N>/ "
                         "folders with spec.json or manifest.json)")
    loc = default_location(spark, str(target.name))
    if not target._exists() and loc is not None and _path_part(loc) == _path_part(source):
        source = _move_aside(spark, source)
    copied: dict[str, list[tuple[str, int]]] = {}
    for ns in namespaces or found:
        reader = DirectoryRegistryReader(spark, source, ns)
        dest = target.with_namespace(ns)
        dest._legacy = None  # the catalog table only
        have = set(dest._index(_TABLE))
        done: list[tuple[str, int]] = []
        for t in reader.tables():
            for v in reader.versions(t):
                if (t, v) in have:
                    continue
                e = reader.get(t, v)
                data = bytes(e.archive) if e.spec.model is not None and e.archive is not None else None
                fitted_us = _parse_time(e.fitted_at)
                dest._write(_TABLE, t, spec_json=e.spec.to_json(), model=data, backend=e.backend, row_count=e.row_count,
                            training_rows=e.training_rows, seed=e.seed, sha256=e.spec.model.sha256 if e.spec.model else None,
                            report={"notes": list(e.spec.notes), "migrated_from": e.path}, version=v, fitted_us=fitted_us)
                done.append((t, v))
        have_db = set(dest._index(_DATABASE, _ALL_TABLES))
        for v in reader.database_versions():
            if (_ALL_TABLES, v) in have_db:
                continue
            db = reader.get_database(v)
            dest._write(_DATABASE, _ALL_TABLES, spec_json=db.model_dump_json(), model=None, backend=None, row_count=None,
                        training_rows=None, seed=None, sha256=None, report={"tables": list(db.order),
                                                                            "migrated_from": source}, version=v)
            done.append((_ALL_TABLES, v))
        copied[ns] = done
    _log.info("migrated directory registry", source=source, registry=str(target.name),
              versions={k: len(v) for k, v in copied.items()})
    return copied


def _parse_time(text: str) -> int | None:
    try:
        t = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return int(t.timestamp() * 1e6)


def _move_aside(spark: SparkSession, source: str) -> str:
    """Rename the directory registry so the catalog table can be created at its location."""
    from pyspark_synth.io.storage import filesystem, resolve

    loc = resolve(spark, source, error=SynthError)
    fs = filesystem(spark, loc)
    aside = loc.parent.child(loc.name + ".directory-registry")
    if fs is None:
        raise SynthError(f"migrate_registry: the directory registry at '{source}' is where the catalog table must be "
                         "created, and this session cannot move it (a Spark Connect client reaches only local paths). "
                         f"Move it (e.g. to '{aside}') and call migrate_registry(spark, '<new place>').")
    if fs.exists(aside):
        raise SynthError(f"migrate_registry: cannot move '{source}' aside: '{aside}' already exists. Move it yourself "
                         "and call migrate_registry(spark, '<new place>').")
    fs.rename(loc, aside)
    _log.info("moved the directory registry aside", source=str(loc), to=str(aside))
    return aside.uri if aside.local is None else aside.local
