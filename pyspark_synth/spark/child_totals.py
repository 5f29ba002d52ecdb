"""Children per parent whose total is the data's: the choice among candidate draws, then an exact match.

Every generated parent draws its number of children several times from its law (the linkage
model's leaf, or the table's sequence model). The draw whose total is nearest the expected total
(the parents times the real children per parent, rounded) is kept; what is left of the gap `d` is
then dealt out exactly:

- each parent has a weight: for missing children its count capped by its room below the real most
  children of parents like it (so parents without children keep none and heavy parents take
  most); for children too many, its room above the real fewest. "Parents like it" are those of
  its linkage leaf (`LinkageModel.bounds`), every real parent for a sequence model's counts;
- the parents are put in a random order (a keyed hash of the parent's key), and parent `i` moves
  by the number of integers in `(|d| S_(i-1), |d| S_i] / W + 1/2` (systematic sampling), where `S`
  is the running sum of the weights in that order and `W` their total. Each parent moves by its
  share `|d| w_i / W` rounded down or up, never by more than its room, and the moves add up to
  `|d|` exactly, or to `W` where the gap is larger;
- what a pass could not deal (weights smaller than the gap) is dealt by the next: the count again,
  then the room of parents with children, and last, when every parent with children is at the real
  most, parents without children are filled to the real most one after the other in the keyed
  order (a few more heavy parents, as the data has them, rather than many light ones). The total
  is then exact unless every parent is at the real most (or, for children too many, the fewest).

The sums are of integers (exact in any layout), the running sum is taken per bucket of parents
with the buckets' offsets from a window over the buckets (as the row ids are), and every step is a
plan, so nothing runs until the counts are used (`plans_only` pipelines build the same rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.seeds import derive_seed
from pyspark_synth.spark.checkpoints import kept, planning_only

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["capped_groups", "matched_counts"]

_log = get_logger("child_totals")

COUNT = "__count"
# buckets of parents for the running sums: a constant, so the order of the parents (and so the
# counts) does not depend on the session's parallelism
_BUCKETS = 64
_MODES = ("count", "count", "room", "fill")  # the passes, in order (see the module docstring)


def matched_counts(counted: DataFrame, columns: list[str], keys: list[str], tries: list[str], *, mean: float,
                   children_range: tuple[int, int], seed: int, table: str) -> DataFrame:
    """Parents (`columns`, their key `keys` among them) with a `__count` whose total is
    `round(parents * mean)`: of the candidate draws `tries` the one nearest it, with the gap left
    dealt out as the module docstring says (within each parent's `__lo`..`__hi` where `counted`
    has them, else within `children_range`, the real fewest and most children per parent)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    low, high = F.lit(children_range[0]), F.lit(children_range[1])
    if {"__lo", "__hi"} <= set(counted.columns):  # each parent's own law's range (its linkage leaf)
        low, high = F.col("__lo"), F.col("__hi")
        columns = [*columns, "__lo", "__hi"]
    n = len(tries)
    linear = planning_only()
    if linear:
        # inside plans_only() nothing is kept between the passes, and a frame read twice is a plan
        # copied twice: the sums are windows over all the parents (one partition) instead of
        # aggregates joined back, so the plan grows by a few nodes a pass, not eightfold. The
        # integers and the order are the same, so are the counts.
        whole = Window.partitionBy(F.lit(0))
        counted = counted.select(
            *columns, *tries, F.round(F.count(F.lit(1)).over(whole) * F.lit(float(mean))).cast("long").alias("__E"),
            *[F.sum(t).over(whole).cast("long").alias(f"__T{a}") for a, t in enumerate(tries)])
        totals = counted
    else:
        totals = counted.agg(F.round(F.count(F.lit(1)) * F.lit(float(mean))).cast("long").alias("__E"),
                             *[F.sum(t).cast("long").alias(f"__T{a}") for a, t in enumerate(tries)])
    if linear:
        gaps = ", ".join(f"struct(abs(__T{a} - __E) AS gap, {a} AS a)" for a in range(n))
        pick = F.expr(f"element_at(array({', '.join(tries)}), array_min(array({gaps})).a + 1)")
        columns = [*columns, "__E"]
        counts = counted.select(*columns, pick.cast("long").alias(COUNT))
        for mode in _MODES:  # a pass deals what its weights allow (nothing once the gap is 0)
            counts = _deal(counts, None, columns, keys, low, high, mode=mode, seed=seed, table=table)
    else:
        # the totals in the driver (one small job): the draw nearest, as the expression above
        # picks it, and no pass at all once the gap is closed
        row = totals.first()
        target = int(row["__E"] or 0)
        drawn = [int(row[f"__T{a}"] or 0) for a in range(n)]
        best = min(range(n), key=lambda a: (abs(drawn[a] - target), a))
        counts = counted.select(*columns, F.col(tries[best]).cast("long").alias(COUNT))
        left = target - drawn[best]
        for mode in _MODES:
            if left == 0:
                break
            counts = kept(_deal(counts, left, columns, keys, low, high, mode=mode, seed=seed, table=table))
            left = target - int(counts.agg(F.sum(COUNT)).first()[0] or 0)
    return counts.select(*[c for c in columns if c not in ("__lo", "__hi", "__E")], F.col(COUNT).cast("int").alias(COUNT))


