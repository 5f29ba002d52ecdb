"""Deprecated alias of `pyspark_synth.relational.primary_keys`, where this module's contents moved; import from there.

Kept so code written for earlier versions runs (with a DeprecationWarning); nothing in the package
imports it.
"""

from __future__ import annotations

import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    from pyspark_synth.relational import primary_keys as target

    if name.startswith("__"):
        raise AttributeError(name)
    warnings.warn(f"pyspark_synth.relational.keys is deprecated: import {name} from pyspark_synth.relational.primary_keys", DeprecationWarning, stacklevel=2)
    return getattr(target, name)
