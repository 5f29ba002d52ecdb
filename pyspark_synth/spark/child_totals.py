"""Children per parent whose total is the data's: the choice among candidate draws, then an exact match.

Every generated parent draws its number of children several times from its law (the linkage
model's leaf, or the table's sequence model). The draw whose total is nearest the expected total
(the parents times the real children per parent, rounded) is kept; what is left of the gap `d` is
then dealt out exactly:

- each parent has a weight: for missing children its count capped by its room below the real most
  children per parent (so parents without children keep none and heavy parents take most); for
  children too many, its room above the real fewest. When no parent has weight for missing
  children (every parent drew none, or a law of at most one child per parent), the weight is the
  room, parents without children included;
- the parents are put in a random order (a keyed hash of the parent's key), and parent `i` moves
  by the number of integers in `(|d| S_(i-1), |d| S_i] / W + 1/2` (systematic sampling), where `S`
  is the running sum of the weights in that order and `W` their total. Each parent moves by its
  share `|d| w_i / W` rounded down or up, never by more than its room, and the moves add up to
  `|d|` exactly, or to `W` where the gap is larger;
- what a pass could not deal (weights smaller than the gap) is dealt by the next, three at most,
  the last one weighing parents with children by their room, so the total is exact unless every
  parent with children is at the real most.

The sums are of integers (exact in any layout), the running sum is taken per bucket of parents
with the buckets' offsets from a window over the buckets (as the row ids are), and every step is a
plan, so nothing runs until the counts are used (`plans_only` pipelines build the same rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark_synth.seeds import derive_seed
from pyspark_synth.spark.checkpoints import kept

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["matched_counts"]

COUNT = "__count"


def matched_counts(counted: DataFrame, columns: list[str], keys: list[str], tries: list[str], *, mean: float,
                   children_range: tuple[int, int], seed: int, table: str, n_buckets: int) -> DataFrame:
    """Parents (`columns`, their key `keys` among them) with a `__count` whose total is
    `round(parents * mean)`: of the candidate draws `tries` the one nearest it, with the gap left
    dealt out as the module docstring says (within `children_range`, the real fewest and most
    children per parent)."""
    from pyspark.sql import functions as F

    low, high = children_range
    n = len(tries)
    totals = counted.agg(F.round(F.count(F.lit(1)) * F.lit(float(mean))).cast("long").alias("__E"),
                         *[F.sum(t).cast("long").alias(f"__T{a}") for a, t in enumerate(tries)])
    gaps = ", ".join(f"struct(abs(__T{a} - __E) AS gap, {a} AS a)" for a in range(n))
    chosen = totals.selectExpr(f"array_min(array({gaps})).a AS __try")
    counts = counted.crossJoin(chosen).select(
        *columns, F.expr(f"element_at(array({', '.join(tries)}), __try + 1)").cast("long").alias(COUNT))
    expected = totals.select("__E")
    for last in (False, False, True):  # a pass fills what the weights allow; the last one by room
        counts = _deal(counts, expected, columns, keys, low, high, last=last, seed=seed, table=table,
                       n_buckets=n_buckets)
        counts = counts if last else kept(counts)  # (a plan only, inside plans_only())
    return counts.select(*columns, F.col(COUNT).cast("int").alias(COUNT))


def _deal(counts: DataFrame, expected: DataFrame, columns: list[str], keys: list[str], low: int, high: int, *,
          last: bool, seed: int, table: str, n_buckets: int) -> DataFrame:
    """One pass: the gap between `expected` (one row, `__E`) and the counts' total dealt out by
    weight (proportional to the count, capped by the room; by the room on the `last` pass)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    gaps = counts.agg(F.sum(COUNT).cast("long").alias("__T")).crossJoin(expected).select(
        (F.col("__E") - F.coalesce(F.col("__T"), F.lit(0))).alias("__gap"))
    picked = counts.crossJoin(gaps)
    count, gap = F.col(COUNT), F.col("__gap")
    room = F.when(gap > 0, F.greatest(F.lit(high) - count, F.lit(0))).otherwise(F.greatest(count - F.lit(low), F.lit(0)))
    first = F.when(gap <= 0, room).when(count == 0, F.lit(0)).otherwise(room if last else F.least(count, room))
    weighed = picked.withColumn("__room", room).withColumn("__first_w", first)
    sums = weighed.agg(F.sum("__first_w").cast("long").alias("__first_sum"), F.sum("__room").cast("long").alias("__room_sum"))
    weight = F.when(F.col("__first_sum") > 0, F.col("__first_w")).when(gap > 0, F.col("__room")).otherwise(F.lit(0))
    total = F.when(F.col("__first_sum") > 0, F.col("__first_sum")).when(gap > 0, F.col("__room_sum")).otherwise(F.lit(0))
    weighed = weighed.crossJoin(sums).withColumn("__wt", weight.cast("long")).withColumn("__wsum", total.cast("long"))
    order = F.xxhash64(*[F.col(k) for k in keys], F.lit(derive_seed(seed, table, "count match")))
    bucket = F.pmod(F.xxhash64(*[F.col(k) for k in keys], F.lit(derive_seed(seed, table, "count match buckets"))),
                    F.lit(max(1, n_buckets)))
    ranked = weighed.withColumn("__o", order).withColumn("__b", bucket)
    within = Window.partitionBy("__b").orderBy("__o", *keys).rowsBetween(Window.unboundedPreceding, Window.currentRow)
    ranked = ranked.withColumn("__s_in", F.sum("__wt").over(within))
    per_bucket = ranked.groupBy("__b").agg(F.sum("__wt").alias("__bw"))
    before = Window.orderBy("__b").rowsBetween(Window.unboundedPreceding, -1)
    offsets = per_bucket.select("__b", F.coalesce(F.sum("__bw").over(before), F.lit(0)).cast("long").alias("__off"))
    ranked = ranked.join(offsets, on="__b")
    # parent i moves by the integers in (|d| S_(i-1) + W/2, |d| S_i + W/2] divided by W (all integers)
    ranked = (ranked.withColumn("__size", F.least(F.abs(gap), F.col("__wsum")))
              .withColumn("__s", F.col("__off") + F.col("__s_in")))
    dec = "decimal(38,0)"
    step = (f"((CAST(__size AS {dec}) * CAST(__s AS {dec}) + CAST(__wsum div 2 AS {dec})) div CAST(__wsum AS {dec}))"
            f" - ((CAST(__size AS {dec}) * CAST(__s - __wt AS {dec}) + CAST(__wsum div 2 AS {dec})) div CAST(__wsum AS {dec}))")
    move = F.when(F.col("__wsum") > 0, F.expr(step)).otherwise(F.lit(0))
    new = F.when(gap > 0, count + move).otherwise(count - move)
    return ranked.select(*columns, new.alias(COUNT))
