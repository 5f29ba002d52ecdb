"""pyspark_synth: learn a relational database and generate a synthetic copy of it at Spark scale.

Importing the package registers the `df.synth` and `spark.synth` accessors (its only side effect);
it does not start a JVM.
"""

from __future__ import annotations

from pyspark_synth._log import get_logger, set_log_level
from pyspark_synth._version import __version__
from pyspark_synth.distributed import DistributedTraining
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
from pyspark_synth.io.catalog_registry import CatalogRegistry, migrate_registry
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.io.writers import write_table, write_tables
from pyspark_synth.metadata import Column, Constraint, ForeignKey, Metadata, PIIRule, Table
from pyspark_synth.privacy.config import PrivacyConfig
from pyspark_synth.spark.accessors import register_all as _register_all
from pyspark_synth.spark.fit_database import FitReport, fit_database
from pyspark_synth.spark.fit_table import fit_table
from pyspark_synth.spark.metadata_detection import check_metadata_against_data, detect_metadata
from pyspark_synth.spark.sample_database import (
    database_spec,
    explain,
    sample_children,
    sample_database,
)
from pyspark_synth.spark.sample_table import sample_table
from pyspark_synth.spec import DatabaseSpec, TableSpec

__all__ = [
    "CatalogRegistry",
    "Column",
    "Constraint",
    "CycleError",
    "DataError",
    "DatabaseSpec",
    "DistributedTraining",
    "FitReport",
    "ForeignKey",
    "ForeignKeyError",
    "Metadata",
    "MetadataError",
    "ModelRegistry",
    "NotFittedError",
    "PIIRule",
    "PrivacyConfig",
    "PrivacyError",
    "SerializationError",
    "SynthError",
    "Synthesizer",
    "Table",
    "TableSpec",
    "__version__",
    "check_metadata_against_data",
    "database_spec",
    "detect_metadata",
    "explain",
    "fit_database",
    "fit_table",
    "get_logger",
    "load_metadata",
    "migrate_registry",
    "sample_children",
    "sample_database",
    "sample_table",
    "save_metadata",
    "set_log_level",
    "write_table",
    "write_tables",
]

_register_all()
