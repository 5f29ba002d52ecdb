"""Secondary foreign keys of a generated child table: children dealt to parents by their real law.

A child table is generated from its driving parent; each of its other foreign keys is filled by
giving every generated parent of that key a capacity (its number of children) drawn from the
key's learned law of children per parent, then dealing the child rows to the parents' slots so
that one driving parent's children go to different secondary parents (a link table keeps unique
pairs; where its primary key is made of the two keys, pairs are made unique by swapping keys
between rows, which keeps every parent's count). Everything is a Spark plan; the draws are keyed
hashes, so nothing depends on partitioning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark_synth.errors import DataError
from pyspark_synth.kernel import secondary_null_label
from pyspark_synth.seeds import derive_seed
from pyspark_synth.spark.checkpoints import kept, planning_only
from pyspark_synth.spark.udfs import ROW_ID, drawn_capacities, null_flags
from pyspark_synth.spec import SecondaryRelation

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["assign_secondary", "assign_within_groups", "parent_keys", "positions"]

_CAP_TRIES = 32  # draws of secondary capacities; the smallest total that holds every child is used
_SPREAD_BITS = 6  # top hash bits that split position numbering into groups
_SWAP_ROUNDS = 8  # passes of the unique-pair repair
_PARTNERS = 16  # partners a repeated pair tries in one pass
_NULL = "__null"


def parent_keys(parents: DataFrame, parent_columns: tuple[str, ...] | list[str], table: str, parent_table: str) -> list[Any]:
    """The parents' key columns as `__k0, __k1, ...` (an error names any missing column)."""
    from pyspark.sql import functions as F

    missing = [c for c in parent_columns if c not in parents.columns]
    if missing:
        raise DataError(f"Parent rows for '{table}' (table '{parent_table}') lack the key column(s) {missing}. "
                        f"Columns given: {parents.columns}")
    return [F.col(f"`{c}`").alias(f"__k{i}") for i, c in enumerate(parent_columns)]


