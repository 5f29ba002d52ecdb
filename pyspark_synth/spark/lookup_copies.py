"""Lookup tables copied as they are, and the keys to them learned as columns of their children.

A code list (chinook's media types and genres, northwind's categories, nycflights13's airlines)
is public reference data, not people: its synthetic copy is the table itself. Generating it from
a model loses what makes it useful: which code goes with which label. And a child's key to it is
then dealt like a key to any parent, independent of the child's other columns, so a track's genre
no longer goes with its length, nor a flight's carrier with its route.

So `fit_database` copies a lookup table into its spec (backend "copy", `TableSpec.copied`):
its rows come back exactly, keys included, at any scale. A child's foreign key to it becomes one
more column of the child's model (a categorical of the real codes, learned jointly with the
child's other columns and its parent's context); every code the model draws is a key of the
copy, so the key always resolves.

A table is copied when it is a lookup table by `validation.lookups`' rule (at most 100 rows,
referenced by a foreign key, each of its columns a different value on every row), has no
foreign key itself, the privacy step left every column as it is (under the default `pii`, a
column detected as personal data is faked or hashed, so a handful of staff is never copied),
differential privacy is off, and every column is
of a type its JSON copy restores exactly (text, integers, booleans, floats, dates, timestamps). A
key to it is learned when its columns are in no other key of the child (its primary key or
another foreign key) and the child does not name the lookup as its driving parent (nor, with
`parent_context_cols`, take its context from it by default).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pyspark_synth.metadata import ForeignKey, Metadata, Table
from pyspark_synth.spec import CopiedRows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["copied_rows", "copyable", "learned_keys", "model_metadata"]

# Spark types whose values come back exactly from their JSON copy
_COPYABLE_TYPES = {"string", "varchar", "char", "byte", "short", "integer", "long", "boolean", "float", "double",
                   "date", "timestamp", "timestamp_ntz"}


def copyable(df: DataFrame, table: Table, private: Any) -> tuple[CopiedRows | None, str]:
    """The rows of lookup table `table` to copy, or None with the reason it is modelled instead.

    `private` is the table's `PrivateTable` (the privacy step's account of it).
    """
    from pyspark_synth.spec import schema_fields

    if table.foreign_keys:
        return None, "it has foreign keys of its own"
    if private.columns or private.fake_types:
        return None, "the privacy step changes some of its columns"
    if private.differential_privacy is not None:
        return None, "differential privacy is on"
    types = dict(schema_fields(df.schema.json()))
    odd = [c for c, t in types.items() if t not in _COPYABLE_TYPES]
    if odd:
        return None, f"columns {odd} are of types its copy would not keep exactly"
    pdf = df.toPandas()
    return copied_rows(pdf, list(table.primary_key) or list(pdf.columns)), ""


def copied_rows(pdf: Any, order: list[str]) -> CopiedRows:
    """The rows of `pdf` as JSON values, sorted by the `order` columns (the same copy in any layout)."""
    pdf = pdf.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)
    rows = tuple(tuple(_json_value(v) for v in row) for row in pdf.itertuples(index=False, name=None))
    return CopiedRows(columns=tuple(str(c) for c in pdf.columns), rows=rows)


def _json_value(v: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(v, np.generic):
        v = v.item()
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, dt.date):  # datetimes and pandas Timestamps too
        return v.isoformat()
    if isinstance(v, float) and math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def learned_keys(metadata: Metadata, copies: Mapping[str, Any]) -> dict[str, tuple[ForeignKey, ...]]:
    """`{child: its foreign keys to copied lookup tables that its model learns as columns}`."""
    out: dict[str, tuple[ForeignKey, ...]] = {}
    for name, t in metadata.tables.items():
        keys = []
        for fk in t.foreign_keys:
            if fk.parent_table not in copies or fk.parent_table == name:
                continue
            others = {c for o in t.foreign_keys if o is not fk for c in o.columns} | set(t.primary_key)
            if set(fk.columns) & others or t.driving_parent == fk.parent_table:
                continue
            if t.parent_context_cols is not None and t.driving_parent is None and t.foreign_keys[0] is fk:
                continue  # its context columns name this parent's columns by default
            keys.append(fk)
        if keys:
            out[name] = tuple(keys)
    return out


def model_metadata(metadata: Metadata, learned: Mapping[str, tuple[ForeignKey, ...]]) -> Metadata:
    """`metadata` as the models see it: each learned key is no foreign key but a categorical column."""
    if not learned:
        return metadata
    tables = dict(metadata.tables)
    for name, keys in learned.items():
        t = tables[name]
        cols = {c for fk in keys for c in fk.columns}
        columns = tuple(c.model_copy(update={"type": "categorical"}) if c.name in cols else c for c in t.columns)
        tables[name] = t.model_copy(update={"foreign_keys": tuple(fk for fk in t.foreign_keys if fk not in keys),
                                            "columns": columns})
    md = Metadata()
    md.tables = tables
    return md.validate()
