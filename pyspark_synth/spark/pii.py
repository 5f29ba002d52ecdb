"""Spark edge of privacy: PII detection on a bounded sample, scrubbing in one mapInPandas, leak scans.

All rule checks (columns, actions, key, custom functions, locales) run on the driver before any
Spark job: `scrub` builds its plan with `plan_scrub`, computes the output schema up front and hands
the executors plain data only (rule dicts and key bytes), never a session or a JVM object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from pyspark_synth._log import get_logger
from pyspark_synth.errors import PrivacyError
from pyspark_synth.metadata import PIIRule, Table
from pyspark_synth.privacy.detect import PIIDetection, detect_pii_pandas, detections_to_pandas
from pyspark_synth.privacy.keys import CONF_KEY, SecretKey
from pyspark_synth.privacy.scrub import plan_scrub

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["LeakReport", "detect_pii", "scan_leaks", "scannable_columns", "scrub", "scrub_database"]

_log = get_logger("spark.pii")

_DETECTION_SCHEMA = (
    "column string, kind string, confidence double, suggested_action string, match_share double, "
    "name_cue string, sampled int, evidence string"
)
_LEAK_SCHEMA = (
    "real_column string, synthetic_column string, rows long, distinct_values long, examples array<string>"
)
_SCALAR_TYPES = ("string", "varchar", "char", "tinyint", "smallint", "int", "bigint", "float", "double",
                 "decimal", "date", "timestamp", "boolean")


def scannable_columns(df: DataFrame) -> list[str]:
    """The columns detection can look at (scalar types: strings, numbers, dates, booleans)."""
    return [f.name for f in df.schema.fields if f.dataType.simpleString().startswith(_SCALAR_TYPES)]


_scannable = scannable_columns


def detect_pii(
    df: DataFrame,
    *,
    sample_rows: int = 2000,
    fraction: float | None = None,
    seed: int = 0,
    min_confidence: float = 0.5,
    columns: Sequence[str] | None = None,
    output: Literal["list", "pandas", "spark"] = "list",
) -> list[PIIDetection] | pd.DataFrame | DataFrame:
    """Detect PII columns of a Spark DataFrame from a bounded sample (one Spark job).

    At most `sample_rows` rows are brought to the driver (`sample` when `fraction` is given, then
    `limit`), so at most that many non-null values per column are examined; whole tables are never
    collected.

    Args:
        df: The data.
        sample_rows: Rows to sample (the per-column bound on values looked at).
        fraction: Sample this fraction of rows first (spreads the sample over a big table).
        seed: Seed of the `fraction` sample.
        min_confidence: Leave out detections below this confidence.
        columns: Only look at these columns (default: every scalar column).
        output: "list" of `PIIDetection`, a "pandas" or a "spark" DataFrame.
    """
    if sample_rows < 1:
        raise PrivacyError(f"detect_pii: sample_rows must be at least 1, got {sample_rows}")
    if output not in ("list", "pandas", "spark"):
        raise PrivacyError(f"detect_pii: output must be 'list', 'pandas' or 'spark', got {output!r}")
    if fraction is not None and not 0 < fraction <= 1:
        raise PrivacyError(f"detect_pii: fraction must be in (0, 1], got {fraction}")
    cols = list(columns) if columns is not None else _scannable(df)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise PrivacyError(f"detect_pii: column(s) {missing} are not in the DataFrame. Known columns: {df.columns}")
    sample = df.select(*[f"`{c}`" for c in cols])
    if fraction is not None:
        sample = sample.sample(fraction=fraction, seed=seed)
    pdf = sample.limit(sample_rows).toPandas()
    found = detect_pii_pandas(pdf, max_values=sample_rows, min_confidence=min_confidence)
    _log.info("pii detected", sampled_rows=len(pdf), columns=len(cols),
              found={d.column: d.kind for d in found})
    if output == "list":
        return found
    frame = detections_to_pandas(found)
    if output == "pandas":
        return frame
    return df.sparkSession.createDataFrame(frame, schema=_DETECTION_SCHEMA)


def _scrub_batches(payload: dict[str, Any]):  # noqa: ANN202 - returns the mapInPandas function
    """The mapInPandas function; it closes over `payload` (plain dicts and bytes) only."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark_synth.privacy.scrub import apply_scrub

        for pdf in batches:
            yield apply_scrub(pdf, payload)

    return run