def positions(df: DataFrame, groups: list[Any], order: list[Any], name: str, weight: str | None = None) -> DataFrame:
    """`df` plus `name`: each row's 0-based position when rows are sorted by `groups`, then `order`
    (with `weight`: the sum of that column over the rows before it).

    No single task sorts all rows: rows are numbered inside their group (a window per group) and a
    group starts after the rows of the groups before it (a running sum over one row per group).
    `groups` should take at most tens of thousands of values and spread the rows; `order` must make
    the order total, so positions do not depend on partitioning.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = F.col(weight) if weight else F.lit(1)
    gcols = [f"__g{i}" for i in range(len(groups))]
    g = kept(df.select("*", *[c.alias(n) for c, n in zip(groups, gcols, strict=True)]))
    sizes = g.groupBy(*gcols).agg(F.sum(w).alias("__gn"))
    before = Window.orderBy(*gcols).rowsBetween(Window.unboundedPreceding, -1)
    offsets = sizes.select(*gcols, F.coalesce(F.sum("__gn").over(before), F.lit(0)).alias("__off"))
    inside = Window.partitionBy(*gcols).orderBy(*order).rowsBetween(Window.unboundedPreceding, -1)
    return g.join(offsets, on=gcols) \
        .withColumn(name, (F.col("__off") + F.coalesce(F.sum(w).over(inside), F.lit(0))).cast("long")).drop(*gcols, "__off")


def assign_secondary(rows: DataFrame, parents: DataFrame, sec: SecondaryRelation, *, seed: int, table: str) -> DataFrame:
    """One secondary foreign key for child rows `(row id, driving key __k*, child index __idx)`.

    Returns `(row id, key columns)`; at the key's null rate its `nulled_columns` are null (the
    draw of `kernel.key_null_mask`). How many children each parent gets follows the learned law
    of children per parent (capacity slots, below); the children are dealt to the parents so that
    one driving parent's children go to different secondary parents wherever the counts allow.
    With `sec.unique_pairs` no two rows share (driving key, this key).
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    n_keys = len(sec.columns)
    keys = [f"__k{i}" for i in range(n_keys)]
    drive = [c for c in rows.columns if c.startswith("__k")]
    label = f"{table}/{','.join(sec.columns)}"
    keyed = parents.select(*parent_keys(parents, sec.parent_columns, table, sec.parent_table))
    law = sec.law
    tries = [f"__cap{a}" for a in range(_CAP_TRIES)]
    cap_schema = T.StructType(keyed.schema.fields + [T.StructField(t, T.IntegerType(), False) for t in tries])
    capped = kept(keyed.mapInPandas(drawn_capacities(law.model_dump(), keys, seed=seed, label=label, tries=_CAP_TRIES),
                                    cap_schema))
    # The rows whose key will be null: when the whole key is nulled they take no parent, so only
    # the others are dealt and the parents' counts follow the law (dealing all of them would
    # stretch every parent by 1 / (1 - null rate) before the nulls thin them out again). When
    # only some columns are nulled (the others belong to another key) every row needs a parent.
    nulled = set(sec.nulled_columns or sec.columns)
    rows, whole, live = _flag_nulls(rows, sec, nulled, table=table, seed=seed)
    n_rows = live.agg(F.count(F.lit(1)).alias("__C"))
    # Capacities are drawn several times and the draw whose total is the smallest one that still
    # holds every child is used (else the largest): a few parents with a wide law (18 playlists of
    # 0..3,290 tracks) can otherwise total far fewer slots than children, and spreading the rest
    # would push parents past the real maximum. With many parents every draw totals about the same.
    totals = capped.selectExpr(*[f"sum({t}) AS __S{a}" for a, t in enumerate(tries)], "count(1) AS __P").crossJoin(n_rows)
    sizes = ", ".join(f"struct(__S{a} < __C AS short, IF(__S{a} >= __C, __S{a}, -__S{a}) AS size, {a} AS a)"
                      for a in range(_CAP_TRIES))
    # (the pick's size is its total, negated when short of the children)
    chosen = totals.selectExpr(f"array_min(array({sizes})) AS __pick", "__C", "__P")
    # When even the chosen draw holds fewer slots than children (the child total comes from the
    # driving key), each parent also gets up to `__e` extra slots above its capacity, never past
    # the law's largest count; they are used after every capacity slot, so the excess goes to
    # parents below the real maximum. e is twice the mean excess per parent, plus one.
    most = int(max(law.values))
    chosen = chosen.selectExpr("__pick.a AS __try", "__C", "__P", "abs(__pick.size) AS __S0").selectExpr(
        "__try", f"IF(__C > __S0, CAST(LEAST({most}, CEIL(2.0 * (__C - __S0) / GREATEST(__P, 1)) + 1) AS INT), 0) AS __e")
    capped = capped.crossJoin(chosen).select(
        *keys, F.expr(f"element_at(array({', '.join(tries)}), __try + 1)").alias("__cap"), "__e")
    capped = capped.withColumn("__top", F.expr(f"IF(__cap = 0, 0, GREATEST(__cap, LEAST({most}, __cap + __e)))"))
    if sec.unique_pairs:
        # a parent of a link table can pair with each driving parent once: no more slots than those
        drivers = live.where(F.col("__idx") == 0).agg(F.count(F.lit(1)).cast("int").alias("__D"))
        capped = capped.crossJoin(drivers).withColumn("__cap", F.least("__cap", "__D")) \
            .withColumn("__top", F.least("__top", "__D")).drop("__D")
    # a parent law with all-zero draws would leave no slot: every parent then gets one
    slots = capped.select(*keys, F.explode(F.sequence(F.lit(0), F.greatest(F.col("__top"), F.lit(1)) - 1)).alias("__j"),
                          (F.col("__cap") == 0).alias("__spare"), F.greatest(F.col("__cap"), F.lit(1)).alias("__capn"))
    slots = slots.withColumn("__ord", F.xxhash64(*keys, "__j", F.lit(derive_seed(seed, label, "slots"))))
    # Slots are used in order of how far into its capacity each is (slot j of a parent with capacity
    # k at j / k, in 256 steps), after the slots below the law's smallest count: every parent first
    # reaches the real minimum, then parents fill in proportion, so with fewer children than slots
    # no parent gets more than its capacity or fewer than the minimum while another has more.
    # Extra slots (above the capacity) come after all capacity slots, filling in the same
    # proportion (levels above 4x the capacity in a random order); spare slots (parents whose draw
    # was 0) come last.
    least = int(min(law.values))
    slots = positions(slots, [F.col("__spare"), F.col("__j") >= F.col("__capn"), F.col("__j") >= F.lit(least),
                              F.least(F.floor(F.col("__j") * 256 / F.col("__capn")), F.lit(1024)),
                              F.shiftright(F.col("__ord"), 64 - _SPREAD_BITS)],
                      [F.col("__ord"), *keys, F.col("__j")], "__slot")
    n_slots = slots.where(~F.col("__spare")).agg(F.greatest(F.count(F.lit(1)), F.lit(1)).alias("__S"))
    # children per slot: with fewer children than slots the first C slots take one each; with more
    # (more children than the law's largest count allows for every parent), they are spread evenly
    # over all slots (slot t takes ceil((t+1)C/S) - ceil(tC/S))
    per_slot = slots.crossJoin(n_slots).crossJoin(n_rows).select(*keys, F.expr(
        "CASE WHEN __C <= __S THEN IF(__slot < __C, 1, 0) "
        "ELSE IF(__slot < __S, ((__slot + 1) * __C + __S - 1) div __S - (__slot * __C + __S - 1) div __S, 0) END"
    ).alias("__m"))
    # each parent's children form one run of positions, the biggest runs first (where the rounds
    # below are longest; sizes within a factor of 2 count as equal), then in a keyed random order
    runs = per_slot.groupBy(*keys).agg(F.sum("__m").alias("__n")).where(F.col("__n") > 0)
    runs = runs.withColumn("__pord", F.xxhash64(*keys, F.lit(derive_seed(seed, label, "runs"))))
    # (a run's first position: the children in the runs before it)
    runs = positions(runs, [-F.floor(F.log2("__n")), F.shiftright(F.col("__pord"), 64 - _SPREAD_BITS)],
                     [F.col("__n").desc(), F.col("__pord"), *keys], "__s", weight="__n")
    places = runs.select(F.explode(F.sequence(F.col("__s"), F.col("__s") + F.col("__n") - 1)).alias("__t"),
                         *[F.col(k).alias(f"__s{k}") for k in keys])
    # Children are dealt in rounds: every driving parent's first child (driving parents in a keyed
    # random order), then every second child, and so on. Two children of one driving parent are
    # then at least as far apart as there are driving parents with more children: a run of one
    # secondary parent holds two of them only when it is longer than that (the big runs sit in
    # the first, longest rounds).
    dealt = live.withColumn("__d", F.xxhash64(*[F.col(c) for c in drive], F.lit(derive_seed(seed, label, "rows"))))
    dealt = positions(dealt, [F.least(F.col("__idx"), F.lit(63)), F.shiftright(F.col("__d"), 56)],
                      [F.col("__idx"), F.col("__d"), F.col(ROW_ID)], "__t")
    joined = dealt.join(places, on="__t", how="left")
    sec_keys = [f"__s{k}" for k in keys]
    if sec.unique_pairs:
        joined = _unique_pairs(joined.select(ROW_ID, "__t", *drive, *sec_keys, _NULL), drive, sec_keys,
                               n_rows, seed=seed, label=label)
    if whole:
        types = [f.dataType for f in keyed.schema.fields]
        return joined.select(F.col(ROW_ID), *[F.col(s).alias(c) for s, c in zip(sec_keys, sec.columns, strict=True)]) \
            .unionByName(rows.where(F.col(_NULL)).select(
                F.col(ROW_ID), *[F.lit(None).cast(t).alias(c) for t, c in zip(types, sec.columns, strict=True)]))
    return joined.select(F.col(ROW_ID), *[F.when(F.col(_NULL) & F.lit(c in nulled), F.lit(None)).otherwise(F.col(s)).alias(c)
                                          for s, c in zip(sec_keys, sec.columns, strict=True)])


