"""Metadata detection: a first draft of types, primary keys and foreign keys from Spark DataFrames."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark_synth._log import get_logger
from pyspark_synth.errors import DataError, MetadataError
from pyspark_synth.metadata import (
    Column,
    ForeignKey,
    Metadata,
    Table,
    generated_key_columns,
    register_detector,
    type_family,
)
from pyspark_synth.validation.integrity import FKCheck, check_foreign_key
from pyspark_synth.validation.kinds import quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["DetectionReport", "detect_metadata", "check_metadata_against_data", "spark_type_string"]

_log = get_logger("detect")

_KEYLIKE_FAMILIES = {"integer", "string"}
_DATE_SAMPLE_ROWS = 2000  # rows a column's date format is learned from (every row is checked after)
_ID_SUFFIXES = ("id", "_id", "key", "_key", "code", "_code", "num", "_no", "number")


@dataclass
class DetectionReport:
    """What detection found: the draft metadata and the foreign-key problems seen in the data."""

    metadata: Metadata
    fk_checks: list[FKCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """One line per foreign key that does not fully resolve."""
        return [c.message() for c in self.fk_checks if not c.ok]


def spark_type_string(dtype: Any) -> str:
    """The SQL type string of a Spark DataType ('bigint', 'decimal(10,2)', 'timestamp', ...)."""
    return dtype.simpleString()


def _resolve_frames(tables: Mapping[str, Any], spark: Any = None) -> dict[str, DataFrame]:
    from pyspark.sql import SparkSession

    out = {}
    for name, df in tables.items():
        if hasattr(df, "schema") and hasattr(df, "agg"):
            out[name] = df
            continue
        session = spark or SparkSession.getActiveSession()
        if session is None:
            raise DataError(f"Table '{name}': got {type(df).__name__}; pass Spark DataFrames or start a SparkSession")
        if isinstance(df, str):
            out[name] = session.read.table(df)
        else:
            import pandas as pd

            if isinstance(df, pd.DataFrame):
                out[name] = session.createDataFrame(df)
            else:
                raise DataError(
                    f"Table '{name}': cannot read a {type(df).__name__}; give a Spark DataFrame, a pandas "
                    "DataFrame or a catalog table name"
                )
    return out


def _is_keyish_name(col: str, table: str) -> bool:
    c = col.lower()
    t = table.lower().rstrip("s")
    return c in {"id", f"{t}_id", f"{t}id", f"{t}key", f"{t}_key"} or c.endswith(_ID_SUFFIXES)


def _profile(name: str, df: DataFrame, max_categories: int) -> tuple[int, dict[str, dict[str, Any]]]:
    from pyspark.sql import functions as F

    fields = df.schema.fields
    aggs = [F.count(F.lit(1)).alias("__n")]
    for i, f in enumerate(fields):
        c = F.col(f"`{f.name}`")
        aggs.append(F.sum(F.when(c.isNull(), 1).otherwise(0)).alias(f"n{i}"))
        fam = type_family(spark_type_string(f.dataType))
        if fam in _KEYLIKE_FAMILIES or fam in {"fractional", "date", "timestamp", "boolean"}:
            aggs.append(F.count_distinct(c).alias(f"d{i}"))  # exact: HLL over many columns is far slower
        if fam == "integer":  # the range says whether the values could be dates written as yyyymmdd
            aggs += [F.min(c).alias(f"lo{i}"), F.max(c).alias(f"hi{i}")]
        if fam == "string":
            aggs.append(F.avg(F.length(c)).alias(f"l{i}"))
            aggs.append(F.max(F.size(F.split(c, " "))).alias(f"w{i}"))
    row = df.agg(*aggs).first().asDict()
    n = int(row["__n"])
    prof = {}
    for i, f in enumerate(fields):
        prof[f.name] = {
            "sql_type": spark_type_string(f.dataType),
            "family": type_family(spark_type_string(f.dataType)),
            "nulls": int(row.get(f"n{i}") or 0),
            "distinct": int(row[f"d{i}"]) if row.get(f"d{i}") is not None else None,
            "avg_len": float(row[f"l{i}"]) if row.get(f"l{i}") is not None else None,
            "max_words": int(row[f"w{i}"]) if row.get(f"w{i}") is not None else None,
            "spark_nullable": f.nullable,
            "min": row.get(f"lo{i}"),
            "max": row.get(f"hi{i}"),
            "date_format": None,
        }
    _date_formats(df, prof)
    return n, prof


def _date_formats(df: DataFrame, prof: dict[str, dict[str, Any]]) -> None:
    """Set `date_format` on the string and integer columns whose every value is a date in one format.

    The format is learned from the distinct values of the first rows (`dateformats.learn_format`,
    the function the models read the values with), then every row is checked in one Spark job:
    the value has the format's exact shape and parses as a valid date with it.
    """
    from pyspark.sql import functions as F

    from pyspark_synth.transformers.dateformats import (
        is_integer_format,
        java_pattern,
        learn_format,
        null_marker,
        value_regex,
    )

    def could_be_dates(p: dict[str, Any]) -> bool:
        if p["family"] == "string":
            return bool(p["distinct"])
        return p["family"] == "integer" and p["min"] is not None and 101 <= p["min"] and p["max"] <= 21991231

    cols = [c for c, p in prof.items() if could_be_dates(p)]
    if not cols:
        return
    import pandas as pd

    rows = df.select(*[quoted(c) for c in cols]).limit(_DATE_SAMPLE_ROWS).collect()
    learned = {}
    for j, c in enumerate(cols):
        values = pd.Series([r[j] for r in rows], dtype="Int64" if prof[c]["family"] == "integer" else object)
        fmt = learn_format(values)
        if fmt is not None:
            learned[c] = fmt
    if not learned:
        return
    checks = []
    for j, (c, fmt) in enumerate(learned.items()):
        col = quoted(c)
        text = col
        if is_integer_format(fmt):
            text = F.lpad(col.cast("string"), 6 if "%y" in fmt else 8, "0")
        bad = col.isNotNull() & (~text.rlike(f"^{value_regex(fmt)}$") |
                                 F.try_to_timestamp(text, F.lit(java_pattern(fmt))).isNull())
        marker = null_marker(fmt)
        if marker is not None:  # missing values written as "\\N", "NA", ...
            bad = bad & (col != F.lit(marker))
        checks.append(F.sum(F.when(bad, 1).otherwise(0)).alias(f"b{j}"))
    row = df.agg(*checks).first()
    for j, (c, fmt) in enumerate(learned.items()):
        if not row[f"b{j}"]:
            prof[c]["date_format"] = fmt


def _distinct_values(df: DataFrame, table: str, col: str, cache: dict[tuple[str, str], set], limit: int = 200_000) -> set:
    """The distinct non-null values of a column, collected once (bounded: a key set of a draft)."""
    if (table, col) not in cache:
        c = quoted(col)
        rows = df.select(c).where(c.isNotNull()).distinct().limit(limit).collect()
        cache[(table, col)] = {r[0] for r in rows}
    return cache[(table, col)]


def _semantic_type(col: str, p: dict[str, Any], n: int, is_key: bool, max_categories: int) -> str:
    fam = p["family"]
    if is_key:
        return "id"
    if fam == "boolean":
        return "boolean"
    if fam in {"date", "timestamp", "timestamp_ntz"} or p.get("date_format"):
        return "datetime"  # also text or integers that all write dates in one format ("14/03/2021", 20210314)
    if fam in {"integer", "fractional"}:
        return "numerical"
    if fam == "string":
        distinct = p["distinct"] or 0
        if distinct <= max_categories or distinct <= 0.05 * max(n, 1):
            return "categorical"
        if (p["avg_len"] or 0) > 30 and (p["max_words"] or 0) > 3:
            return "text"
        if distinct > 0.5 * (n - p["nulls"]):
            return "text"  # nearly one value per row (names, titles): free text, not a category to learn
        return "categorical"
    return "categorical"


def _candidate_pk(
    name: str, df: DataFrame, n: int, prof: dict[str, dict[str, Any]], shared: list[str], max_composite: int
) -> tuple[str, ...]:
    from pyspark.sql import functions as F

    singles = [
        c
        for c, p in prof.items()
        if p["family"] in _KEYLIKE_FAMILIES and p["nulls"] == 0 and p["distinct"] == n and n > 0
    ]
    if singles:
        singles.sort(key=lambda c: (not _is_keyish_name(c, name), list(prof).index(c)))
        return (singles[0],)
    if n == 0:
        return ()
    # composite: smallest set of columns shared with other tables (by name) that is unique and non-null
    pool = [c for c in shared if prof[c]["nulls"] == 0 and prof[c]["family"] != "fractional"]
    for size in range(2, min(max_composite, len(pool)) + 1):
        combos = list(itertools.combinations(pool, size))[:64]
        if not combos:
            continue
        row = df.agg(*[F.count_distinct(*[F.col(f"`{c}`") for c in combo]).alias(f"c{i}") for i, combo in enumerate(combos)]).first()
        unique = [combo for i, combo in enumerate(combos) if row[f"c{i}"] == n]
        if unique:
            unique.sort(key=lambda combo: sum(prof[c]["family"] == "integer" for c in combo))
            return tuple(unique[0])
    return ()


def detect_metadata(
    tables: Mapping[str, Any],
    *,
    spark: Any = None,
    max_categories: int = 50,
    containment_threshold: float = 0.9,
    max_composite_key: int = 3,
) -> DetectionReport:
    """Infer metadata (semantic types, primary keys, foreign keys) from DataFrames.

    Candidate primary keys are unique, non-null integer or string columns (key-like names first),
    else the smallest unique combination of columns that another table shares by name. Foreign
    keys are proposed where a column has the name of another table's key (composite keys when a
    table has every column of a composite key), or where at least `containment_threshold` of a
    string column's distinct values are contained in another table's single-column key. Foreign
    keys that do not fully resolve are kept, and reported with counts as warnings.

    Args:
        tables: `{name: DataFrame}` (Spark or pandas DataFrames, or catalog table names).
        spark: Session used to convert pandas DataFrames and read table names.
        max_categories: A string column with at most this many values is categorical.
        containment_threshold: Share of distinct values that must resolve for a value-based FK.
        max_composite_key: Largest composite primary key tried.

    Returns:
        A DetectionReport with the draft metadata, FK checks and notes.
    """
    frames = _resolve_frames(tables, spark)
    if not frames:
        raise DataError("detect_metadata needs at least one table")
    cached = [df for df in frames.values() if not df.is_cached]
    for df in cached:
        df.persist()
    try:
        return _detect(frames, max_categories, containment_threshold, max_composite_key)
    finally:
        for df in cached:
            df.unpersist()


def _detect(
    frames: dict[str, DataFrame], max_categories: int, containment_threshold: float, max_composite_key: int
) -> DetectionReport:
    for name, df in frames.items():
        bad = [col for col in df.columns if "`" in col or col != col.strip() or not col]
        if bad:
            raise MetadataError(
                f"Table '{name}': column names {bad} are not usable (backticks, surrounding spaces or empty). "
                "Rename them before detection, e.g. df.withColumnRenamed(old, new); dots are fine")
    profiles: dict[str, tuple[int, dict[str, dict[str, Any]]]] = {}
    for name, df in frames.items():
        profiles[name] = _profile(name, df, max_categories)

    pks: dict[str, tuple[str, ...]] = {}
    for name, df in frames.items():
        others = {c for o, f in frames.items() if o != name for c in f.columns}
        shared = [c for c in df.columns if c in others]
        n, prof = profiles[name]
        pks[name] = _candidate_pk(name, df, n, prof, shared, max_composite_key)

    fks: dict[str, list[ForeignKey]] = {name: [] for name in frames}
    value_cache: dict[tuple[str, str], set] = {}
    checks: list[FKCheck] = []
    notes: list[str] = []
    for child, cdf in frames.items():
        _, cprof = profiles[child]
        used: set[str] = set()  # columns already in a single-column foreign key
        # name-based, composite first so a composite key claims its columns
        for parent, pk in sorted(pks.items(), key=lambda kv: -len(kv[1])):
            if parent == child or not pk or not all(c in cprof for c in pk):
                continue
            if tuple(pk) == tuple(pks.get(child, ())):
                continue  # the same key as the child's own: a 1:1 sibling, not a parent
            if any(type_family(cprof[c]["sql_type"]) != profiles[parent][1][c]["family"] for c in pk):
                continue
            if set(pk) & used:
                continue
            fks[child].append(ForeignKey(columns=pk, parent_table=parent, parent_columns=pk))
            if len(pk) == 1:
                used.update(pk)
        # value containment for string columns against single-column string keys
        for col, p in cprof.items():
            if col in used or (col,) == tuple(pks.get(child, ())) or p["family"] != "string" or not p["distinct"]:
                continue
            for parent, pk in pks.items():
                if parent == child or len(pk) != 1 or profiles[parent][1][pk[0]]["family"] != "string":
                    continue
                pdistinct = profiles[parent][1][pk[0]]["distinct"] or 0
                if p["distinct"] > pdistinct * 1.5 + 5:
                    continue
                probe = ForeignKey(columns=(col,), parent_table=parent, parent_columns=pk)
                hits = len(_distinct_values(cdf, child, col, value_cache) & _distinct_values(frames[parent], parent, pk[0], value_cache))
                if hits / p["distinct"] >= containment_threshold:
                    fks[child].append(probe)
                    used.add(col)
                    break
    for child, cdf in frames.items():
        for fk in fks[child]:
            chk = check_foreign_key(child, cdf, frames[fk.parent_table], fk)
            checks.append(chk)
            if not chk.ok:
                _log.warning("foreign key does not fully resolve", **chk.to_dict())

    md = Metadata()
    for name in frames:
        n, prof = profiles[name]
        keys = set(generated_key_columns(pks[name], {c for fk in fks[name] for c in fk.columns})) | {
            c for fk in fks[name] for c in fk.columns}
        cols = []
        for col, p in prof.items():
            stype = _semantic_type(col, p, n, col in keys, max_categories)
            if stype == "datetime" and p.get("date_format"):
                notes.append(f"Table '{name}': column '{col}' ({p['sql_type']}) holds dates written as "
                             f"{p['date_format'].removeprefix('int:')!r}: typed datetime, generated in that format")
            cols.append(Column(name=col, type=stype, sql_type=p["sql_type"], nullable=p["nulls"] > 0 or col not in pks[name]))  # type: ignore[arg-type]
        if not pks[name]:
            notes.append(f"Table '{name}': no primary key candidate found (no unique non-null column or combination)")
        md.tables = {
            **md.tables,
            name: Table(name=name, columns=tuple(cols), primary_key=pks[name], foreign_keys=tuple(fks[name])),
        }
    # a cycle in a draft is broken by dropping the value-based FK that closes it, and noted
    while (cycle := md.find_cycle()) is not None:
        child, parent = cycle[0], cycle[1]
        t = md.tables[child]
        kept = tuple(fk for fk in t.foreign_keys if fk.parent_table != parent)
        notes.append(f"Dropped the foreign key {child} -> {parent}: it closes the cycle {' -> '.join(cycle)}")
        md.tables = {**md.tables, child: t.model_copy(update={"foreign_keys": kept})}
    md.validate()
    return DetectionReport(metadata=md, fk_checks=checks, notes=notes)


def check_metadata_against_data(metadata: Metadata, tables: Mapping[str, DataFrame]) -> list[FKCheck]:
    """Check every foreign key of `metadata` on the data with left-anti joins; warnings are logged."""
    out = []
    for name, table in metadata.tables.items():
        if name not in tables:
            continue
        for fk in table.foreign_keys:
            if fk.parent_table not in tables:
                continue
            chk = check_foreign_key(name, tables[name], tables[fk.parent_table], fk)
            out.append(chk)
            if not chk.ok:
                _log.warning("foreign key does not fully resolve", **chk.to_dict())
    return out


register_detector(detect_metadata)  # Metadata.detect delegates here