def scrub(
    df: DataFrame,
    rules: Mapping[str, PIIRule | Mapping[str, Any] | str] | Table,
    *,
    key: SecretKey | bytes | str | None = None,
    spark: SparkSession | None = None,
    hash_length: int | None = None,
    value_locales: Mapping[str, Mapping[str, str]] | None = None,
) -> DataFrame:
    """Scrub PII columns of a DataFrame by their rules, as one lazy `mapInPandas`.

    Dropped columns disappear; masked, hashed, faked and custom columns become strings; the others
    keep their type. The same value gets the same hash (and the same fake, per kind and locale) in
    every table scrubbed with the same key, so joins on scrubbed keys still work.

    Args:
        df: The data.
        rules: `{column: PIIRule | dict | action}` or a metadata `Table` whose columns carry rules.
        key: The HMAC key; else the Spark conf `spark.synth.hmacKey`, else $PYSPARK_SYNTH_HMAC_KEY.
        spark: The session whose conf is read for the key (default: the DataFrame's).
        hash_length: Keep this many hex characters of each HMAC (8..64).
        value_locales: `{kind: {value text: locale}}` voted over several tables, so a value gets
            the same fake in tables with and without a locale column (see `scrub_database`,
            which computes the votes in Spark instead).

    Raises:
        PrivacyError: Before any Spark job, when a rule is invalid (missing column, unknown action,
            hash/fake without key, custom function not importable, unknown locale or locale_column).
    """
    from pyspark.sql.types import StringType, StructField, StructType

    conf_value = None
    if key is None:
        session = spark or df.sparkSession
        conf_value = session.conf.get(CONF_KEY, None)
    plan = plan_scrub(df.columns, rules, key=key, conf_key=conf_value, hash_length=hash_length,
                      value_locales=value_locales)
    if not plan.rules or all(r.action == "keep" for r in plan.rules.values()):
        return df
    changed = set(plan.changed_columns)
    keep = set(plan.output_columns)
    schema = StructType([
        StructField(f.name, StringType(), True) if f.name in changed else f
        for f in df.schema.fields if f.name in keep
    ])
    _log.info("scrub", rules=plan.describe(), key_source=plan.key.source if plan.key else None,
              key_fingerprint=plan.key.fingerprint if plan.key else None)
    return df.mapInPandas(_scrub_batches(plan.payload()), schema)


# ----------------------------------------------------------------------------- a database, fakes consistent
_VOTE_SCHEMA = "__kind string, __value string, __locale string"


def _tag_batches(fakes: dict[str, Any], sources: dict[str, Any]):  # noqa: ANN202 - the mapInPandas function
    """Adds, per faked column i, its canonical text `__v{i}` and its row's own locale `__l{i}`."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark_synth.privacy.locales import LocaleSource, as_text, row_locales

        for pdf in batches:
            out = pdf.copy()
            for i, col in enumerate(fakes):
                out[f"__v{i}"] = as_text(pdf[col])
                out[f"__l{i}"] = row_locales(pdf, LocaleSource.from_dict(sources[col]))
            yield out

    return run


def _fake_batches(fakes: dict[str, Any], key: bytes, helpers: list[str]):  # noqa: ANN202
    """Fakes each faked column i in the locale `__r{i}` (voted over every table), then drops the helpers."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark_synth.privacy.fake import consistent_fakes

        sources = {c: {"column": f"__r{i}"} for i, c in enumerate(fakes)}
        for pdf in batches:
            yield consistent_fakes(pdf, fakes, sources, key=key, value_locales={}).drop(columns=helpers)

    return run


