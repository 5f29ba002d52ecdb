"""The one privacy step of every fit path: PII rules and detection applied before any model sees the data.

`prepare_privacy` is called once per fit: by `fit_database` for all its tables (before orphan
checks, subsets and context joins), by `fit_table` for its table when it is fitted alone, and by
the `Synthesizer` (which then hands the prepared tables to `fit_database`). Every entry point ends
in one of these, so `spark.synth.fit`, `df.synth.fit`, `CALL synth.fit`, pipeline fits and the
`Synthesizer` apply the same rules the same way.

What it does, in order:

1. Rules come from the metadata (`Column.pii`) and from the `PrivacyConfig` (which wins). They are
   checked before any Spark job (columns, actions, fake kinds, custom functions, key columns), and
   explicit hash rules need a configured HMAC key (else a `PrivacyError` says where to put one).
2. Columns without a rule are looked at by PII detection on a bounded sample (`detect_pii`, one
   job of at most `PrivacyConfig.detect_sample_rows` rows per table), unless `pii="ignore"`:
   - `pii="suggest"` (the default): each detected column gets the detection's suggested action
     (`privacy.detect.SUGGESTED_ACTIONS`, or `PrivacyConfig.detect_actions`), said in the fit
     report's notes and in the table spec (`TableSpec.privacy`, origin "detected");
   - `pii="strict"`: any detected column without a rule stops the fit with a `PrivacyError` that
     lists them, before any fitting job (the detection sample is the only job run);
   - `pii="ignore"`: no detection; columns without a rule are learned as they are.
3. The HMAC key of hashes: the configured one (`PrivacyConfig(key=...)`, `key_env`, the Spark conf
   `spark.synth.hmacKey`, `$PYSPARK_SYNTH_HMAC_KEY`). When only detected hash rules need one and
   none is configured, a random key of this fit is used and never stored: the hashes are then not
   stable across fits (a note says so); configure a key to make them stable.
4. Drop, mask, hash and custom rules are applied (`spark.pii.scrub`, one lazy `mapInPandas`); fake
   columns are removed. They are regenerated at sampling by the kernel from the generated rows
   (`TableSpec.fakes`, `privacy.fake.sampled_fakes`), never from original values, with a key
   derived from the sampling seed (sampling needs no HMAC key and is deterministic for a seed).
5. Cross-table consistency of fakes: a child's faked column whose original values are those of its
   parent's faked column of the same kind through a foreign key (at least `LINK_AGREEMENT` of the
   child rows, checked by one Spark aggregation per foreign key) is linked to it: at sampling it
   gets the parent row's fake through the driving foreign key (`orders.buyer_email` is the fake
   e-mail of the customer its `customer_id` points at), whatever columns each table has. The
   locale of a linked fake is the parent's (its fixed locale, or its locale column when that is a
   context column of the child).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import PrivacyError
from pyspark_synth.metadata import Metadata, PIIRule, Table
from pyspark_synth.privacy.config import PrivacyConfig, TablePrivacy
from pyspark_synth.privacy.keys import SecretKey, missing_key_error
from pyspark_synth.privacy.locales import LocaleSource
from pyspark_synth.spec import ColumnPrivacy, DrivingRelation, FakeColumnSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

    from pyspark_synth.privacy.detect import PIIDetection

__all__ = [
    "LINK_AGREEMENT",
    "PII_MODES",
    "FakeLink",
    "PrivateDatabase",
    "PrivateTable",
    "check_pii_mode",
    "fake_specs",
    "output_schema",
    "prepare_privacy",
]

_log = get_logger("spark.privacy_step")
PII_MODES: tuple[str, ...] = ("suggest", "ignore", "strict")
# Share of a child's rows whose faked value equals its parent's faked value (through a foreign key)
# above which the two columns are taken to hold the same entity's value and get the same fakes.
LINK_AGREEMENT = 0.9
_KEEPS_TYPE = {"date_of_birth": ("date", "timestamp", "timestamp_ntz")}


def check_pii_mode(pii: Any, where: str = "fit") -> str:
    """The policy for detected PII without a rule: "suggest", "ignore" or "strict" (checked before any job).

    Raises:
        PrivacyError: Another value.
    """
    if not isinstance(pii, str) or pii.lower() not in PII_MODES:
        raise PrivacyError(
            f"{where}: pii={pii!r} is not a policy for detected PII. Use 'suggest' (the default: apply each "
            "detected column's suggested action and report it), 'strict' (refuse to fit while a detected column "
            "has no rule) or 'ignore' (no detection: columns without a rule are learned as they are)."
        )
    return pii.lower()


@dataclass(frozen=True)
class FakeLink:
    """A child's faked column that holds its parent's faked column's values through a foreign key.

    Attributes:
        fk_columns: The child's foreign-key columns.
        parent_table: The parent table.
        parent_column: The parent's faked column.
        parent_source: Where the parent's fakes take their locale.
        agreement: Share of the child's rows (value and key not null) whose value equals the parent's.
    """

    fk_columns: tuple[str, ...]
    parent_table: str
    parent_column: str
    parent_source: LocaleSource
    agreement: float


@dataclass(frozen=True)
class PrivateTable:
    """One table after the privacy step: what the model learns, and what sampling must add back.

    Attributes:
        name: The table.
        table: The table's metadata as the model sees it (faked and dropped columns gone, scrubbed
            columns typed as strings, detected rules on their columns).
        plan: The resolved rules (scrub rules applied, fake rules removed from the data).
        output_columns: The columns sampling produces, in the original order (dropped ones gone).
        fake_types: `{faked column: Spark type}` of the output.
        sources: `{faked column: LocaleSource}` (where each row's locale comes from).
        links: `{faked column: FakeLink}` to a parent's faked column.
        null_rates: `{faked column: share of null values}` of the real data.
        date_formats: `{faked column: date format}` of dates written as text or integers.
        columns: What was done to each column (for the spec).
        notes: What the step found and decided for this table.
        rare_threshold: `k` of the rare-value protection (`PrivacyConfig.rare_threshold`; 1: off).
        differential_privacy: DP-SGD settings (`PrivacyConfig.dp_settings()`), None without DP.
    """

    name: str
    table: Table
    plan: TablePrivacy
    output_columns: tuple[str, ...]
    fake_types: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, LocaleSource] = field(default_factory=dict)
    links: dict[str, FakeLink] = field(default_factory=dict)
    null_rates: dict[str, float] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    columns: tuple[ColumnPrivacy, ...] = ()
    notes: tuple[str, ...] = ()
    rare_threshold: int = 5
    differential_privacy: dict[str, Any] | None = None


@dataclass(frozen=True)
class PrivateDatabase:
    """The tables after the privacy step (`prepare_privacy`); hand it to `fit_database(privacy=...)`.

    Attributes:
        frames: `{table: DataFrame}` scrubbed, faked columns removed (lazy).
        metadata: The metadata as the models see it.
        tables: `{table: PrivateTable}`.
        notes: What the step found and decided (also in each table's spec).
        per_fit_key: True when hashes used a random key of this fit (no key was configured).
    """

    frames: dict[str, DataFrame]
    metadata: Metadata
    tables: dict[str, PrivateTable]
    notes: tuple[str, ...] = ()
    per_fit_key: bool = False

    @property
    def plans(self) -> dict[str, TablePrivacy]:
        """`{table: TablePrivacy}`."""
        return {t: p.plan for t, p in self.tables.items()}


# ----------------------------------------------------------------------------- the step
def prepare_privacy(
    spark: SparkSession,
    metadata: Metadata,
    frames: Mapping[str, DataFrame],
    *,
    privacy: PrivacyConfig | None = None,
    pii: str = "suggest",
    columns: Mapping[str, Sequence[str]] | None = None,
    max_rows: int | None = None,
    where: str = "fit",
) -> PrivateDatabase:
    """Apply the PII rules and the detection policy to `frames` before any model sees them.

    Args:
        spark: The session (its conf may hold the HMAC key).
        metadata: The database metadata; every table of `frames` must have its columns.
        frames: `{table: DataFrame}` of the tables to prepare (a subset of the metadata's).
        privacy: Rules, key sources and detection settings (`PrivacyConfig()` when None).
        pii: The policy for detected PII without a rule: "suggest", "strict" or "ignore".
        columns: `{table: columns}` the rules and detection look at (default: the frame's);
            other columns of the frame (a child's joined context) pass through unchanged.
        max_rows: The most rows of a table the fit may bring to the driver (its `sample_rows`):
            the detection sample is at most this and `PrivacyConfig.detect_sample_rows`.
        where: The caller, for messages.

    Raises:
        PrivacyError: Before any Spark job: a rule is invalid, an explicit hash rule has no key,
            `pii` is unknown or contradicts `auto_detect`. After the detection sample (and before
            any fitting job) with `pii="strict"`: columns that look like PII have no rule.
    """
    mode = check_pii_mode(pii, where)
    cfg = privacy if privacy is not None else PrivacyConfig()
    if not isinstance(cfg, PrivacyConfig):
        raise PrivacyError(f"{where}: privacy must be a PrivacyConfig, got {type(cfg).__name__}")
    if cfg.auto_detect and mode != "suggest":
        raise PrivacyError(f"{where}: PrivacyConfig(auto_detect=True) asks for detected PII to get its suggested "
                           f"action, which is pii='suggest', but pii={mode!r} was given. Keep one of them.")
    cfg.check_tables(metadata.tables)
    cols = {t: list(columns[t]) if columns is not None and t in columns else list(df.columns) for t, df in frames.items()}
    explicit = {t: _explicit_rules(cfg, metadata.tables[t]) for t in frames}
    pending = {t: _kindless_fakes(ex) for t, ex in explicit.items()}
    for t in frames:  # every explicit rule is checked here, before any job
        _check_explicit(cfg, metadata.tables[t], cols[t], pending[t] if mode != "ignore" else [])
    key = cfg.resolve_key(spark.conf.get(cfg.key_conf, None))
    hashed = [f"{t}.{c}" for t, ex in explicit.items() for c, (r, _) in ex.items() if r.action == "hash"]
    if hashed and key is None:
        raise PrivacyError(f"{missing_key_error(hashed)} Looked in: {cfg.key_sources()}.")

    detections: dict[str, list[PIIDetection]] = {}
    if mode != "ignore":
        rows = cfg.detect_sample_rows if max_rows is None else max(1, min(cfg.detect_sample_rows, int(max_rows)))
        detections = _detect(cfg, metadata, frames, cols, explicit, pending, rows)
    if mode == "strict":
        _refuse_unruled(detections, explicit, where)

    plans: dict[str, TablePrivacy] = {}
    for t in frames:
        found = None if mode == "ignore" else cfg.detected_rules(detections.get(t, []))
        plans[t] = cfg.plan_table(metadata.tables[t], cols[t], found)
    notes: list[str] = []
    per_fit = False
    detected_hashes = [f"{t}.{c}" for t, p in plans.items() for c in p.detected
                       if c in p.scrub_rules and p.scrub_rules[c].action == "hash"]
    if detected_hashes and key is None:
        key, per_fit = SecretKey(secrets.token_bytes(32), "a random key of this fit"), True
        notes.append(f"{detected_hashes} were hashed with a random key of this fit (no HMAC key is configured): their "
                     "hashes are not stable across fits. Configure a key (PrivacyConfig(key=...), the Spark conf "
                     "spark.synth.hmacKey or $PYSPARK_SYNTH_HMAC_KEY) to make them stable.")

    learned = {t: [c for c in cols[t] if c not in p.fake_rules and c not in p.scrub_rules] for t, p in plans.items()}
    sources = cfg.locale_sources(metadata, {t: p.fake_rules for t, p in plans.items() if p.fake_rules}, learned)
    links = _find_links(metadata, frames, plans, sources)
    null_rates = _null_rates(frames, plans)
    prepared: dict[str, PrivateTable] = {}
    out: dict[str, DataFrame] = {}
    removed = {t: set(p.fake_rules) | {c for c, r in p.scrub_rules.items() if r.action == "drop"}
               for t, p in plans.items()}
    tables = dict(metadata.tables)
    for t, df in frames.items():
        p = plans[t]
        by_col = {d.column: d for d in detections.get(t, [])}
        table_notes = [_detected_note(t, c, by_col.get(c), r) for c, r in {**p.scrub_rules, **p.fake_rules}.items()
                       if c in p.detected]
        table_notes += notes
        table_notes += [f"table '{t}': '{c}' holds the values of '{lk.parent_table}.{lk.parent_column}' through "
                        f"{', '.join(lk.fk_columns)} ({lk.agreement:.0%} of its rows): both get the same fakes"
                        for c, lk in links.get(t, {}).items()]
        if p.fake_rules:
            df = df.drop(*p.fake_rules)
        if p.scrub_rules:
            from pyspark_synth.spark.pii import scrub

            df = scrub(df, p.scrub_rules, key=key, hash_length=cfg.hash_length)
        out[t] = df
        tables[t] = _model_table(metadata.tables[t], p, removed)
        types = {f.name: f.dataType for f in frames[t].schema.fields}
        formats = _date_formats(frames[t], p, types)
        prepared[t] = PrivateTable(
            name=t, table=tables[t], plan=p,
            output_columns=tuple(c for c in cols[t] if c not in removed[t] or c in p.fake_rules),
            fake_types={c: _fake_type(types[c], r, formats.get(c)) for c, r in p.fake_rules.items()},
            date_formats=formats,
            sources=dict(sources.get(t, {})), links=dict(links.get(t, {})), null_rates=null_rates.get(t, {}),
            columns=_column_entries(cfg, metadata.tables[t], p, by_col, per_fit),
            notes=tuple(table_notes), rare_threshold=cfg.rare_k, differential_privacy=cfg.dp_settings())
    all_notes = tuple(dict.fromkeys(n for pt in prepared.values() for n in pt.notes))
    md = Metadata(tables=tables)
    if set(frames) == set(metadata.tables):  # a table fitted alone leaves the others as they were
        md = md.validate()
    _log.info("privacy step", where=where, pii=mode, per_fit_key=per_fit,
              tables={t: p.plan.describe() for t, p in prepared.items() if p.plan.describe()},
              key_fingerprint=key.fingerprint if key is not None else None)
    return PrivateDatabase(frames=out, metadata=md, tables=prepared, notes=all_notes, per_fit_key=per_fit)


def _explicit_rules(cfg: PrivacyConfig, table: Table) -> dict[str, tuple[PIIRule, str]]:
    """`{column: (rule, origin)}` of the metadata's and the config's rules (the config wins)."""
    out: dict[str, tuple[PIIRule, str]] = {c.name: (c.pii, "metadata") for c in table.columns if c.pii is not None}
    out.update({c: (r, "config") for c, r in cfg.rules.get(table.name, {}).items()})
    return out


def _kindless_fakes(explicit: Mapping[str, tuple[PIIRule, str]]) -> list[str]:
    """Fake rules whose kind neither they nor their column name give (detection must find it)."""
    from pyspark_synth.privacy.fake import fake_kind_from_name

    return [c for c, (r, _) in explicit.items() if r.action == "fake" and r.kind is None and fake_kind_from_name(c) is None]


def _check_explicit(cfg: PrivacyConfig, table: Table, columns: list[str], waiting: list[str]) -> None:
    """Check the explicit rules of a table before any job (fake rules waiting for detection aside)."""
    import dataclasses

    if waiting:
        table = table.model_copy(update={"columns": tuple(
            c.model_copy(update={"pii": None}) if c.name in waiting else c for c in table.columns)})
        rules = {t: {c: r for c, r in rs.items() if not (t == table.name and c in waiting)} for t, rs in cfg.rules.items()}
        cfg = dataclasses.replace(cfg, rules=rules, locale_from={
            k: v for k, v in (cfg.locale_from or {}).items() if k not in {f"{table.name}.{c}" for c in waiting}})
    cfg.plan_table(table, columns)


def _detect(cfg: PrivacyConfig, metadata: Metadata, frames: Mapping[str, DataFrame], cols: Mapping[str, list[str]],
            explicit: Mapping[str, Mapping[str, Any]], pending: Mapping[str, list[str]],
            rows: int) -> dict[str, list[PIIDetection]]:
    """Detection on a bounded sample of each table's columns without a rule (one job per table)."""
    from pyspark_synth.spark.pii import detect_pii, scannable_columns

    out: dict[str, list[PIIDetection]] = {}
    for t, df in frames.items():
        keys = metadata.tables[t].key_columns
        scannable = set(scannable_columns(df))
        cands = [c for c in cols[t] if c in scannable and c not in keys and (c not in explicit[t] or c in pending[t])]
        if cands:
            out[t] = detect_pii(df, sample_rows=rows, min_confidence=cfg.min_confidence,
                                columns=cands)  # type: ignore[assignment]
    return out


def _refuse_unruled(detections: Mapping[str, list[PIIDetection]], explicit: Mapping[str, Mapping[str, Any]],
                    where: str) -> None:
    found = [(t, d) for t, ds in detections.items() for d in ds if d.column not in explicit[t]]
    if not found:
        return
    listed = "; ".join(f"{t}.{d.column}: {d.kind} (confidence {d.confidence:.2f}, suggested '{d.suggested_action}')"
                       for t, d in found)
    raise PrivacyError(
        f"{where}: pii='strict' and {len(found)} column(s) look like PII but have no rule: {listed}. Give each a rule "
        "(Column.pii in the metadata, or PrivacyConfig(rules={'table': {'column': 'hash' | 'fake' | 'mask' | "
        "'drop' | 'keep'}})), or fit with pii='suggest' to apply the suggested actions. Nothing was fitted."
    )


def _detected_note(table: str, column: str, det: PIIDetection | None, rule: PIIRule) -> str:
    what = f"looks like {det.kind} (confidence {det.confidence:.2f})" if det is not None else "looks like PII"
    action = "faked at sampling" if rule.action == "fake" else f"'{rule.action}'"
    return (f"table '{table}': column '{column}' {what} and has no rule: its suggested action {action} was applied "
            "(pii='suggest'). Give it a rule to choose another, or fit with pii='ignore' to learn it as it is")


def _column_entries(cfg: PrivacyConfig, table: Table, plan: TablePrivacy, detected: Mapping[str, PIIDetection],
                    per_fit: bool) -> tuple[ColumnPrivacy, ...]:
    in_config = cfg.rules.get(table.name, {})
    out = []
    for c, r in {**plan.scrub_rules, **plan.fake_rules}.items():
        origin = "detected" if c in plan.detected else "config" if c in in_config else "metadata"
        det = detected.get(c) if origin == "detected" else None
        key = None if r.action != "hash" else "per-fit" if per_fit and origin == "detected" else "configured"
        out.append(ColumnPrivacy(column=c, action=r.action, kind=r.kind or (det.kind if det else None),  # type: ignore[arg-type]
                                 origin=origin, confidence=det.confidence if det else None, key=key))  # type: ignore[arg-type]
    return tuple(sorted(out, key=lambda e: table.column_names.index(e.column) if e.column in table.column_names else 0))


def _fake_type(original: DataType, rule: PIIRule, date_format: str | None = None) -> DataType:
    """The output type of a faked column: a date of birth stays a date or timestamp (or the integers
    or text it was written in), others are strings."""
    from pyspark.sql.types import StringType

    if original.typeName() in _KEEPS_TYPE.get(rule.kind or "", ()) or date_format is not None:
        return original
    return StringType()


_FORMAT_SAMPLE = 2_000  # values read to learn the format of a faked date column


def _date_formats(df: DataFrame, plan: TablePrivacy, types: Mapping[str, DataType]) -> dict[str, str]:
    """The date format of each faked date-of-birth column written as text or integers (from a
    bounded read of its values), so that its fakes are written the same way."""
    from pyspark.sql import functions as F

    from pyspark_synth.transformers.dateformats import learn_format

    out: dict[str, str] = {}
    for c, r in plan.fake_rules.items():
        if r.kind != "date_of_birth" or types[c].typeName() not in ("string", "integer", "long"):
            continue
        values = df.select(F.col(f"`{c}`").alias("v")).where(F.col("v").isNotNull()).limit(_FORMAT_SAMPLE).toPandas()
        fmt = learn_format(values["v"]) if len(values) else None
        if fmt is not None:
            out[c] = fmt
    return out


def _model_table(table: Table, plan: TablePrivacy, removed: Mapping[str, set[str]]) -> Table:
    """The table as the model sees it: dropped and faked columns gone (here and as a child's context),
    scrubbed ones typed as strings, detected rules on their columns."""
    parent_gone = {c for fk in table.foreign_keys for c in removed.get(fk.parent_table, ())}
    gone = removed.get(table.name, set())
    changed = {c for c, r in plan.scrub_rules.items() if r.action != "drop"}
    if not gone and not changed and not parent_gone:
        return table
    rules = plan.scrub_rules
    cols = tuple(
        c.model_copy(update={"sql_type": "string", "type": c.type if c.type in ("id", "text") else "categorical",
                             "pii": rules[c.name]})
        if c.name in changed else c for c in table.columns if c.name not in gone
    )
    unusable = gone | changed
    constraints = {k: v for k, v in table.constraints.items() if k not in unusable
                   and v.greater_than not in unusable and v.greater_or_equal not in unusable}
    ctx = (tuple(c for c in table.parent_context_cols if c not in parent_gone)
           if table.parent_context_cols is not None else None)
    return table.model_copy(update={"columns": cols, "constraints": constraints, "parent_context_cols": ctx})


def _null_rates(frames: Mapping[str, DataFrame], plans: Mapping[str, TablePrivacy]) -> dict[str, dict[str, float]]:
    """Share of nulls of each faked column (one aggregation per table with fakes)."""
    from pyspark.sql import functions as F

    out: dict[str, dict[str, float]] = {}
    for t, p in plans.items():
        if not p.fake_rules:
            continue
        fakes = list(p.fake_rules)
        row = frames[t].agg(F.count(F.lit(1)).alias("__n"), *[
            F.sum(F.col(f"`{c}`").isNull().cast("long")).alias(f"z{i}") for i, c in enumerate(fakes)]).first()
        n = int(row["__n"] or 0)
        out[t] = {c: (int(row[f"z{i}"] or 0) / n if n else 0.0) for i, c in enumerate(fakes)}
    return out


def _find_links(metadata: Metadata, frames: Mapping[str, DataFrame], plans: Mapping[str, TablePrivacy],
                sources: Mapping[str, Mapping[str, LocaleSource]]) -> dict[str, dict[str, FakeLink]]:
    """Faked child columns that hold their parent's faked values through a foreign key (one job per key)."""
    from pyspark.sql import functions as F

    out: dict[str, dict[str, FakeLink]] = {}
    for t, p in plans.items():
        if not p.fake_rules:
            continue
        for fk in metadata.tables[t].foreign_keys:
            parent = fk.parent_table
            if parent == t or parent not in plans or not plans[parent].fake_rules:
                continue
            if tuple(fk.parent_columns) != tuple(metadata.tables[parent].primary_key):
                continue  # a parent's fakes are made from its primary key
            pairs = [(c, pc) for c, r in p.fake_rules.items() if c not in out.get(t, {})
                     for pc, pr in plans[parent].fake_rules.items() if r.kind == pr.kind]
            if not pairs:
                continue
            keys = [f"__k{i}" for i in range(len(fk.columns))]
            child = frames[t].select(*[F.col(f"`{c}`").alias(k) for c, k in zip(fk.columns, keys, strict=True)],
                                     *[F.col(f"`{c}`").cast("string").alias(f"__c{j}") for j, (c, _) in enumerate(pairs)])
            par = frames[parent].select(*[F.col(f"`{c}`").alias(k) for c, k in zip(fk.parent_columns, keys, strict=True)],
                                        *[F.col(f"`{pc}`").cast("string").alias(f"__p{j}")
                                          for j, (_, pc) in enumerate(pairs)])
            aggs = []
            for j in range(len(pairs)):
                aggs += [F.sum(F.col(f"__c{j}").isNotNull().cast("long")).alias(f"n{j}"),
                         F.sum((F.col(f"__c{j}") == F.col(f"__p{j}")).cast("long")).alias(f"m{j}")]
            row = child.join(par, on=keys, how="inner").agg(*aggs).first()
            for j, (c, pc) in enumerate(pairs):
                n, m = int(row[f"n{j}"] or 0), int(row[f"m{j}"] or 0)
                if n and m / n >= LINK_AGREEMENT and c not in out.get(t, {}):
                    out.setdefault(t, {})[c] = FakeLink(tuple(fk.columns), parent, pc,
                                                        sources.get(parent, {}).get(pc, LocaleSource()), m / n)
    return out


# ----------------------------------------------------------------------------- what the spec records
def output_schema(prepared: PrivateTable, learned: StructType) -> StructType:
    """The table's output schema: the learned columns' types and the faked columns, in the original order."""
    from pyspark.sql.types import StructField, StructType

    have = {f.name: f for f in learned.fields}
    return StructType([StructField(c, prepared.fake_types[c], True) if c in prepared.fake_types else have[c]
                       for c in prepared.output_columns if c in have or c in prepared.fake_types])


def _reached(source: LocaleSource, fk_columns: tuple[str, ...], parent_table: str, context: Sequence[str],
             driving: DrivingRelation | None) -> tuple[dict[str, str] | None, str]:
    """The FakeColumnSpec locale fields of a parent's locale seen from the child, or (None, why not)."""
    if source.kind == "fixed":
        return {"locale": source.fixed or ""}, ""
    if source.kind == "none":
        return {}, ""
    if source.kind == "parent":
        return None, f"its locale comes from '{source.parent_table}.{source.parent_column}', a table further up"
    if driving is None or tuple(driving.columns) != tuple(fk_columns) or driving.parent_table != parent_table:
        return None, f"'{', '.join(fk_columns)}' is not the driving foreign key of the table"
    if source.column not in context:
        return None, (f"the parent's locale column '{source.column}' is not a context column of the table (add it to "
                      "parent_context_cols)")
    return {"context_locale": source.column or ""}, ""


def fake_specs(prepared: PrivateTable, *, context: Sequence[str] = (),
               driving: DrivingRelation | None = None) -> tuple[tuple[FakeColumnSpec, ...], tuple[str, ...]]:
    """The table's faked columns as spec entries, with notes where a link or a locale cannot be honoured.

    A linked column uses its parent's entity through the driving foreign key; the others use the
    table's primary key (or the row id). A locale from a parent (`locale_from`, or a linked
    parent's locale column) needs that parent to be the driving one and the column to be a context
    column; otherwise the note says why and the rows take the default locale.

    Args:
        prepared: The table after the privacy step.
        context: The table's context columns (columns of its driving parent).
        driving: Its driving relation, None for a root table.
    """
    name = prepared.name
    pk = tuple(prepared.table.primary_key)
    out: list[FakeColumnSpec] = []
    notes: list[str] = []
    for col, rule in prepared.plan.fake_rules.items():
        kind = rule.kind or ""
        rate = prepared.null_rates.get(col, 0.0)
        link = prepared.links.get(col)
        if link is not None:
            loc, why = _reached(link.parent_source, link.fk_columns, link.parent_table, context, driving)
            if loc is not None and driving is not None and tuple(driving.columns) == link.fk_columns:
                out.append(FakeColumnSpec(column=col, kind=kind, entity=f"{link.parent_table}.{link.parent_column}",
                                          entity_columns=link.fk_columns, null_rate=rate,
                                          date_format=prepared.date_formats.get(col), **loc))
                continue
            why = why or f"'{', '.join(link.fk_columns)}' is not the driving foreign key of the table"
            notes.append(f"table '{name}': '{col}' holds the values of '{link.parent_table}.{link.parent_column}', but "
                         f"{why}: its fakes are drawn per row, not the parent's")
        source = prepared.sources.get(col, LocaleSource())
        if source.kind == "column":
            loc = {"locale_column": source.column or ""}
        elif source.kind == "parent":
            loc, why = _reached(LocaleSource(column=source.parent_column), source.fk_columns, source.parent_table or "",
                                context, driving)
            if loc is None:
                notes.append(f"table '{name}': the locale of '{col}' comes from '{source.describe()}', but {why}: its "
                             "fakes take the default locale")
                loc = {}
        else:
            loc, _ = _reached(source, (), "", context, driving)
            loc = loc or {}
        out.append(FakeColumnSpec(column=col, kind=kind, entity=f"{name}.{col}", entity_columns=pk, null_rate=rate,
                                  date_format=prepared.date_formats.get(col), **loc))
    return tuple(out), tuple(notes)
