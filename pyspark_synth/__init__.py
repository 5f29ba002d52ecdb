"""pyspark_synth: learn a relational database and generate a synthetic copy of it at Spark scale.

Importing the package registers the `df.synth` and `spark.synth` accessors (its only side effect);
it does not start a JVM.
"""

from __future__ import annotations

from pyspark_synth._log import get_logger, set_log_level
from pyspark_synth._version import __version__
from pyspark_synth.errors import (
    CycleError,
    DataError,
    ForeignKeyError,
    MetadataError,
    NotFittedError,
    PrivacyError,
    SerializationError,
    SynthError,
)
from pyspark_synth.interface import Synthesizer
from pyspark_synth.io.catalog import load_metadata, save_metadata
from pyspark_synth.metadata import Column, Constraint, ForeignKey, Metadata, PIIRule, Table
from pyspark_synth.privacy.config import PrivacyConfig
from pyspark_synth.spark.accessors import register_all as _register_all
from pyspark_synth.spark.detect import check_metadata_against_data, detect_metadata

__all__ = [
    "Column",
    "Constraint",
    "CycleError",
    "DataError",
    "ForeignKey",
    "ForeignKeyError",
    "Metadata",
    "MetadataError",
    "NotFittedError",
    "PIIRule",
    "PrivacyConfig",
    "PrivacyError",
    "SerializationError",
    "SynthError",
    "Synthesizer",
    "Table",
    "__version__",
    "check_metadata_against_data",
    "detect_metadata",
    "get_logger",
    "load_metadata",
    "save_metadata",
    "set_log_level",
]

_register_all()