def assign_within_groups(rows: DataFrame, parents: DataFrame, sec: SecondaryRelation, shared: tuple[str, ...] | list[str],
                         *, seed: int, table: str) -> DataFrame:
    """A secondary foreign key some of whose columns (`shared`) already hold values, drawn among
    the parents that match them.

    games.(year, team_b) -> teams.(year, team) when games.(year, team_a) drove the table: `year`
    comes from the driving parent, so team_b is drawn among the teams of that year. Each parent
    gets a capacity from the key's law of children per parent; inside each group of `shared`
    values the group's children take the group's slots (the first ones, in the order of
    `assign_secondary`: every parent reaches the law's minimum, then parents fill in proportion;
    with more children than slots they are spread evenly over the slots). A child whose group has
    no parent at all keeps a null key.

    Args:
        rows: `(row id, the shared child columns)`, one row per child.
        parents: The generated parent rows.
        sec: The key.
        shared: The key's columns whose values are already set.
        seed: Root seed.
        table: The child table.

    Returns:
        `(row id, key columns)`, null at the key's null rate on its `nulled_columns`.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    n_keys = len(sec.columns)
    keys = [f"__k{i}" for i in range(n_keys)]
    label = f"{table}/{','.join(sec.columns)}"
    gkeys = [f"__k{sec.columns.index(c)}" for c in shared]
    gcols = [f"__g{i}" for i in range(len(shared))]
    keyed = parents.select(*parent_keys(parents, sec.parent_columns, table, sec.parent_table))
    cap_schema = T.StructType(keyed.schema.fields + [T.StructField("__cap0", T.IntegerType(), False)])
    capped = keyed.mapInPandas(drawn_capacities(sec.law.model_dump(), keys, seed=seed, label=label, tries=1), cap_schema)
    nulled = set(sec.nulled_columns or sec.columns)
    rows, whole, live = _flag_nulls(rows, sec, nulled, table=table, seed=seed)
    slots = capped.select(*keys, F.explode(F.sequence(F.lit(0), F.greatest(F.col("__cap0"), F.lit(1)) - 1)).alias("__j"),
                          (F.col("__cap0") == 0).alias("__spare"), F.greatest(F.col("__cap0"), F.lit(1)).alias("__capn"))
    group = Window.partitionBy(*gkeys)
    order = Window.partitionBy(*gkeys).orderBy(
        F.col("__spare"), F.col("__j") >= F.lit(int(min(sec.law.values))), F.floor(F.col("__j") * 256 / F.col("__capn")),
        F.xxhash64(*keys, "__j", F.lit(derive_seed(seed, label, "slots"))), *keys, F.col("__j"))
    slots = kept(slots.select(
        *[F.col(k).alias(g) for k, g in zip(gkeys, gcols, strict=True)], *keys,
        (F.row_number().over(order) - 1).alias("__slot"),
        F.sum(F.when(~F.col("__spare"), 1).otherwise(0)).over(group).alias("__nslots"),
        F.count(F.lit(1)).over(group).alias("__nall")))
    in_group = Window.partitionBy(*gcols)
    dealt = live.select(F.col(ROW_ID), F.col(_NULL), *[F.col(f"`{c}`").alias(g) for c, g in zip(shared, gcols, strict=True)])
    dealt = dealt.select("*", (F.row_number().over(in_group.orderBy(
        F.xxhash64(F.col(ROW_ID), F.lit(derive_seed(seed, label, "rows"))), F.col(ROW_ID))) - 1).alias("__t"),
        F.count(F.lit(1)).over(in_group).alias("__nkids"))
    sizes = slots.select(*gcols, "__nslots", "__nall").dropDuplicates(gcols)
    dealt = dealt.join(sizes, on=gcols, how="left").withColumn(
        "__slot", F.expr("CASE WHEN __nslots IS NULL THEN NULL WHEN __nslots = 0 THEN __t % __nall "
                      "WHEN __nkids <= __nslots THEN __t ELSE CAST(__t * __nslots div __nkids AS INT) END"))
    joined = dealt.join(slots.drop("__nslots", "__nall"), on=[*gcols, "__slot"], how="left")
    out = joined.select(F.col(ROW_ID), *[F.when(F.col(_NULL) & F.lit(c in nulled), F.lit(None)).otherwise(F.col(k)).alias(c)
                                         for k, c in zip(keys, sec.columns, strict=True)])
    if whole:
        types = [f.dataType for f in keyed.schema.fields]
        out = out.unionByName(rows.where(F.col(_NULL)).select(
            F.col(ROW_ID), *[F.lit(None).cast(t).alias(c) for t, c in zip(types, sec.columns, strict=True)]))
    return out


def _unique_pairs(dealt: DataFrame, drive: list[str], sec: list[str], n_rows: DataFrame, *, seed: int,
                  label: str) -> DataFrame:
    """`dealt` with secondary keys swapped between rows until no two rows share (driving, secondary).

    A row whose pair repeats swaps its secondary key with a partner row (at a keyed random
    position `__t`) when neither of the two new pairs exists yet; every parent keeps its number of
    children. Each pass fixes most of the repeats left (they are rare: the dealing in rounds
    already spreads a driving parent's children); at most `_SWAP_ROUNDS` passes run.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    def same(a: list[str], b: list[str]) -> Any:
        cond = F.lit(True)
        for x, y in zip(a, b, strict=True):
            cond = cond & F.col(x).eqNullSafe(F.col(y))
        return cond

    pair_window = Window.partitionBy(*drive, *sec).orderBy(ROW_ID)
    for attempt in range(_SWAP_ROUNDS):
        marked = kept(dealt.withColumn("__rn", F.row_number().over(pair_window)))
        if not planning_only() and marked.where(F.col("__rn") > 1).limit(1).count() == 0:
            return marked.drop("__rn")
        salt = derive_seed(seed, label, "swap", attempt)
        dp, ds = [f"__dp{i}" for i in range(len(drive))], [f"__ds{i}" for i in range(len(sec))]
        pp, ps = [f"__pp{i}" for i in range(len(drive))], [f"__ps{i}" for i in range(len(sec))]
        # each repeat looks at _PARTNERS keyed random partner positions and takes the first that works
        moving = marked.where(F.col("__rn") > 1).crossJoin(n_rows).select(
            F.col(ROW_ID).alias("__drid"), *[F.col(c).alias(a) for c, a in zip(drive + sec, dp + ds, strict=True)],
            F.explode(F.sequence(F.lit(0), F.lit(_PARTNERS - 1))).alias("__try"), "__C")
        moving = moving.withColumn("__t", F.pmod(F.xxhash64(F.col("__drid"), F.col("__try"), F.lit(salt)),
                                                 F.greatest(F.col("__C"), F.lit(1)))).drop("__C")
        partners = marked.where(F.col("__rn") == 1).select(
            "__t", F.col(ROW_ID).alias("__prid"), *[F.col(c).alias(a) for c, a in zip(drive + sec, pp + ps, strict=True)])
        cand = moving.join(partners, on="__t").where(~same(dp, pp) & ~same(ds, ps))
        existing = marked.select(*drive, *sec)
        # neither new pair may exist: (moving row's driver, partner's key) and (partner's driver, moving key)
        for d_cols, s_cols in ((dp, ps), (pp, ds)):
            cond = None
            for a, b in zip(drive + sec, d_cols + s_cols, strict=True):
                e = existing[a].eqNullSafe(F.col(b))
                cond = e if cond is None else cond & e
            cand = cand.join(existing, on=cond, how="left_anti")
        # one partner per repeat, one swap per partner, and no two swaps making the same new pair
        cand = cand.withColumn("__w", F.row_number().over(Window.partitionBy("__drid").orderBy("__try"))) \
            .where(F.col("__w") == 1).drop("__w")
        for part in (["__prid"], dp + ps, pp + ds):
            cand = cand.withColumn("__w", F.row_number().over(Window.partitionBy(*part).orderBy("__drid"))) \
                .where(F.col("__w") == 1).drop("__w")
        swaps = cand.select(F.col("__drid").alias(ROW_ID), *[F.col(p).alias(f"__new{i}") for i, p in enumerate(ps)]) \
            .unionByName(cand.select(F.col("__prid").alias(ROW_ID), *[F.col(d).alias(f"__new{i}") for i, d in enumerate(ds)]))
        dealt = marked.drop("__rn").join(swaps, on=ROW_ID, how="left").select(
            *[F.col(c) for c in marked.columns if c not in sec and c != "__rn"],
            *[F.coalesce(F.col(f"__new{i}"), F.col(c)).alias(c) for i, c in enumerate(sec)])
    return kept(dealt)


def _flag_nulls(rows: DataFrame, sec: SecondaryRelation, nulled: set[str], *, table: str,
                seed: int) -> tuple[DataFrame, bool, DataFrame]:
    """The rows with `_NULL` set where the key's null draw makes it null, whether the whole key is
    nulled (then those rows take no parent), and the rows that are dealt a parent."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if sec.null_rate > 0:
        flag_schema = T.StructType(rows.schema.fields + [T.StructField(_NULL, T.BooleanType(), False)])
        rows = kept(rows.mapInPandas(null_flags(seed=seed, label=secondary_null_label(table, sec.columns),
                                                rate=sec.null_rate, column=_NULL), flag_schema))
    else:
        rows = rows.withColumn(_NULL, F.lit(False))
    whole = sec.null_rate > 0 and nulled >= set(sec.columns)
    return rows, whole, (rows.where(~F.col(_NULL)) if whole else rows)