def _deal(counts: DataFrame, known_gap: int | None, columns: list[str], keys: list[str], low: Any, high: Any, *,
          mode: str, seed: int, table: str) -> DataFrame:
    """One pass: the gap (`known_gap`, known in the driver; None: `__E` minus the counts' total, in
    linear plans) dealt out by weight: proportional to the count capped by the room ("count"), to
    the room of parents with children ("room"); or ("fill") parents with room, those without
    children too, filled to the real most one after the other in the keyed order."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    # four selects a pass (each a level of the plan; a pipeline's plan is sent whole to Spark
    # Connect, whose messages have a bounded depth): the gap; each parent's weight, order and
    # bucket; the weights' total and running sum; the move
    whole = Window.partitionBy(F.lit(0))
    base = [*columns, COUNT]
    if known_gap is None:  # linear plans (see matched_counts): `counts` carries `__E`
        gap_now = F.col("__E") - F.coalesce(F.sum(COUNT).over(whole), F.lit(0))
    else:  # the gap the driver knows
        gap_now = F.lit(int(known_gap))
    picked = counts.select(*base, gap_now.cast("long").alias("__gap"))
    count, gap = F.col(COUNT), F.col("__gap")
    room = F.when(gap > 0, F.greatest(high - count, F.lit(0))).otherwise(F.greatest(count - low, F.lit(0)))
    if mode == "fill":
        first = room
    else:
        first = F.when(gap <= 0, room).when(count == 0, F.lit(0)).otherwise(room if mode == "room" else F.least(count, room))
    order = F.xxhash64(*[F.col(k) for k in keys], F.lit(derive_seed(seed, table, "count match")))
    bucket = F.pmod(F.xxhash64(*[F.col(k) for k in keys], F.lit(derive_seed(seed, table, "count match buckets"))),
                    F.lit(_BUCKETS))
    weighed = picked.select(*base, "__gap", first.cast("long").alias("__wt"), order.alias("__o"), bucket.alias("__b"))
    if known_gap is None:  # the running sum in (bucket, order, key) order, over every parent at once
        running = Window.partitionBy(F.lit(0)).orderBy("__b", "__o", *keys).rowsBetween(
            Window.unboundedPreceding, Window.currentRow)
        ranked = weighed.select("*", F.coalesce(F.sum("__wt").over(whole), F.lit(0)).cast("long").alias("__wsum"),
                                F.sum("__wt").over(running).alias("__s"))
    else:  # per bucket, plus the buckets' offsets (the same sums)
        within = Window.partitionBy("__b").orderBy("__o", *keys).rowsBetween(Window.unboundedPreceding, Window.currentRow)
        per_bucket = weighed.groupBy("__b").agg(F.sum("__wt").alias("__bw"))
        before = Window.orderBy("__b").rowsBetween(Window.unboundedPreceding, -1)
        offsets = per_bucket.select("__b", F.coalesce(F.sum("__bw").over(before), F.lit(0)).cast("long").alias("__off"))
        total = weighed.agg(F.coalesce(F.sum("__wt"), F.lit(0)).cast("long").alias("__wsum"))
        ranked = weighed.join(offsets, on="__b").crossJoin(total).select(
            *base, "__gap", "__wt", "__wsum", (F.col("__off") + F.sum("__wt").over(within)).alias("__s"))
    # parent i moves by the integers in (|d| S_(i-1) + W/2, |d| S_i + W/2] divided by W (all integers)
    size = "least(abs(__gap), __wsum)"
    step = _systematic(size, "__s", "__wt", "__wsum")
    if mode == "fill":  # parent i takes its room, or what is left of the gap after the ones before it
        step = f"least(__wt, greatest({size} - (__s - __wt), 0))"
    move = F.when(F.col("__wsum") > 0, F.expr(step)).otherwise(F.lit(0))
    new = F.when(gap > 0, count + move).otherwise(count - move)
    return ranked.select(*columns, new.alias(COUNT))


def _systematic(size: str, running: str, weight: str, total: str) -> str:
    """SQL of one parent's move in a systematic sampling of `size` over weights: the integers in
    (size * (running - weight) + total / 2, size * running + total / 2] divided by `total`."""
    dec = "decimal(38,0)"
    return (f"((CAST({size} AS {dec}) * CAST({running} AS {dec}) + CAST({total} div 2 AS {dec})) div CAST({total} AS {dec}))"
            f" - ((CAST({size} AS {dec}) * CAST({running} - {weight} AS {dec}) + CAST({total} div 2 AS {dec}))"
            f" div CAST({total} AS {dec}))")


def capped_groups(counts: DataFrame, groups: list[str], cap: int, keys: list[str], *, low: int, high: int,
                  seed: int, table: str) -> DataFrame:
    """`counts` (parents with a `__count`, their key `keys`) with each group's total at most `cap`
    and the same total in all: the children per parent of a key inside the driving key.

    A key whose columns are all in the driving key (flights.origin inside flights.(origin, year,
    month, day, hour) -> weather) takes its values from the driving parents, so its parents'
    children (an airport's flights) are the sum of their driving parents' counts, which no law
    bounds: one synthetic airport had 4,032 flights where the real most is 3,652. Each group (the
    parents sharing that key's values) over `cap` (the real most children of that key's parents, at
    scale) gives its excess back, taken from its parents in proportion to their counts above `low`;
    it goes to the parents of the groups under `cap`, in proportion to their counts (capped by
    their room below `high`, and by their group's room below `cap`), then by their room. Both deals
    are systematic samplings in a keyed order (as `matched_counts`), so the counts are the same in
    any layout. Nothing moves where no group is over (one aggregation); inside `plans_only()` (no
    job may run) the counts are returned as they are.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if planning_only():
        return counts
    columns = [c for c in counts.columns if c != COUNT]
    count = F.col(COUNT)
    totals = counts.groupBy(*groups).agg(F.sum(COUNT).cast("long").alias("__T"))
    over = totals.where(F.col("__T") > cap).select(*groups, (F.col("__T") - cap).alias("__want"))
    if not over.take(1):
        return counts
    order = F.xxhash64(*[F.col(k) for k in keys], F.lit(derive_seed(seed, table, "group cap")))
    in_group = Window.partitionBy(*groups).orderBy("__o", *keys)
    running = in_group.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    whole_group = Window.partitionBy(*groups)

    def dealt(frame: DataFrame, weight: Any, amount: Any) -> Any:
        """Each parent's share of its group's `amount`, by `weight` (systematic: the shares add up
        to the amount, or to the weights' total where that is less)."""
        w = frame.select("*", weight.cast("long").alias("__wt"), order.alias("__o"))
        w = w.select("*", F.sum("__wt").over(whole_group).alias("__wsum"), F.sum("__wt").over(running).alias("__s"),
                     amount.alias("__a"))
        step = _systematic("least(__a, __wsum)", "__s", "__wt", "__wsum")
        return w.select(*columns, COUNT, F.when(F.col("__wsum") > 0, F.expr(step)).otherwise(F.lit(0)).alias("__m"))

    # the excess of each group over the cap, taken from its parents
    marked = counts.join(F.broadcast(over), on=groups, how="left")
    taken = kept(dealt(marked.where(F.col("__want").isNotNull()), F.greatest(count - low, F.lit(0)), F.col("__want")))
    left = int(taken.agg(F.sum("__m")).first()[0] or 0)
    rest = marked.where(F.col("__want").isNull()).select(*columns, COUNT)
    out = taken.select(*columns, (count - F.col("__m")).alias(COUNT)).unionByName(rest)
    for mode in ("count", "room"):  # given to the parents of the groups under the cap
        if left <= 0:
            break
        out = kept(out)
        totals = out.groupBy(*groups).agg(F.sum(COUNT).cast("long").alias("__T"))
        room = F.greatest(F.lit(high) - count, F.lit(0))
        weight = F.least(count, room) if mode == "count" else F.when(count > 0, room).otherwise(F.lit(0))
        parents = out.join(totals, on=groups).select(*columns, COUNT, weight.cast("long").alias("__pw"),
                                                     F.greatest(F.lit(cap) - F.col("__T"), F.lit(0)).alias("__R"))
        # each group's share of what is left, by its room (below the cap, and its parents' weights)
        per_group = parents.groupBy(*groups).agg(F.least(F.first("__R"), F.sum("__pw")).cast("long").alias("__C"))
        g_order = F.xxhash64(*[F.col(g) for g in groups], F.lit(derive_seed(seed, table, "group cap groups")))
        g_all = Window.partitionBy(F.lit(0))
        g_run = Window.partitionBy(F.lit(0)).orderBy("__go", *groups).rowsBetween(Window.unboundedPreceding,
                                                                                  Window.currentRow)
        shares = per_group.select(*groups, "__C", g_order.alias("__go"))
        shares = shares.select(*groups, "__C", F.sum("__C").over(g_all).alias("__wsum"), F.sum("__C").over(g_run).alias("__s"))
        shares = shares.select(*groups, F.when(F.col("__wsum") > 0, F.expr(
            _systematic(f"least({left}, __wsum)", "__s", "__C", "__wsum"))).otherwise(F.lit(0)).alias("__give"))
        given = dealt(parents.join(shares, on=groups), F.col("__pw"), F.col("__give"))
        out = kept(given.select(*columns, (count + F.col("__m")).alias(COUNT), "__m"))
        left -= int(out.agg(F.sum("__m")).first()[0] or 0)
        out = out.drop("__m")
    if left > 0:
        _log.info("group cap: children left without room", table=table, left=left)
    return out.select(*columns, count.cast("int").alias(COUNT))
