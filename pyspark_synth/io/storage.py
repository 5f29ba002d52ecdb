"""Paths on any storage Spark can write: where a path points, and the few file operations writers need.

A path means what it means to Spark. A path without a scheme is qualified with Hadoop's default file
system (`fs.defaultFS`): on a cluster whose default is HDFS it is an HDFS path, on a laptop a local
one. Local paths (`file:`) are handled with the operating system's calls (a directory rename there is
atomic and never replaces a non-empty directory); every other scheme goes through Hadoop's FileSystem
API in the driver JVM, so any scheme the session's Hadoop conf knows (`s3a`, `abfss`, `gs`, `hdfs`,
`dbfs`, or one a test registers) works. A Spark Connect client has no driver JVM: it reaches local
paths only, and `filesystem` returns None for the others.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["Entry", "HadoopFileSystem", "LocalFileSystem", "Location", "TargetExistsError", "filesystem", "resolve"]

# a scheme has two or more characters, so a Windows drive letter ("C:\\") stays a path
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")


class TargetExistsError(FileExistsError):
    """A rename found its target already there (it never replaces one)."""


@dataclass(frozen=True)
class Location:
    """A qualified path: `uri` as Spark is given it, `local` the absolute local path of a `file:` one."""

    uri: str
    local: str | None = None

    @property
    def scheme(self) -> str:
        return "file" if self.local is not None else self.uri.split(":", 1)[0].lower()

    @property
    def name(self) -> str:
        return (self.local or self.uri).rstrip("/").rsplit("/", 1)[-1]

    @classmethod
    def of_local(cls, path: str) -> Location:
        """The location of an absolute local path (its URI is `file:` so no default FS reinterprets it)."""
        return cls("file://" + path if path.startswith("/") else "file:///" + path.replace(os.sep, "/"), path)

    @property
    def parent(self) -> Location:
        if self.local is not None:
            return Location.of_local(os.path.dirname(self.local))
        head = self.uri.rstrip("/").rsplit("/", 1)[0]
        return Location(head if "/" in head.split(":", 1)[-1] else head + "/")

    def child(self, name: str) -> Location:
        if self.local is not None:
            return Location.of_local(os.path.join(self.local, name))
        return Location(f"{self.uri.rstrip('/')}/{name}")

    def __str__(self) -> str:
        """The local path for local locations (what callers used to get back), else the URI."""
        return self.local if self.local is not None else self.uri


def _jvm(spark: Any) -> Any | None:
    """The driver JVM of a classic session; None on Spark Connect."""
    try:
        return spark._jvm if spark._jvm is not None else None  # noqa: SLF001
    except Exception:  # noqa: BLE001 - Connect sessions have no JVM handle
        return None


def _hadoop_conf(spark: Any) -> Any:
    """The Hadoop conf Spark's own writers use (SparkContext's plus the session's spark.hadoop.*)."""
    try:
        return spark._jsparkSession.sessionState().newHadoopConf()  # noqa: SLF001
    except Exception:  # noqa: BLE001 - fall back to the context's conf
        return spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001


def resolve(spark: SparkSession, path: str | os.PathLike, *, error: type[Exception] = ValueError) -> Location:
    """Where `path` points, read the way Spark reads it.

    Args:
        spark: The session whose Hadoop conf decides the default file system.
        path: A path or URI (`/data/x`, `file:///data/x`, `s3a://bucket/x`, `relative/dir`).
        error: The exception class raised for a path that is not a string or is empty.

    Returns:
        The qualified location (a local one when the scheme is `file`).
    """
    if isinstance(path, os.PathLike):
        text = os.fspath(path)
    elif isinstance(path, str):
        text = path
    else:
        raise error(f"A path must be a string or os.PathLike, got {type(path).__name__}")
    text = str(text).strip()
    if not text:
        raise error("The path is empty; give a directory path or a URI such as s3a://bucket/dir")
    match = _SCHEME.match(text)
    if match is None:
        jvm = _jvm(spark)
        if jvm is not None:
            conf = _hadoop_conf(spark)
            default = jvm.org.apache.hadoop.fs.FileSystem.getDefaultUri(conf).getScheme()
            if default and default.lower() != "file":
                hpath = jvm.org.apache.hadoop.fs.Path(text)
                return Location(str(hpath.getFileSystem(conf).makeQualified(hpath).toString()).rstrip("/"))
        return Location.of_local(os.path.abspath(os.path.expanduser(text)))
    if match.group(1).lower() == "file":
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise error(f"'{text}': a file: URI names a local path (file:///dir), not host '{parsed.netloc}'")
        return Location.of_local(os.path.abspath(parsed.path or "/"))
    return Location(text if text.endswith(":/") or text.endswith("://") else text.rstrip("/"))


@dataclass(frozen=True)
class Entry:
    """One child of a directory."""

    name: str
    is_dir: bool
    mtime: float  # seconds since the epoch
    size: int


