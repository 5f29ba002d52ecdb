"""Writer leases: which writer owns a staging area, and whether it is still alive to finish it.

A writer puts a small JSON lease next to (or in) the data it stages before Spark writes anything, and
removes it once the write is committed or cleaned up. The next writer of the same target reads the
leases it finds: a lease whose writer is dead marks staging that nobody will finish, which it removes.
A writer on the same host is dead when none of its processes (the Python driver and the driver JVM)
still runs with the start time it recorded (so a reused process id is not mistaken for it); a writer on
another host is dead when it has not renewed its lease for `STALE_AFTER_S` seconds (it renews every
`HEARTBEAT_S`). A lease that cannot be read is treated as alive until it is that old.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from typing import Any

from pyspark_synth._log import get_logger
from pyspark_synth.io.storage import Location

__all__ = ["HEARTBEAT_S", "STALE_AFTER_S", "Lease", "is_dead", "new_writer_id", "read_lease", "writer_info"]

_log = get_logger("write.lease")
HEARTBEAT_S = 30.0
STALE_AFTER_S = 600.0


def new_writer_id() -> str:
    """A fresh id for one write: sortable by time, unique across processes."""
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}"


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process (Linux), or None if /proc has none."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return (fields[0], fields[19]) if len(fields) > 19 else None


def _start_ticks(pid: int) -> str | None:
    stat = _proc_stat(pid)
    return stat[1] if stat else None


def _jvm_pid(spark: Any) -> int | None:
    try:
        return int(spark._jvm.java.lang.ProcessHandle.current().pid())  # noqa: SLF001
    except Exception:  # noqa: BLE001 - Spark Connect: no driver JVM here
        return None


def writer_info(spark: Any, **extra: Any) -> dict[str, Any]:
    """What identifies this writer: host, and each driver process with its start time."""
    procs = [{"pid": os.getpid(), "start": _start_ticks(os.getpid())}]
    jpid = _jvm_pid(spark)
    if jpid is not None and jpid != os.getpid():
        procs.append({"pid": jpid, "start": _start_ticks(jpid)})
    now = time.time()
    return {"host": socket.gethostname(), "processes": procs, "started": now, "heartbeat": now, **extra}


def _process_alive(pid: int, start: str | None) -> bool:
    if os.path.isdir("/proc"):
        stat = _proc_stat(pid)  # a killed process whose parent has not reaped it is a zombie: dead
        return stat is not None and stat[0] not in ("Z", "X") and (start is None or stat[1] == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_dead(info: dict[str, Any] | None, *, mtime: float | None = None, now: float | None = None) -> bool:
    """True when the writer of lease `info` can no longer finish its write.

    Args:
        info: The lease content, or None when the lease could not be read.
        mtime: The lease file's modification time (used when it could not be read).
        now: The current time (seconds since the epoch).
    """
    now = time.time() if now is None else now
    if not isinstance(info, dict):
        return mtime is not None and now - mtime > STALE_AFTER_S
    if info.get("host") == socket.gethostname() and info.get("processes"):
        return not any(_process_alive(int(p["pid"]), p.get("start")) for p in info["processes"])
    beat = info.get("heartbeat", info.get("started", 0))
    return now - float(beat) > STALE_AFTER_S


def read_lease(fs: Any, loc: Location) -> dict[str, Any] | None:
    """The lease at `loc`, or None when it is missing or unreadable (half-written)."""
    text = fs.read_text(loc)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class Lease:
    """A lease held for the duration of a `with` block, renewed by a daemon thread."""

    def __init__(self, fs: Any, loc: Location, info: dict[str, Any]) -> None:
        self.fs, self.loc, self.info = fs, loc, dict(info)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _write(self) -> None:
        with self._lock:
            self.info["heartbeat"] = time.time()
            self.fs.write_text(self.loc, json.dumps(self.info, sort_keys=True))

    def update(self, **changes: Any) -> None:
        """Record a change (e.g. `phase="committing"`) in the lease now."""
        self.info.update(changes)
        self._write()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self._write()
            except Exception as exc:  # noqa: BLE001 - a missed beat only makes the lease look older
                _log.warning("lease heartbeat failed", lease=self.loc.uri, error=str(exc))

    def __enter__(self) -> Lease:
        self._write()
        self._thread = threading.Thread(target=self._beat, name="synth-lease", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=HEARTBEAT_S)
        with self._lock:
            try:
                self.fs.delete(self.loc)
            except Exception as err:  # noqa: BLE001 - a stale lease of a finished writer is swept later
                _log.warning("could not remove lease", lease=self.loc.uri, error=str(err))
