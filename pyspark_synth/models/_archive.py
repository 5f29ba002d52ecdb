"""A pickle-free model archive: one zip with JSON config and NumPy arrays (loaded with allow_pickle=False)."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from pyspark_synth._version import __version__
from pyspark_synth.errors import ModelVersionError, SerializationError

__all__ = ["FORMAT_VERSION", "pack", "unpack", "write_archive", "read_archive"]

FORMAT_VERSION = 1
_CONFIG = "config.json"
_ARRAYS = "arrays.npz"


def pack(kind: str, config: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """Serialise a model to bytes: `config` must be JSON-able, `arrays` plain numeric/string arrays.

    Args:
        kind: The model class name (checked on load).
        config: Hyperparameters and any JSON state (transformer state included).
        arrays: Named arrays (network weights as float32, etc.). Object arrays are refused.
    """
    arrays = arrays or {}
    for name, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise SerializationError(f"Array '{name}' has dtype object; archives hold numeric or fixed-width string arrays only")
    header = {"kind": kind, "format_version": FORMAT_VERSION, "library_version": __version__, "config": config}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_CONFIG, json.dumps(header, allow_nan=True))
        arr_buf = io.BytesIO()
        np.savez(arr_buf, **{k: np.asarray(v) for k, v in arrays.items()})
        zf.writestr(_ARRAYS, arr_buf.getvalue())
    return buf.getvalue()


def unpack(data: bytes, *, expected_kind: str | None = None, where: str = "model bytes") -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read bytes made by `pack`; returns (config, arrays). No code is executed while loading.

    Any damage (truncation, a changed byte, a member missing, a header that is not a JSON object)
    raises `SerializationError`: a changed byte can break the zip structure, the deflate stream
    (`zlib.error`), a compression method or flag (`NotImplementedError`, `RuntimeError`) or a
    length field (`struct.error`, `OverflowError`), and each of them is reported the same way.

    Raises:
        SerializationError: The bytes are not an archive, or are truncated or corrupt.
        ModelVersionError: The archive's format is newer than this library understands.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise SerializationError(f"{where} is not a model archive: expected bytes, got {type(data).__name__}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            header = json.loads(zf.read(_CONFIG))
            with np.load(io.BytesIO(zf.read(_ARRAYS)), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, zlib.error, struct.error, KeyError, ValueError, OSError, EOFError, NotImplementedError,
            RuntimeError, OverflowError, IndexError, TypeError) as exc:
        raise SerializationError(f"{where} is not a valid pyspark_synth model archive (corrupt or truncated: "
                                 f"{type(exc).__name__}: {exc})") from None
    if not isinstance(header, dict) or not isinstance(header.get("config"), dict):
        raise SerializationError(f"{where} is not a valid pyspark_synth model archive: its {_CONFIG} is not the "
                                 "header this library writes (an object with a 'config' object)")
    fv = header.get("format_version")
    if not isinstance(fv, int) or fv > FORMAT_VERSION:
        raise ModelVersionError(
            f"{where} was written with archive format {fv!r} by pyspark_synth {header.get('library_version')}; this is "
            f"pyspark_synth {__version__} (format {FORMAT_VERSION}). Upgrade pyspark_synth to load it, or refit the model."
        )
    if expected_kind is not None and header.get("kind") != expected_kind:
        raise SerializationError(f"{where} holds a '{header.get('kind')}' model, not a '{expected_kind}' model")
    return header, arrays


def write_archive(path: str | Path, data: bytes, *, overwrite: bool = False) -> Path:
    """Write archive bytes to `path` atomically (a temp file renamed into place)."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise SerializationError(f"'{p}' already exists; pass overwrite=True to replace it")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(p)
    return p


def read_archive(path: str | Path) -> bytes:
    """Read archive bytes from `path`, with a clear error when it is missing."""
    p = Path(path)
    if not p.is_file():
        raise SerializationError(f"No saved model at '{p}' (file not found). Check the path or save the model first.")
    return p.read_bytes()
