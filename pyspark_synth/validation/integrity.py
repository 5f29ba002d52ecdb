"""Referential integrity and key uniqueness as Spark aggregations (left-anti joins, grouped counts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from pyspark_synth.metadata import ForeignKey
from pyspark_synth.validation.kinds import quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["FKCheck", "check_foreign_key", "duplicate_key_count", "orphan_rows"]


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


def duplicate_key_count(df: DataFrame, key: tuple[str, ...] | list[str]) -> int:
    """Number of rows whose key value occurs more than once (0 for a valid primary key)."""
    from pyspark.sql import functions as F

    dup = df.groupBy(*[quoted(c) for c in key]).count().where(F.col("count") > 1).agg(F.sum("count").alias("n")).first()
    return int(dup["n"] or 0)
