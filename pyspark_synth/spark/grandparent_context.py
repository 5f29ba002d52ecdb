"""Joining a grandparent's context columns onto its children's rows, at fitting and at sampling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pyspark_synth.errors import DataError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pyspark_synth.spec import InheritedContext

__all__ = ["with_inherited"]


def with_inherited(parents: DataFrame, grandparents: DataFrame, inherited: Sequence[InheritedContext], *,
                   table: str) -> DataFrame:
    """The parent rows with the grandparent's columns `inherited` joined on (a left join through
    the parent's foreign key, under each column's `name`): a parent whose key is null, or whose
    grandparent is missing, gets nulls, as at fitting.

    Args:
        parents: The parent rows (real ones at fitting, generated ones at sampling).
        grandparents: The grandparent rows of the same kind.
        inherited: The columns to join, all through one foreign key of the parent.
        table: The child table whose context they are (named in errors).

    Raises:
        DataError: A key or column is missing from the rows, or the columns come through several keys.
    """
    from pyspark.sql import functions as F

    if not inherited:
        return parents
    keys = {(tuple(i.columns), tuple(i.parent_columns), i.table) for i in inherited}
    if len(keys) != 1:
        raise DataError(f"Table '{table}': inherited context columns come through several keys {sorted(keys)}; "
                        "they must come through the parent's one driving key")
    (cols, pcols, gp), = keys
    missing = [c for c in cols if c not in parents.columns]
    missing_gp = [c for c in [*pcols, *(i.column for i in inherited)] if c not in grandparents.columns]
    if missing or missing_gp:
        raise DataError(f"Table '{table}' is conditioned on columns of '{gp}' ({[i.column for i in inherited]}) "
                        f"through the parent's key {list(cols)}: the parent rows lack {missing}, the '{gp}' rows "
                        f"lack {missing_gp}. Pass the generated '{gp}' rows with every column.")
    g = [f"__gk{i}" for i in range(len(pcols))]
    side = grandparents.select(*[F.col(f"`{p}`").alias(k) for p, k in zip(pcols, g, strict=True)],
                               *[F.col(f"`{i.column}`").alias(i.name) for i in inherited]).dropDuplicates(g)
    cond = [parents[f"`{c}`"] == side[k] for c, k in zip(cols, g, strict=True)]
    return parents.join(side, on=cond, how="left").drop(*g)
