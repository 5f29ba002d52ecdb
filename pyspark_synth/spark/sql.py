"""Spark SQL access: `CALL synth.<procedure>(...)` through a JVM catalog shim, and `synth_sample(...)`.

Design
------
Spark 4 resolves `CALL cat.proc(...)` through a DSv2 catalog that implements
`ProcedureCatalog`. The plugin ships that catalog as four small Java classes
(`pyspark_synth/java/pyspark_synth/sql/*.java`, built into a jar with `javac` against the
running pyspark's jars the first time it is needed, or taken prebuilt from
`pyspark_synth/jars/`). The Java side is a thin shim and holds no logic:

* `SynthCatalog` (the catalog, `spark.sql.catalog.synth`) lists the procedures that Python
  declared in `SynthBridge` (name, parameters as a DDL column list, description).
* `SynthProcedure.call()` turns the bound arguments into JSON and calls the Python handler
  through py4j: `activate()` hands a Python object implementing `SynthHandler` to the JVM and
  starts pyspark's py4j callback server. The callback runs **in the Python driver**, on a
  callback thread, with the JVM session the CALL runs in, so a procedure can use the full Python
  API (`fit_table`, `sample_table`, `write_table`, ...). This is why the procedures are not
  Python UDTFs: a UDTF runs in a Python worker that has no SparkSession.
* The handler returns the result rows as a Dataset (collected by the shim into a `LocalScan`, the
  CALL's result set), or an error message, which the shim raises as
  `[USER_RAISED_EXCEPTION] synth.sample: NotFittedError: ...` so a SQL user (spark.sql, beeline,
  JDBC) reads what went wrong and how to fix it, not a Java stack dump.

The table function `synth_sample(table, num_rows, seed)` is a Python UDTF (its `analyze` reads
the output schema from the model registry); see `pyspark_synth.spark.table_functions`.

Activation needs a classic (py4j) session: the procedures call back into that Python process,
so the Python driver must stay alive while SQL clients use them (for JDBC clients, start the
Spark Thrift Server from it: `pyspark_synth.spark.thrift.start_thrift_server`). On a Spark
Connect session only the table function is registered.

Conf recipe (no `spark.sql.extensions` needed)::

    spark = (SparkSession.builder
             .config("spark.jars", pyspark_synth.spark.sql.jar_path())         # optional
             .config("spark.sql.catalog.synth", "pyspark_synth.sql.SynthCatalog")
             .getOrCreate())
    pyspark_synth.spark.sql.activate(spark)      # installs the Python handler (always needed)

Without the two confs `activate()` adds the jar (`ADD JAR`) and sets the catalog conf itself.
It also makes the model registry table (`synth_models`) and the catalog metadata table readable
with SQL: a catalog without a metastore forgets its tables when the application ends, and tables an
earlier application left in the warehouse are registered again.
`ADD JAR` only reaches the class loader of the calling thread, so `activate()` also loads the
catalog at once (the session caches it for CALLs from any thread); sessions created later from
another thread need the `spark.jars` recipe. `synth_sample` reads the registry root given at
activation: activate again after changing `spark.synth.registryRoot`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import traceback
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import SynthError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "CATALOG_CLASS",
    "CONF_JAR",
    "DEFAULT_CATALOG",
    "Activation",
    "activate",
    "build_jar",
    "deactivate",
    "jar_path",
    "java_sources",
]

_log = get_logger("sql")
CATALOG_CLASS = "pyspark_synth.sql.SynthCatalog"
_BRIDGE_CLASS = "pyspark_synth.sql.SynthBridge"
CONF_JAR = "spark.synth.sql.jar"
DEFAULT_CATALOG = "synth"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_JAVA_DIR = _PACKAGE_DIR / "java"
_PACKAGED_JARS = _PACKAGE_DIR / "jars"
_HANDLERS: list[Any] = []  # keeps the py4j callback objects alive


# --------------------------------------------------------------------------------------------
# the jar


def java_sources() -> list[Path]:
    """The Java sources of the catalog shim, sorted."""
    return sorted(_JAVA_DIR.rglob("*.java"))


def _spark_home() -> Path:
    import pyspark

    home = Path(pyspark.__file__).resolve().parent
    if (home / "jars").is_dir():
        return home
    env = os.environ.get("SPARK_HOME")
    if env and (Path(env) / "jars").is_dir():
        return Path(env)
    raise SynthError(f"Cannot find Spark's jars: neither {home / 'jars'} nor $SPARK_HOME/jars exists")


def _spark_minor() -> str:
    import pyspark

    return ".".join(pyspark.__version__.split(".")[:2])


def _jar_name() -> str:
    h = hashlib.sha256(_spark_minor().encode())
    for src in java_sources():
        h.update(src.relative_to(_JAVA_DIR).as_posix().encode() + b"\0" + src.read_bytes())
    return f"pyspark-synth-sql-spark{_spark_minor()}-{h.hexdigest()[:12]}.jar"


def _cache_dir() -> Path:
    base = os.environ.get("PYSPARK_SYNTH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pyspark_synth")
    return Path(base) / "jars"


def _writable(d: Path) -> bool:
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(d, os.W_OK)


def _find_javac() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(os.path.join(java_home, "bin", "javac"), os.X_OK):
        return os.path.join(java_home, "bin", "javac")
    return shutil.which("javac")


def build_jar(target_dir: str | os.PathLike | None = None) -> Path:
    """Compile the Java shim with `javac` against pyspark's jars and write the jar.

    The jar's name holds the Spark minor version and a hash of the sources, so a jar built for
    other sources or another Spark is never picked up. It is written under a temporary name and
    renamed into place, so concurrent builds are safe.

    Args:
        target_dir: Where to write the jar; `pyspark_synth/jars/` when writable, else the user
            cache (`$PYSPARK_SYNTH_CACHE/jars` or `~/.cache/pyspark_synth/jars`).

    Raises:
        SynthError: No `javac` (install a JDK 17+ or set JAVA_HOME), or compiling failed.
    """
    sources = java_sources()
    if not sources:
        raise SynthError(f"The Java sources of the SQL plugin are missing from {_JAVA_DIR}; reinstall pyspark-synth")
    javac = _find_javac()
    if javac is None:
        raise SynthError(
            "The SQL plugin's jar is not built and there is no javac to build it. Install a JDK (17 or later) "
            f"and put javac on the PATH (or set JAVA_HOME), or put a prebuilt {_jar_name()} in {_PACKAGED_JARS} "
            f"or {_cache_dir()} (built with `python -m pyspark_synth.spark.sql` where a JDK is available)."
        )
    if target_dir is not None:
        out_dir = Path(target_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
    else:
        out_dir = _PACKAGED_JARS if _writable(_PACKAGED_JARS) else _cache_dir()
        out_dir.mkdir(parents=True, exist_ok=True)
    jars = _spark_home() / "jars"
    with tempfile.TemporaryDirectory(prefix="synth-javac-") as tmp:
        classes = Path(tmp) / "classes"
        cmd = [javac, "--release", "17", "-nowarn", "-encoding", "UTF-8", "-d", str(classes),
               "-cp", str(jars / "*"), *map(str, sources)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SynthError(f"Compiling the SQL plugin failed ({javac}, against {jars}):\n{proc.stderr or proc.stdout}")
        target = out_dir / _jar_name()
        fd, partial = tempfile.mkstemp(prefix=".partial-", suffix=".jar", dir=out_dir)
        os.close(fd)
        try:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: pyspark_synth\r\n\r\n")
                for f in sorted(classes.rglob("*.class")):
                    zf.write(f, f.relative_to(classes).as_posix())
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    _log.info("built the SQL plugin jar", path=str(target))
    return target


def jar_path(*, build: bool = True) -> Path:
    """The plugin jar for these sources and this Spark: prebuilt, cached, or built now.

    Raises:
        SynthError: There is no such jar and `build` is False or building is impossible.
    """
    name = _jar_name()
    for d in (_PACKAGED_JARS, _cache_dir()):
        if (d / name).is_file():
            return d / name
    if not build:
        raise SynthError(f"No {name} in {_PACKAGED_JARS} or {_cache_dir()}; call build_jar() first")
    return build_jar()


# --------------------------------------------------------------------------------------------
# the py4j handler


def _user_message(name: str, exc: BaseException) -> str:
    """What a SQL user sees when procedure `name` fails."""
    try:
        from pyspark.errors import PySparkException
    except ImportError:  # pragma: no cover
        PySparkException = ()  # type: ignore[assignment]  # noqa: N806
    if isinstance(exc, SynthError):
        return f"synth.{name}: {type(exc).__name__}: {exc}"
    if isinstance(exc, PySparkException):
        text = str(exc).split("\n\nJVM stacktrace:")[0]
        return f"synth.{name}: {text}"
    _log.error("procedure failed", procedure=name, traceback=traceback.format_exc())
    return f"synth.{name} failed: {type(exc).__name__}: {exc} (the driver log has the Python traceback)"


class _Handler:
    """The Python side of `SynthHandler`: runs a procedure in the caller's session (driver thread)."""

    class Java:
        implements = ["pyspark_synth.sql.SynthHandler"]

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark

    def _session(self, jsession: Any) -> SparkSession:
        from pyspark.sql import SparkSession

        if jsession is None or jsession.equals(self._spark._jsparkSession):
            return self._spark
        return SparkSession(self._spark.sparkContext, jsession)

    def call(self, jsession: Any, name: str, args_json: str) -> Any:
        from pyspark_synth.spark.procedures import call_procedure

        try:
            df = call_procedure(self._session(jsession), name, json.loads(args_json))
            return df._jdf
        except BaseException as exc:  # noqa: BLE001 - every failure becomes the SQL user's message
            return _user_message(name, exc)


