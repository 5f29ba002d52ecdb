"""A Spark Thrift Server (HiveServer2 protocol) in this Python driver, so JDBC/ODBC clients can CALL synth.*.

The procedures call back into the Python process that activated them, so the server must run
in that process's JVM: `start_thrift_server` activates the plugin (for every session, since
each JDBC connection gets its own session) and starts `HiveThriftServer2.startWithContext`.
Classic sessions only. It binds to 127.0.0.1 unless told otherwise; the server has no
authentication configured, so expose it on other interfaces only behind one.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import SynthError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["ThriftServer", "free_port", "start_thrift_server"]

_log = get_logger("thrift")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class ThriftServer:
    """A running Thrift server: its JDBC URL and a `stop()`."""

    host: str
    port: int
    _server: Any
    _app_id: str = ""

    @property
    def jdbc_url(self) -> str:
        """`jdbc:hive2://host:port/default` for beeline and JDBC drivers."""
        return f"jdbc:hive2://{self.host}:{self.port}/default"

    def stop(self) -> None:
        """Stop the server (the Spark session keeps running; no other Thrift server can start in
        this driver afterwards: keep this one running to serve again)."""
        if self._server is not None:
            self._server.stop()
            self._server = None
            _STOPPED.add(self._app_id)
            _log.info("stopped thrift server", port=self.port)


# Spark applications (driver JVMs) in which a Thrift server was stopped: HiveThriftServer2 keeps
# static state, so a second one started in the same JVM never listens
_STOPPED: set[str] = set()


def _wait_listening(host: str, port: int, timeout: float) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def _share_synth_conf(spark: SparkSession) -> None:
    """Copy this session's `spark.synth.*` settings to the SparkContext conf, which JDBC sessions start from."""
    jconf = spark.sparkContext._conf
    for key, value in spark.conf.getAll.items():
        if key.startswith("spark.synth."):
            jconf.set(key, value)


def start_thrift_server(
    spark: SparkSession,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    activate: bool = True,
    timeout: float = 60.0,
) -> ThriftServer:
    """Start a Spark Thrift Server on `host:port` in this driver, with `CALL synth.*` available.

    Each JDBC connection gets a new session of this SparkContext, which starts from the
    SparkContext's conf: this session's `spark.synth.*` settings (registry root, catalog table)
    are copied there first.

    Args:
        spark: A classic session; JDBC sessions are new sessions of its SparkContext.
        host: Interface to bind (loopback by default).
        port: TCP port; a free one when None.
        activate: Activate the SQL plugin for all sessions first (`spark.sql.activate`).
        timeout: Seconds to wait for the port to accept connections.

    Raises:
        SynthError: Spark Connect session, Thrift server classes missing, or it did not start.
    """
    if type(spark).__module__.startswith("pyspark.sql.connect"):
        raise SynthError("start_thrift_server needs a classic SparkSession (it runs in this driver's JVM)")
    app_id = spark.sparkContext.applicationId
    if app_id in _STOPPED:
        raise SynthError(
            "A Spark Thrift Server was already started and stopped in this driver (application "
            f"{app_id}); the Thrift server cannot start twice in one driver JVM. Keep the first server running "
            "and connect to it again (ThriftServer.jdbc_url), or start the server from a new driver process.")
    if activate:
        from pyspark_synth.spark.sql import activate as _activate

        _activate(spark, all_sessions=True)
    _share_synth_conf(spark)
    port = port or free_port(host)
    spark.conf.set("hive.server2.thrift.bind.host", host)
    spark.conf.set("hive.server2.thrift.port", str(port))
    spark.conf.set("hive.server2.transport.mode", "binary")
    jvm = spark._jvm
    server_cls = jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
    try:
        server = server_cls.startWithContext(spark._jsparkSession.sqlContext())
    except Exception as exc:  # noqa: BLE001 - py4j error: classes missing or the server failed
        raise SynthError(
            f"Could not start the Spark Thrift Server on {host}:{port}: {exc}. It needs the spark-hive-thriftserver "
            "jars (shipped with pyspark)."
        ) from exc
    if not _wait_listening(host, port, timeout):
        server.stop()
        raise SynthError(f"The Spark Thrift Server did not listen on {host}:{port} within {timeout:.0f}s")
    _log.info("started thrift server", host=host, port=port)
    return ThriftServer(host, port, server, app_id)
