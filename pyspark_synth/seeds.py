"""Deterministic seed derivation: every per-table, per-column and per-block seed is a pure function."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

__all__ = ["derive_seed", "hash_uniform", "resolve_seed"]

_MASK = (1 << 63) - 1


def derive_seed(seed: int, *parts: object) -> int:
    """Derive a child seed from a root seed and any labels (table name, column, block id).

    The result depends only on the arguments (not on process, platform or hash randomisation),
    so the same inputs give the same stream of random numbers anywhere in a cluster.

    Args:
        seed: The root seed given to a public entry point.
        *parts: Labels that name the derived stream, e.g. ("orders", "block", 17).

    Returns:
        A non-negative 63-bit integer usable by numpy and torch generators.
    """
    h = hashlib.blake2b(digest_size=8)
    h.update(str(int(seed)).encode())
    for part in parts:
        h.update(b"\x1f")
        h.update(repr(part).encode())
    return int.from_bytes(h.digest(), "little") & _MASK


def resolve_seed(seed: int | None) -> int:
    """Return `seed`, or a fresh random seed when it is None (to be logged so a run can be repeated)."""
    if seed is None:
        return secrets.randbits(62)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}: {seed!r}")
    return int(seed)


def hash_uniform(seed: int, label: str, keys: Any) -> Any:
    """Uniform numbers in [0, 1), one per row of `keys`, fixed by (seed, label, the row's values).

    Used where a per-row random draw must not depend on partitioning or row order: the draw is a
    keyed hash of the row's key values (cast to text, so int32 and int64 keys agree).

    Args:
        seed: Root seed.
        label: Names the stream (e.g. "orders/count").
        keys: A pandas DataFrame or Series of key values.
    """
    import numpy as np
    import pandas as pd

    frame = keys.to_frame() if isinstance(keys, pd.Series) else keys
    frame = frame.astype(str).reset_index(drop=True)
    hash_key = f"{derive_seed(seed, label):016x}"[:16]
    h = pd.util.hash_pandas_object(frame, index=False, hash_key=hash_key).to_numpy(dtype=np.uint64)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
