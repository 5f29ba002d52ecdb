"""Referential integrity and key uniqueness as Spark aggregations (left-anti joins, grouped counts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from pyspark_synth.errors import DataError
from pyspark_synth.metadata import ForeignKey
from pyspark_synth.validation.kinds import quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = [
    "DEFAULT_KEY_POLICY",
    "KEY_POLICIES",
    "FKCheck",
    "KeyCheck",
    "check_foreign_key",
    "check_key_policy",
    "check_primary_key",
    "duplicate_key_count",
    "null_key_failures",
    "null_key_rows",
    "orphan_rows",
    "unique_key_rows",
]

# What fitting does with a primary key that has null or repeated values in the real data:
# "drop" drops the rows with a null key and keeps one row per repeated value (reported),
# "refuse" raises before any model is trained.
KEY_POLICIES: tuple[str, ...] = ("drop", "refuse")
DEFAULT_KEY_POLICY = "drop"
_EXAMPLES = 5


@dataclass(frozen=True)
class FKCheck:
    """The result of checking one foreign key against its parent."""

    table: str
    fk: str
    child_rows: int
    null_rows: int
    orphan_rows: int
    orphan_distinct: int

    @property
    def orphan_rate(self) -> float:
        """Share of non-null child keys with no parent row."""
        denom = self.child_rows - self.null_rows
        return self.orphan_rows / denom if denom else 0.0

    @property
    def ok(self) -> bool:
        """True when every non-null key resolves."""
        return self.orphan_rows == 0

    def to_dict(self) -> dict:
        """Plain dictionary, with the orphan rate."""
        return {**asdict(self), "orphan_rate": self.orphan_rate}

    def message(self) -> str:
        """One readable line."""
        return (
            f"Foreign key '{self.table}.{self.fk}': {self.orphan_rows} of {self.child_rows - self.null_rows} non-null "
            f"rows ({self.orphan_rate:.1%}, {self.orphan_distinct} distinct values) have no parent row"
        )


def _escaped(name: str) -> str:
    """A column name as `df[...]` resolves it exactly (dots and backticks quoted)."""
    return "`" + name.replace("`", "``") + "`"


def orphan_rows(child: DataFrame, parent: DataFrame, fk: ForeignKey) -> DataFrame:
    """Child rows whose (non-null) foreign key has no matching parent key (a left-anti join)."""

    renamed = parent.select(*[quoted(p).alias(f"__pk_{i}") for i, p in enumerate(fk.parent_columns)]).distinct()
    cond = [child[_escaped(c)] == renamed[f"__pk_{i}"] for i, c in enumerate(fk.columns)]
    not_null = None
    for c in fk.columns:
        e = quoted(c).isNotNull()
        not_null = e if not_null is None else not_null & e
    return child.where(not_null).join(renamed, on=cond, how="left_anti")


def check_foreign_key(table: str, child: DataFrame, parent: DataFrame, fk: ForeignKey) -> FKCheck:
    """Count the child rows, null keys and orphans of one foreign key with Spark aggregations."""
    from pyspark.sql import functions as F

    any_null = None
    for c in fk.columns:
        e = quoted(c).isNull()
        any_null = e if any_null is None else any_null | e
    counts = child.agg(F.count(F.lit(1)).alias("n"), F.sum(F.when(any_null, 1).otherwise(0)).alias("nulls")).first()
    orphans = orphan_rows(child, parent, fk)
    o = orphans.agg(
        F.count(F.lit(1)).alias("rows"), F.count_distinct(*[quoted(c) for c in fk.columns]).alias("distinct")
    ).first()
    label = fk.columns[0] if len(fk.columns) == 1 else "(" + ", ".join(fk.columns) + ")"
    return FKCheck(
        table=table,
        fk=f"{label} -> {fk.parent_table}",
        child_rows=int(counts["n"]),
        null_rows=int(counts["nulls"] or 0),
        orphan_rows=int(o["rows"]),
        orphan_distinct=int(o["distinct"]),
    )


def null_key_rows(df: DataFrame, columns: Sequence[str]) -> int:
    """Rows of `df` with a null in any of `columns` (a foreign key that points nowhere)."""
    from pyspark.sql import functions as F

    any_null = None
    for c in columns:
        e = quoted(c).isNull()
        any_null = e if any_null is None else any_null | e
    row = df.agg(F.sum(F.when(any_null, 1).otherwise(0)).alias("z")).first()
    return int(row["z"] or 0)


def null_key_failures(real_null_rows: int, synthetic: FKCheck) -> int:
    """Synthetic rows that fail a foreign key's null check: a key null where no real row's is.

    An orphan check skips null keys (a null key references nothing), so a key left null in every
    synthetic row would pass it with 0 orphans; where the real key is never null each such row
    counts as a failure. Where the real key has nulls, synthetic nulls are expected (0).
    """
    return synthetic.null_rows if real_null_rows == 0 else 0


def duplicate_key_count(df: DataFrame, key: tuple[str, ...] | list[str]) -> int:
    """Number of rows whose key value occurs more than once (0 for a valid primary key)."""
    from pyspark.sql import functions as F

    dup = df.groupBy(*[quoted(c) for c in key]).count().where(F.col("count") > 1).agg(F.sum("count").alias("n")).first()
    return int(dup["n"] or 0)


def check_key_policy(policy: Any, where: str = "on_duplicate_key") -> str:
    """The policy for null and repeated primary-key values, checked (no Spark job).

    Raises:
        DataError: `policy` is not one of `KEY_POLICIES`.
    """
    if not isinstance(policy, str) or policy not in KEY_POLICIES:
        raise DataError(f"{where} must be one of {list(KEY_POLICIES)}, got {policy!r}: 'drop' drops the rows with a "
                        "null key and keeps one row per repeated key value (and reports them), 'refuse' stops the fit")
    return policy


def _key_label(key: Sequence[str]) -> str:
    return key[0] if len(key) == 1 else "(" + ", ".join(key) + ")"


@dataclass(frozen=True)
class KeyCheck:
    """The result of checking one table's primary key against its rows.

    Attributes:
        table: The table.
        key: The primary-key columns.
        rows: Rows of the table.
        null_rows: Rows with a null in a key column (a null key can never be referenced).
        duplicate_rows: Rows with a non-null key whose value occurs more than once.
        duplicate_values: Distinct non-null key values that occur more than once.
        examples: A few of the repeated values (each a tuple of the key columns' values).
    """

    table: str
    key: tuple[str, ...]
    rows: int
    null_rows: int
    duplicate_rows: int
    duplicate_values: int
    examples: tuple[tuple[Any, ...], ...] = ()

    @property
    def ok(self) -> bool:
        """True when no key is null and no key value repeats."""
        return self.null_rows == 0 and self.duplicate_rows == 0

    @property
    def label(self) -> str:
        """A readable name such as "orders.order_id" or "weather.(origin, hour)"."""
        return f"{self.table}.{_key_label(self.key)}"

    @property
    def dropped_rows(self) -> int:
        """Rows the "drop" policy removes: the null-key rows and all but one row of each repeated value."""
        return self.null_rows + self.duplicate_rows - self.duplicate_values

    def to_dict(self) -> dict:
        """Plain dictionary, with the rows the "drop" policy removes."""
        return {**asdict(self), "key": list(self.key), "examples": [list(e) for e in self.examples],
                "dropped_rows": self.dropped_rows}

    def message(self) -> str:
        """One readable line."""
        parts = []
        if self.null_rows:
            parts.append(f"{self.null_rows} of {self.rows} rows ({self.null_rows / self.rows:.1%}) have a null key")
        if self.duplicate_rows:
            shown = ", ".join(str(e[0]) if len(e) == 1 else str(e) for e in self.examples)
            more = ", ..." if self.duplicate_values > len(self.examples) else ""
            parts.append(f"{self.duplicate_rows} of {self.rows} rows share {self.duplicate_values} key values "
                         f"(e.g. {shown}{more})")
        return f"Primary key '{self.label}': " + ("; ".join(parts) if parts else f"all {self.rows} rows unique")


def check_primary_key(table: str, df: DataFrame, key: Sequence[str]) -> KeyCheck:
    """Count a primary key's null and repeated values with one Spark aggregation.

    The rows are grouped by the key and the groups summed; a few repeated values are fetched
    as examples only when there are some.
    """
    from pyspark.sql import functions as F

    cols = [F.col(f"`{c}`") for c in key]
    any_null = None
    for c in cols:
        any_null = c.isNull() if any_null is None else any_null | c.isNull()
    groups = df.groupBy(*cols).agg(F.count(F.lit(1)).alias("__n")).select(*cols, "__n", any_null.alias("__null"))
    repeated = (~F.col("__null")) & (F.col("__n") > 1)
    row = groups.agg(
        F.sum("__n").alias("rows"),
        F.sum(F.when(F.col("__null"), F.col("__n")).otherwise(0)).alias("nulls"),
        F.sum(F.when(repeated, F.col("__n")).otherwise(0)).alias("dup_rows"),
        F.sum(F.when(repeated, 1).otherwise(0)).alias("dup_values"),
    ).first()
    dup_values = int(row["dup_values"] or 0)
    examples: tuple[tuple[Any, ...], ...] = ()
    if dup_values:
        found = groups.where(repeated).orderBy(F.col("__n").desc(), *cols).limit(_EXAMPLES).collect()
        examples = tuple(tuple(r[i] for i in range(len(key))) for r in found)
    return KeyCheck(table=table, key=tuple(key), rows=int(row["rows"] or 0), null_rows=int(row["nulls"] or 0),
                    duplicate_rows=int(row["dup_rows"] or 0), duplicate_values=dup_values, examples=examples)


def unique_key_rows(df: DataFrame, key: Sequence[str], seed: int = 0) -> DataFrame:
    """The rows of `df` with a non-null key, one row per key value.

    Of the rows sharing a value, the one with the smallest keyed hash of its values is kept, so
    the same row is kept on every run, however `df` is partitioned (a window over the key).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    cols = [F.col(f"`{c}`") for c in key]
    not_null = None
    for c in cols:
        not_null = c.isNotNull() if not_null is None else not_null & c.isNotNull()
    h = F.xxhash64(*[F.col(f"`{c}`") for c in df.columns], F.lit(int(seed) & (2**62 - 1)))
    rank = F.row_number().over(Window.partitionBy(*cols).orderBy(h))
    return df.where(not_null).select("*", rank.alias("__key_rank")).where("__key_rank = 1").drop("__key_rank")
