"""Which columns to compare and how: comparison kinds from metadata or Spark types, as Column expressions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame
    from pyspark.sql.types import DataType

    from pyspark_synth.metadata import Table

__all__ = ["ColumnKind", "column_kinds", "numeric_expr", "category_expr", "quoted"]

NUMERIC = "numerical"
DATETIME = "datetime"
CATEGORICAL = "categorical"
BOOLEAN = "boolean"


@dataclass(frozen=True)
class ColumnKind:
    """A column to compare: its name, its comparison kind and its Spark type name.

    `kind` is numerical, datetime (compared as numbers: seconds since the epoch), categorical or
    boolean (both compared by category frequencies).
    """

    name: str
    kind: str
    spark_type: str

    @property
    def is_numeric(self) -> bool:
        """True for numerical and datetime columns (compared with KS and Pearson)."""
        return self.kind in (NUMERIC, DATETIME)


def _infer(dt: DataType) -> str | None:
    from pyspark.sql import types as T

    if isinstance(dt, T.BooleanType):
        return BOOLEAN
    if isinstance(dt, T.NumericType):
        return NUMERIC
    if isinstance(dt, (T.DateType, T.TimestampType, T.TimestampNTZType)):
        return DATETIME
    if isinstance(dt, T.StringType):
        return CATEGORICAL
    return None


def column_kinds(
    real: DataFrame, synthetic: DataFrame, table: Table | None = None
) -> tuple[list[ColumnKind], list[str], list[str]]:
    """Decide how each column of a table is compared.

    With metadata, numerical/datetime/categorical/boolean columns are compared and id and text
    columns are skipped; without (or for columns the metadata does not list) the Spark type
    decides: numbers are numerical, strings categorical, dates and timestamps datetime, booleans
    boolean; other types (binary, arrays, maps, structs) are skipped.

    Returns:
        (columns to compare, names skipped, names of real columns missing from the synthetic data)
    """
    real_types = {f.name: f.dataType for f in real.schema.fields}
    synth_names = set(synthetic.columns)
    declared = {c.name: c.type for c in table.columns} if table is not None else {}
    keys = table.key_columns if table is not None else set()
    out: list[ColumnKind] = []
    skipped: list[str] = []
    missing: list[str] = []
    for name, dt in real_types.items():
        if name not in synth_names:
            missing.append(name)
            continue
        sem = declared.get(name)
        if name in keys or sem in ("id", "text"):
            skipped.append(name)
            continue
        inferred = _infer(dt)
        if sem in (CATEGORICAL, BOOLEAN):
            kind = sem
        else:
            kind = inferred
        if kind is None:
            skipped.append(name)
            continue
        out.append(ColumnKind(name, kind, dt.simpleString()))
    return out, skipped, missing


def quoted(name: str) -> SparkColumn:
    """A column reference that works for any name (dots, spaces, backticks, markup)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def numeric_expr(col: ColumnKind) -> SparkColumn:
    """The column as a double: numbers as they are, dates and timestamps as seconds since the epoch."""
    from pyspark.sql import functions as F

    c = quoted(col.name)
    if col.kind == DATETIME:
        if col.spark_type == "date":
            return F.unix_date(c).cast("double") * 86400.0
        return F.unix_micros(c.cast("timestamp")).cast("double") / 1e6
    return c.cast("double")


def category_expr(col: ColumnKind) -> SparkColumn:
    """The column as a string category (booleans as 'true'/'false'; null stays null)."""
    return quoted(col.name).cast("string")