def scrub_database(
    spark: SparkSession,
    metadata: Any,
    tables: Mapping[str, Any],
    *,
    privacy: Any = None,
) -> dict[str, DataFrame]:
    """Scrub every table of a database by its rules; a faked value gets the same fake in every table.

    The rules are the metadata's (`Column.pii`) and the `PrivacyConfig`'s; drop, mask, hash and
    custom rules are applied as by `scrub`. Fake rules replace each original value by a fake that
    depends on (key, kind, locale, value) only, and the locale of a value is voted over every table
    that gives it one (its rows' locale column, a fixed locale, or a parent's locale column through
    a foreign key, `PrivacyConfig.locale_from`): an `orders` table with the customer's e-mail but no
    country gets the same fake e-mails as `customers`. Everything runs in Spark (the votes are a
    `groupBy`, a parent's locale is joined on): nothing but the rules reaches the executors.

    Args:
        spark: The session (its conf may hold the HMAC key).
        metadata: The database metadata (tables with their columns, keys and rules).
        tables: `{table: DataFrame | catalog table | path}`.
        privacy: A `PrivacyConfig` with more rules, the key source and `locale_from`.

    Returns:
        `{table: scrubbed DataFrame}` (lazy); tables without rules are returned as they are.

    Raises:
        PrivacyError: Before any Spark job: a rule is invalid, or hash or fake rules have no key.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from pyspark_synth.io.readers import read_table
    from pyspark_synth.privacy.config import PrivacyConfig

    cfg = privacy if privacy is not None else PrivacyConfig()
    cfg.check_tables(metadata.tables)
    missing, extra = sorted(set(metadata.tables) - set(tables)), sorted(set(tables) - set(metadata.tables))
    if missing or extra:
        raise PrivacyError(f"scrub_database: the data does not match the metadata: no data for {missing}, tables not "
                           f"in the metadata {extra}. Metadata tables: {sorted(metadata.tables)}")
    frames = {t: read_table(spark, src, name=t) for t, src in tables.items()}
    plans = {t: cfg.plan_table(metadata.tables[t], df.columns) for t, df in frames.items()}
    key = cfg.require_key(plans, conf_value=spark.conf.get(cfg.key_conf, None))
    fakes = {t: p.fake_rules for t, p in plans.items() if p.fake_rules}
    sources = cfg.locale_sources(metadata, fakes, {t: df.columns for t, df in frames.items()})
    tagged: dict[str, DataFrame] = {}
    votes = None
    for t, rules in fakes.items():
        df = frames[t]
        srcs = {}
        for i, (col, src) in enumerate(sources[t].items()):
            if src.kind == "parent":  # the parent's locale column, joined on through the foreign key
                par = frames[src.parent_table].select(
                    *[F.col(f"`{k}`").alias(f"__pk{j}") for j, k in enumerate(src.parent_key)],
                    F.col(f"`{src.parent_column}`").alias(f"__pl{i}")).dropDuplicates([f"__pk{j}" for j in range(len(src.parent_key))])
                cond = None
                for j, c in enumerate(src.fk_columns):
                    e = df[f"`{c}`"] == par[f"__pk{j}"]
                    cond = e if cond is None else cond & e
                df = df.join(par, on=cond, how="left").drop(*[f"__pk{j}" for j in range(len(src.parent_key))])
                srcs[col] = {"column": f"__pl{i}"}
            else:
                srcs[col] = src.to_dict()
        extra = [T.StructField(f"__{x}{i}", T.StringType(), True) for i in range(len(rules)) for x in ("v", "l")]
        rows = df.mapInPandas(_tag_batches({c: r.model_dump() for c, r in rules.items()}, srcs),
                              T.StructType(df.schema.fields + extra))
        tagged[t] = rows
        for i, rule in enumerate(rules.values()):
            v = rows.select(F.lit(rule.kind).alias("__kind"), F.col(f"__v{i}").alias("__value"),
                            F.col(f"__l{i}").alias("__locale")).where("__value IS NOT NULL AND __locale IS NOT NULL")
            votes = v if votes is None else votes.unionByName(v)
    resolved = None
    if votes is not None:  # one locale per (kind, value): the most frequent, ties to the first in sort order
        counted = votes.groupBy("__kind", "__value", "__locale").count()
        w = Window.partitionBy("__kind", "__value").orderBy(F.desc("count"), F.asc("__locale"))
        resolved = counted.withColumn("__rank", F.row_number().over(w)).where("__rank = 1").drop("__rank", "count")
    out = dict(frames)
    for t, rules in fakes.items():
        df = tagged[t]
        for i, rule in enumerate(rules.values()):
            r = resolved.where(F.col("__kind") == F.lit(rule.kind)).select(  # type: ignore[union-attr]
                F.col("__value").alias(f"__v{i}"), F.col("__locale").alias(f"__x{i}"))
            df = df.join(r, on=f"__v{i}", how="left").withColumn(f"__r{i}", F.coalesce(f"__x{i}", f"__l{i}"))
        base = frames[t]
        helpers = [c for c in df.columns if c not in base.columns]
        schema = T.StructType([T.StructField(f.name, T.StringType(), True) if f.name in rules else f
                               for f in base.schema.fields])
        payload = {c: r.model_dump() for c, r in rules.items()}
        out[t] = df.select(*[F.col(f"`{c}`") for c in base.columns], *helpers).mapInPandas(
            _fake_batches(payload, key.reveal(), helpers), schema)  # type: ignore[union-attr]
    for t, p in plans.items():
        if p.scrub_rules:
            out[t] = scrub(out[t], p.scrub_rules, key=key, hash_length=cfg.hash_length)
    _log.info("scrub database", tables={t: p.describe() for t, p in plans.items() if p.describe()},
              key_fingerprint=key.fingerprint if key is not None else None)
    return out


# ----------------------------------------------------------------------------- leak scan
@dataclass
class LeakReport:
    """Where original PII values turn up verbatim in synthetic data.

    Attributes:
        findings: One dict per (real column, synthetic column) pair with leaked values: rows,
            distinct_values and up to 3 masked examples.
        real_columns: The real PII columns whose values were looked for.
        synthetic_columns: The synthetic columns searched.
        frame: The findings as a (small, local) Spark DataFrame.
    """

    findings: list[dict[str, Any]]
    real_columns: list[str]
    synthetic_columns: list[str]
    frame: Any = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when no original PII value was found."""
        return not self.findings

    @property
    def total_rows(self) -> int:
        """Synthetic cells that hold an original PII value."""
        return sum(int(f["rows"]) for f in self.findings)

    def to_pandas(self) -> pd.DataFrame:
        """The findings as a pandas DataFrame."""
        return pd.DataFrame(self.findings, columns=["real_column", "synthetic_column", "rows", "distinct_values", "examples"])

    def summary(self) -> str:
        """One line per leaking column pair, or a line saying there is none."""
        if self.ok:
            return f"No leak: none of the values of {self.real_columns} appears in {len(self.synthetic_columns)} synthetic columns."
        return "\n".join(
            f"LEAK {f['real_column']} -> {f['synthetic_column']}: {f['rows']} rows, {f['distinct_values']} values, "
            f"e.g. {', '.join(f['examples'])}"
            for f in self.findings
        )


