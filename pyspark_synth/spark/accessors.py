"""The `df.synth` and `spark.synth` accessors: one-line shortcuts to the package's plain functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pyspark_synth.errors import SynthError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from pyspark_synth.metadata import Metadata
    from pyspark_synth.spark.metadata_detection import DetectionReport

__all__ = ["DataFrameSynth", "SessionSynth", "register_accessor", "register_all"]

ACCESSOR_NAME = "synth"


class _Namespace:
    """A descriptor that builds the accessor object for the instance it is read from."""

    def __init__(self, accessor: type) -> None:
        self._accessor = accessor

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self._accessor
        return self._accessor(obj)


def register_accessor(cls: type, name: str, accessor: type) -> None:
    """Attach `accessor` to `cls` as attribute `name`, refusing to shadow an existing attribute.

    Registering the same accessor class twice is a no-op (so re-importing is safe).

    Raises:
        SynthError: `cls` already has an attribute `name` that is not this accessor.
    """
    existing = cls.__dict__.get(name)
    if isinstance(existing, _Namespace) and existing._accessor.__qualname__ == accessor.__qualname__:
        return
    if hasattr(cls, name):
        raise SynthError(
            f"Cannot register accessor '{name}' on {cls.__module__}.{cls.__qualname__}: the class already has "
            f"an attribute '{name}'. pyspark_synth refuses to shadow it; use the plain functions instead."
        )
    setattr(cls, name, _Namespace(accessor))


class DataFrameSynth:
    """`df.synth`: synthesis operations on one DataFrame."""

    def __init__(self, df: DataFrame) -> None:
        self._df = df

    def detect_metadata(self, name: str = "table", **kwargs: Any) -> Metadata:
        """Detect the metadata of this DataFrame as a one-table database called `name`."""
        from pyspark_synth.spark.metadata_detection import detect_metadata

        return detect_metadata({name: self._df}, **kwargs).metadata

    def fit(self, **kwargs: Any) -> Any:
        """Fit this table's model and store it in the registry; see spark.fit_table.fit_table."""
        from pyspark_synth.spark.fit_table import fit_table

        return fit_table(self._df, **kwargs)

    def detect_pii(self, **kwargs: Any) -> Any:
        """Detect PII columns on a bounded sample; see spark.pii.detect_pii."""
        from pyspark_synth.spark.pii import detect_pii

        return detect_pii(self._df, **kwargs)

    def scrub(self, rules: Any, **kwargs: Any) -> DataFrame:
        """Drop, mask, hash or fake PII columns by their rules; see spark.pii.scrub."""
        from pyspark_synth.spark.pii import scrub

        return scrub(self._df, rules, **kwargs)


class SessionSynth:
    """`spark.synth`: synthesis operations that need the session (metadata, sampling, writing)."""

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark

    def detect_metadata(self, tables: Mapping[str, Any], **kwargs: Any) -> DetectionReport:
        """Detect metadata for `{name: DataFrame or table name}`; see spark.metadata_detection.detect_metadata."""
        from pyspark_synth.spark.metadata_detection import detect_metadata

        return detect_metadata(tables, spark=self._spark, **kwargs)

    def save_metadata(self, metadata: Metadata, table: str | None = None, *, name: str = "default") -> str:
        """Store metadata in the catalog table; see io.catalog.save_metadata."""
        from pyspark_synth.io.catalog import save_metadata

        return save_metadata(self._spark, metadata, table, name=name)

    def load_metadata(self, table: str | None = None, *, name: str = "default") -> Metadata:
        """Load metadata from the catalog table; see io.catalog.load_metadata."""
        from pyspark_synth.io.catalog import load_metadata

        return load_metadata(self._spark, table, name=name)

    def sample(self, table: str | None = None, num_rows: Any = None, **kwargs: Any) -> Any:
        """Generate one fitted table (`table` given) as a lazy DataFrame (see spark.sample_table.sample_table),
        or a whole database (`num_rows={root: n}`, `scale=` or `metadata=`) as `{table: DataFrame}`
        (see spark.sample_database.sample_database)."""
        if table is None or isinstance(num_rows, Mapping):
            from pyspark_synth.spark.sample_database import sample_database

            return sample_database(self._spark, kwargs.pop("metadata", None), num_rows, **kwargs)
        from pyspark_synth.spark.sample_table import sample_table

        return sample_table(self._spark, table, num_rows, **kwargs)

    def fit(self, metadata: Metadata, tables: Mapping[str, Any], **kwargs: Any) -> Any:
        """Fit every table of a database; see spark.fit_database.fit_database."""
        from pyspark_synth.spark.fit_database import fit_database

        return fit_database(self._spark, metadata, tables, **kwargs)

    def explain(self, metadata: Metadata | None = None, num_rows: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
        """What sampling the fitted database will do, as text (no Spark job); see spark.sample_database.explain."""
        from pyspark_synth.spark.sample_database import explain

        return explain(self._spark, metadata, num_rows, **kwargs)

    def sample_children(self, table: str, parents: DataFrame, **kwargs: Any) -> DataFrame:
        """Generate a child table from generated parent rows; see spark.sample_database.sample_children."""
        from pyspark_synth.spark.sample_database import sample_children

        return sample_children(self._spark, table, parents, **kwargs)

    def write(self, tables: Mapping[str, DataFrame], path: str | None = None, **kwargs: Any) -> dict[str, str]:
        """Write generated tables as Delta (default) or Parquet; see io.writers.write_tables."""
        from pyspark_synth.io.writers import write_tables

        return write_tables(tables, path, **kwargs)

    def scan_leaks(self, real: DataFrame, synthetic: DataFrame, **kwargs: Any) -> Any:
        """Find original PII values that appear verbatim in synthetic data; see spark.pii.scan_leaks."""
        from pyspark_synth.spark.pii import scan_leaks

        return scan_leaks(real, synthetic, spark=self._spark, **kwargs)

    def check_foreign_keys(self, metadata: Metadata, tables: Mapping[str, DataFrame]) -> list:
        """Count orphans of every foreign key; see spark.metadata_detection.check_metadata_against_data."""
        from pyspark_synth.spark.metadata_detection import check_metadata_against_data

        return check_metadata_against_data(metadata, tables)

    def validate(self, real: Any, synthetic: Any, metadata: Metadata | None = None, **kw: Any) -> Any:
        """Compare synthetic with real data (scores, checks, report); see validation.validate."""
        from pyspark_synth.validation.validate import validate

        return validate(real, synthetic, metadata, **kw)

    def activate(self, **kwargs: Any) -> Any:
        """Turn on `CALL synth.*` procedures and `synth_sample(...)` in SQL; see spark.sql.activate."""
        from pyspark_synth.spark.sql import activate

        return activate(self._spark, **kwargs)


def register_all() -> None:
    """Register `synth` on the classic and Spark Connect DataFrame and SparkSession classes."""
    from pyspark.sql.dataframe import DataFrame
    from pyspark.sql.session import SparkSession

    register_accessor(DataFrame, ACCESSOR_NAME, DataFrameSynth)
    register_accessor(SparkSession, ACCESSOR_NAME, SessionSynth)
    try:  # Spark Connect's session is a separate class; its DataFrame subclasses the base one
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except Exception:  # noqa: BLE001 - connect extras (grpc, ...) not installed
        return
    register_accessor(ConnectSession, ACCESSOR_NAME, SessionSynth)
