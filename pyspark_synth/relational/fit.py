"""Deprecated alias of `pyspark_synth.spark.fit_database`, where this module's contents moved; import from there.

Kept so code written for earlier versions runs (with a DeprecationWarning); nothing in the package
imports it.
"""

from __future__ import annotations

import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    from pyspark_synth.spark import fit_database as target

    if name.startswith("__"):
        raise AttributeError(name)
    warnings.warn(f"pyspark_synth.relational.fit is deprecated: import {name} from pyspark_synth.spark.fit_database", DeprecationWarning, stacklevel=2)
    return getattr(target, name)