def _explode(df: DataFrame, cols: Sequence[str], label: str, min_length: int) -> DataFrame:
    from pyspark.sql import functions as F

    pairs = F.array(*[F.struct(F.lit(c).alias(label), F.col(f"`{c}`").cast("string").alias("value")) for c in cols])
    out = df.select(F.explode(pairs).alias("p")).select(f"p.{label}", "p.value")
    return out.where(F.col("value").isNotNull() & (F.length(F.trim("value")) >= min_length))


def scan_leaks(
    real: DataFrame,
    synthetic: DataFrame,
    *,
    columns: Sequence[str] | Table | None = None,
    synthetic_columns: Sequence[str] | None = None,
    min_length: int = 4,
    sample_rows: int = 2000,
    spark: SparkSession | None = None,
) -> LeakReport:
    """Find original PII values of `real` that appear verbatim in any column of `synthetic`.

    Real values are exploded to (real_column, value), synthetic string columns to
    (synthetic_column, value), and the two are joined in Spark; only the small per-pair summary is
    collected. Examples are masked (all but the last two characters).

    Args:
        real: The original table.
        synthetic: The generated or scrubbed table.
        columns: The real PII columns: a list, a metadata `Table` (its columns with PII rules), or
            None to detect them on a sample of `real`.
        synthetic_columns: Columns of `synthetic` to search (default: every string column).
        min_length: Ignore values shorter than this (trims noise such as "M" or "12").
        sample_rows: Sample size when the PII columns are detected.
        spark: Unused; kept so every Spark function of the package takes it.

    Raises:
        PrivacyError: A named column is missing (raised before any Spark job).
    """
    from pyspark.sql import functions as F

    if isinstance(columns, Table):
        real_cols = [c.name for c in columns.columns if c.pii is not None and c.pii.action != "keep"]
        if not real_cols:
            raise PrivacyError(f"scan_leaks: table '{columns.name}' has no column with a PII rule. Add rules or pass columns=[...]")
    elif columns is not None:
        real_cols = list(columns)
    else:
        real_cols = []
    missing = [c for c in real_cols if c not in real.columns]
    if missing:
        raise PrivacyError(f"scan_leaks: real data has no column(s) {missing}. Known columns: {real.columns}")
    syn_cols = list(synthetic_columns) if synthetic_columns is not None else [
        f.name for f in synthetic.schema.fields if f.dataType.simpleString() == "string"
    ]
    missing = [c for c in syn_cols if c not in synthetic.columns]
    if missing:
        raise PrivacyError(f"scan_leaks: synthetic data has no column(s) {missing}. Known columns: {synthetic.columns}")
    if columns is None:
        real_cols = [d.column for d in detect_pii(real, sample_rows=sample_rows)]  # type: ignore[union-attr]
    if not real_cols or not syn_cols:
        _log.info("leak scan skipped", real_columns=real_cols, synthetic_columns=syn_cols)
        return LeakReport([], real_cols, syn_cols)
    real_vals = _explode(real, real_cols, "real_column", min_length).distinct()
    syn_vals = _explode(synthetic, syn_cols, "synthetic_column", min_length)
    joined = syn_vals.join(real_vals, on="value", how="inner")
    v = F.col("value")
    masked = F.concat(F.repeat(F.lit("*"), F.greatest(F.length(v) - 2, F.lit(0))), F.substring(v, -2, 2))
    summary = (
        joined.withColumn("masked", masked)
        .groupBy("real_column", "synthetic_column")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.count_distinct(v).alias("distinct_values"),
            F.array_distinct(F.array(F.min("masked"), F.max("masked"), F.min_by("masked", F.xxhash64(v)))).alias("examples"),
        )
        .orderBy(F.desc("rows"), "real_column", "synthetic_column")
    )
    findings = [r.asDict(recursive=True) for r in summary.collect()]
    report = LeakReport(findings, real_cols, syn_cols)
    rows = [(f["real_column"], f["synthetic_column"], f["rows"], f["distinct_values"], f["examples"]) for f in findings]
    report.frame = real.sparkSession.createDataFrame(rows, schema=_LEAK_SCHEMA)
    if findings:
        _log.warning("pii leak found", pairs=len(findings), rows=report.total_rows)
    else:
        _log.info("no pii leak", real_columns=real_cols, synthetic_columns=len(syn_cols))
    return report