class LocalFileSystem:
    """File operations on local paths with the operating system's calls."""

    def exists(self, loc: Location) -> bool:
        return os.path.lexists(_local(loc))

    def is_dir(self, loc: Location) -> bool:
        return os.path.isdir(_local(loc))

    def is_file(self, loc: Location) -> bool:
        return os.path.isfile(_local(loc))

    def list(self, loc: Location) -> list[Entry]:
        out = []
        try:
            with os.scandir(_local(loc)) as it:
                for e in it:
                    try:
                        st = e.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    out.append(Entry(e.name, e.is_dir(follow_symlinks=False), st.st_mtime, st.st_size))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return out

    def mtime(self, loc: Location) -> float | None:
        try:
            return os.stat(_local(loc)).st_mtime
        except FileNotFoundError:
            return None

    def mkdirs(self, loc: Location) -> None:
        os.makedirs(_local(loc), exist_ok=True)

    def delete(self, loc: Location) -> None:
        """Remove a file or a directory tree; a missing path is not an error."""
        path = _local(loc)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def remove_empty_dir(self, loc: Location) -> bool:
        try:
            os.rmdir(_local(loc))
            return True
        except OSError:
            return False

    def rename(self, src: Location, dst: Location) -> None:
        """Move `src` to `dst` atomically; raises TargetExistsError when `dst` holds anything."""
        s, d = _local(src), _local(dst)
        if os.path.isdir(s):
            try:
                os.rename(s, d)  # replaces only an empty directory; never a non-empty one
            except (IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
                raise TargetExistsError(d) from exc
            except OSError as exc:
                if os.path.lexists(d):
                    raise TargetExistsError(d) from exc
                raise
            return
        try:
            os.link(s, d)  # fails when d exists, where a file rename would replace it
        except FileExistsError as exc:
            raise TargetExistsError(d) from exc
        except OSError:  # no hard links on this file system: check, then rename
            if os.path.lexists(d):
                raise TargetExistsError(d) from None
            os.rename(s, d)
            return
        os.unlink(s)

    def write_text(self, loc: Location, text: str) -> None:
        """Replace the file's content atomically (write aside, then rename over it)."""
        path = _local(loc)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)

    def read_text(self, loc: Location) -> str | None:
        try:
            with open(_local(loc), encoding="utf-8") as fh:
                return fh.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None


def _local(loc: Location) -> str:
    if loc.local is None:
        raise ValueError(f"'{loc.uri}' is not a local path")
    return loc.local


class HadoopFileSystem:
    """File operations through Hadoop's FileSystem API in the driver JVM (any scheme Spark knows)."""

    def __init__(self, spark: SparkSession) -> None:
        self._jvm = spark._jvm  # noqa: SLF001
        self._conf = _hadoop_conf(spark)

    def _path(self, loc: Location) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(loc.uri)

    def _fs(self, loc: Location) -> tuple[Any, Any]:
        p = self._path(loc)
        return p.getFileSystem(self._conf), p

    def exists(self, loc: Location) -> bool:
        fs, p = self._fs(loc)
        return bool(fs.exists(p))

    def _status(self, loc: Location) -> Any | None:
        fs, p = self._fs(loc)
        try:
            return fs.getFileStatus(p)
        except Exception as exc:  # noqa: BLE001 - FileNotFoundException arrives as a Py4JJavaError
            if "FileNotFound" in str(exc):
                return None
            raise

    def is_dir(self, loc: Location) -> bool:
        st = self._status(loc)
        return st is not None and bool(st.isDirectory())

    def is_file(self, loc: Location) -> bool:
        st = self._status(loc)
        return st is not None and bool(st.isFile())

    def list(self, loc: Location) -> list[Entry]:
        fs, p = self._fs(loc)
        try:
            statuses = fs.listStatus(p)
        except Exception as exc:  # noqa: BLE001
            if "FileNotFound" in str(exc):
                return []
            raise
        return [Entry(str(st.getPath().getName()), bool(st.isDirectory()), st.getModificationTime() / 1000.0,
                      int(st.getLen())) for st in statuses]

    def mtime(self, loc: Location) -> float | None:
        st = self._status(loc)
        return None if st is None else st.getModificationTime() / 1000.0

    def mkdirs(self, loc: Location) -> None:
        fs, p = self._fs(loc)
        fs.mkdirs(p)

    def delete(self, loc: Location) -> None:
        fs, p = self._fs(loc)
        fs.delete(p, True)

    def remove_empty_dir(self, loc: Location) -> bool:
        fs, p = self._fs(loc)
        try:
            return bool(fs.delete(p, False))  # refuses a non-empty directory
        except Exception:  # noqa: BLE001 - PathIsNotEmptyDirectoryException
            return False

    def rename(self, src: Location, dst: Location) -> None:
        """Move `src` to `dst`; raises TargetExistsError when `dst` exists.

        Hadoop's FileSystem.rename moves a directory *into* an existing directory, so the target is
        checked first and, should one appear between the check and the rename, the move is undone.
        The rename itself is atomic on HDFS and local disks; object stores copy.
        """
        fs, s = self._fs(src)
        d = self._path(dst)
        if fs.exists(d):
            raise TargetExistsError(dst.uri)
        if not fs.rename(s, d):
            if fs.exists(d):
                raise TargetExistsError(dst.uri)
            raise OSError(f"Renaming '{src.uri}' to '{dst.uri}' failed")
        nested = self._path(dst.child(src.name))
        if fs.exists(nested):  # dst appeared meanwhile and src went inside it: put it back
            fs.rename(nested, s)
            raise TargetExistsError(dst.uri)

    def write_text(self, loc: Location, text: str) -> None:
        fs, p = self._fs(loc)
        out = fs.create(p, True)
        try:
            out.write(bytearray(text.encode("utf-8")))
        finally:
            out.close()

    def read_text(self, loc: Location) -> str | None:
        fs, p = self._fs(loc)
        try:
            stream = fs.open(p)
        except Exception as exc:  # noqa: BLE001
            if "FileNotFound" in str(exc):
                return None
            raise
        try:
            return bytes(stream.readAllBytes()).decode("utf-8")
        finally:
            stream.close()


def filesystem(spark: SparkSession, loc: Location) -> LocalFileSystem | HadoopFileSystem | None:
    """The file operations for `loc`: the OS's for local paths, Hadoop's otherwise, None on Connect."""
    if loc.local is not None:
        return LocalFileSystem()
    if _jvm(spark) is None:
        return None
    return HadoopFileSystem(spark)