# --------------------------------------------------------------------------------------------
# activation


@dataclass(frozen=True)
class Activation:
    """What `activate` turned on."""

    catalog: str | None
    jar: str | None
    procedures: tuple[str, ...]
    table_functions: tuple[str, ...]


def _is_connect(spark: Any) -> bool:
    return type(spark).__module__.startswith("pyspark.sql.connect")


def _bridge(spark: SparkSession) -> Any:
    from py4j.java_gateway import JavaClass

    cls = spark._jvm
    for part in _BRIDGE_CLASS.split("."):
        cls = getattr(cls, part)
    return cls if isinstance(cls, JavaClass) else None


def activate(
    spark: SparkSession,
    *,
    catalog: str = DEFAULT_CATALOG,
    procedures: bool | None = None,
    table_functions: bool = True,
    jar: str | os.PathLike | None = None,
    all_sessions: bool = True,
) -> Activation:
    """Turn on `CALL synth.*` procedures and the `synth_sample` table function in this session.

    Args:
        spark: The session (classic; on Spark Connect only the table function is registered).
        catalog: Catalog name of the procedures (`CALL <catalog>.sample(...)`).
        procedures: Register the procedures; None means "when the session is classic", True
            raises on Spark Connect.
        table_functions: Register `synth_sample` (and any other table function) as temporary
            functions of this session.
        jar: The plugin jar to add; default: the `spark.synth.sql.jar` conf, else `jar_path()`
            (prebuilt, cached or built now with javac). Not needed when the catalog class is
            already on the classpath (`spark.jars`).
        all_sessions: Also set the catalog conf on the SparkContext, so sessions created later
            (`spark.newSession()`, Spark Thrift Server JDBC sessions) resolve `CALL synth.*`.

    Returns:
        An Activation describing what was registered.

    Raises:
        SynthError: The jar cannot be found or built, or `procedures=True` on Spark Connect.
    """
    from pyspark_synth.spark.procedures import PROCEDURES

    connect = _is_connect(spark)
    if procedures is None:
        procedures = not connect
    if procedures and connect:
        raise SynthError(
            "CALL synth.* procedures call back into the Python driver through py4j, which a Spark Connect "
            "client does not have. On Spark Connect use the SQL table function instead: activate(spark) "
            "registers it, then SELECT * FROM synth_sample('<table>', <num_rows>, <seed>); or call the "
            "procedures as Python functions of this session (pyspark_synth.spark.procedures.call_procedure(spark, "
            "'sample', table=..., num_rows=..., output=...)). CALL itself needs a classic session."
        )
    used_jar = None
    names: tuple[str, ...] = ()
    if procedures:
        bridge = _bridge(spark)
        if bridge is None:
            used_jar = str(jar or spark.conf.get(CONF_JAR, None) or jar_path())
            if not Path(used_jar).is_file():
                raise SynthError(f"The SQL plugin jar '{used_jar}' does not exist. Unset {CONF_JAR} or point it at the jar.")
            spark.sql(f"ADD JAR '{used_jar}'")
            bridge = _bridge(spark)
            if bridge is None:
                raise SynthError(f"Added '{used_jar}' but the JVM still cannot load {_BRIDGE_CLASS}; is it the plugin jar?")
        for p in PROCEDURES.values():
            bridge.define(p.name, p.parameters, p.description)
        from pyspark.java_gateway import ensure_callback_server_started

        handler = _Handler(spark)
        _HANDLERS[:] = [handler]
        bridge.setHandler(handler)
        ensure_callback_server_started(spark.sparkContext._gateway)
        key = f"spark.sql.catalog.{catalog}"
        spark.conf.set(key, CATALOG_CLASS)
        if all_sessions:
            spark.sparkContext._conf.set(key, CATALOG_CLASS)
        # Load the catalog now, on this thread (whose context class loader sees the added jar): the
        # session caches the instance, so CALLs from other threads need not find the class again.
        spark._jsparkSession.sessionState().catalogManager().catalog(catalog)
        names = tuple(sorted(PROCEDURES))
    _register_left_tables(spark)
    functions: tuple[str, ...] = ()
    if table_functions:
        from pyspark_synth.spark.table_functions import register_table_functions

        functions = tuple(register_table_functions(spark))
    _log.info("activated SQL", catalog=catalog if procedures else None, jar=used_jar, procedures=names,
              table_functions=functions)
    return Activation(catalog if procedures else None, used_jar, names, functions)


def _register_left_tables(spark: SparkSession) -> None:
    """Make the model registry table and the catalog metadata table readable with SQL in this session.

    A catalog without a metastore forgets its tables when its application ends; a table an earlier
    application left in the warehouse is registered again here (with a metastore nothing changes).
    """
    from pyspark_synth.io import catalog
    from pyspark_synth.io.catalog_registry import CatalogRegistry

    CatalogRegistry(spark)._exists()
    catalog._table_exists(spark, catalog.catalog_table_name(spark))


def deactivate(spark: SparkSession) -> None:
    """Remove the Python handler from the JVM; `CALL synth.*` then says the plugin is not active."""
    if _is_connect(spark):
        return
    bridge = _bridge(spark)
    if bridge is not None:
        bridge.clear()
    _HANDLERS.clear()


if __name__ == "__main__":  # python -m pyspark_synth.spark.sql: build the jar (e.g. before packaging a wheel)
    print(build_jar(_PACKAGED_JARS))
