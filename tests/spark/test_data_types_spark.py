"""Detection and Spark fits on raw tables (issue 23): dates written as text or integers, column names
with dots, from detection through fit, sample, validation and writers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import Metadata, MetadataError
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.relational.plan import build_plan
from pyspark_synth.spark.fit_database import fit_database
from pyspark_synth.spark.fit_table import fit_table
from pyspark_synth.spark.metadata_detection import detect_metadata
from pyspark_synth.spark.sample_database import sample_database
from pyspark_synth.spark.sample_table import sample_table
from pyspark_synth.spark.subset import relational_sample
from pyspark_synth.validation.integrity import duplicate_key_count, orphan_rows


def _raw_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.Series(pd.date_range("1960-01-01", "2005-12-31", periods=n)).dt.normalize().sample(
        frac=1.0, random_state=seed).reset_index(drop=True)
    q = d + pd.to_timedelta(rng.integers(6_000, 9_000, n), unit="D")
    return pd.DataFrame({
        "driver_id": np.arange(1, n + 1),
        "dob": d.dt.strftime("%d/%m/%Y"),  # day first: a dd/mm guess would fail on day 13 and above
        "quali_date": q.dt.strftime("%Y%m%d").astype(np.int64),
        "race_date": q.dt.strftime("%Y-%m-%d"),
        "fp1_date": np.where(rng.random(n) < 0.3, "\\N", q.dt.strftime("%Y-%m-%d")),  # a CSV dump's nulls
        "mixed": np.where(np.arange(n) % 2 == 0, d.dt.strftime("%Y-%m-%d"), d.dt.strftime("%d/%m/%Y")),
        "not_a_date": rng.integers(19_000_000, 20_000_000, n),  # in range, but months and days out of range
        "points": rng.gamma(2.0, 5.0, n).round(1),
    })


@pytest.fixture(scope="module")
def raw(spark, tmp_path_factory):
    """The table as a CSV file read with inferSchema (dd/mm/yyyy stays text, yyyymmdd becomes int) plus
    the ISO column as text (as a CSV with a stray value, or a table written by another tool, has it)."""
    path = tmp_path_factory.mktemp("csv") / "drivers.csv"
    _raw_table().to_csv(path, index=False)
    df = spark.read.csv(str(path), header=True, inferSchema=True)
    return df.withColumn("race_date", df["race_date"].cast("string"))


def test_dates_in_text_and_integers_are_detected_as_datetimes(raw):
    types = {f.name: f.dataType.simpleString() for f in raw.schema.fields}
    assert types["dob"] == "string" and types["quali_date"] == "int" and types["race_date"] == "string"
    report = detect_metadata({"drivers": raw})
    cols = {c.name: c for c in report.metadata.table("drivers").columns}
    assert cols["dob"].type == "datetime" and cols["dob"].sql_type == "string"
    assert cols["quali_date"].type == "datetime" and cols["quali_date"].sql_type == "int"
    assert cols["race_date"].type == "datetime" and cols["fp1_date"].type == "datetime"
    assert cols["mixed"].type != "datetime" and cols["not_a_date"].type == "numerical"
    assert any("'dob'" in n and "%d/%m/%Y" in n for n in report.notes), report.notes


def test_a_faked_date_of_birth_is_written_as_the_real_column_writes_dates(spark, raw, tmp_path):
    reg = ModelRegistry(tmp_path / "reg")
    entry = fit_table(raw, table="drivers", backend="copula", seed=0, registry=reg)  # pii="suggest"
    formats = {f.column: f.date_format for f in entry.spec.fakes}
    assert formats["dob"] == "%d/%m/%Y"  # ('mixed', dates in several formats, is faked in ISO)
    out = sample_table(spark, "drivers", 300, seed=1, registry=reg)
    assert {f.name: f.dataType.simpleString() for f in out.schema.fields}["dob"] == "string"
    syn = out.toPandas()["dob"].dropna()
    assert len(syn) > 0 and syn.str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    assert pd.to_datetime(syn, format="%d/%m/%Y", errors="coerce").notna().all()


def test_dates_come_back_in_their_representation_from_spark(spark, raw, tmp_path):
    real = raw.toPandas()
    reg = ModelRegistry(tmp_path / "reg")
    # `dob` looks like a date of birth, which would be faked (see the next test): learned as it is here
    fit_table(raw, table="drivers", backend="copula", seed=0, registry=reg, pii="ignore")
    out = sample_table(spark, "drivers", 500, seed=1, registry=reg)
    types = {f.name: f.dataType.simpleString() for f in out.schema.fields}
    assert types["dob"] == "string" and types["quali_date"] == "int"
    syn = out.toPandas()
    dob = pd.to_datetime(syn["dob"], format="%d/%m/%Y", errors="coerce")
    assert syn["dob"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all() and dob.notna().all()
    real_dob = pd.to_datetime(real["dob"], format="%d/%m/%Y")
    assert dob.min() >= real_dob.min() and dob.max() <= real_dob.max()
    assert (dob.dt.day > 12).mean() > 0.3  # days above 12: read day first, not month first
    assert not set(syn["dob"]) <= set(real["dob"])  # dates are generated, not replayed like categories
    quali = pd.to_datetime(syn["quali_date"].astype(str), format="%Y%m%d", errors="coerce")
    assert quali.notna().all() and quali.min() >= pd.to_datetime(real["quali_date"].astype(str)).min()
    race = pd.to_datetime(syn["race_date"], format="%Y-%m-%d", errors="coerce")
    assert race.notna().all() and syn["race_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    fp1 = syn["fp1_date"]
    assert 0.1 < (fp1 == "\\N").mean() < 0.5 and fp1[fp1 != "\\N"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


# ------------------------------------------------------------------------------ dotted names
def _dotted(spark):
    rng = np.random.default_rng(0)
    parks = pd.DataFrame({"park.key": [f"P{i:02d}" for i in range(30)], "park.size": rng.integers(1, 100, 30),
                          "city": rng.choice(["a", "b"], 30)})
    teams = pd.DataFrame({"team.id": [f"T{i}" for i in range(12)], "lg.code": rng.choice(["AL", "NL"], 12)})
    games = pd.DataFrame({"game.id": np.arange(300), "park.key": rng.choice(parks["park.key"], 300),
                          "home.team": rng.choice(teams["team.id"], 300),
                          "away.team": rng.choice(teams["team.id"], 300), "att.n": rng.normal(size=300)})
    rows = [(y, t, s) for y in (2000, 2001) for t in teams["team.id"] for s in (1, 2)]
    stints = pd.DataFrame(rows, columns=["year.no", "team.id", "stint.n"])
    stints["g.count"] = rng.integers(1, 160, len(stints))
    frames = {"parks": parks, "teams": teams, "games": games, "stints": stints}
    md = (Metadata().add_table("parks", pk="park.key").add_table("teams", pk="team.id")
          .add_table("games", pk="game.id", fk={"park.key": "parks.park.key", "home.team": "teams.team.id",
                                                "away.team": "teams.team.id"}, parent_context_cols=["park.size"])
          .add_table("stints", pk=["year.no", "team.id", "stint.n"], fk={"team.id": "teams.team.id"}))
    return {k: spark.createDataFrame(v) for k, v in frames.items()}, md


@pytest.mark.slow
def test_column_names_with_dots_work_end_to_end(spark, tmp_path):
    from pyspark_synth.io.writers import write_tables
    from pyspark_synth.validation.validate import validate

    frames, md = _dotted(spark)
    detected = detect_metadata({k: frames[k] for k in ("teams", "stints")}).metadata
    assert detected.table("teams").primary_key == ("team.id",)
    assert [fk.columns for fk in detected.table("stints").foreign_keys] == [("team.id",)]
    reg = ModelRegistry(tmp_path / "reg")
    report = fit_database(spark, md, frames, backend="copula", seed=0, registry=reg)
    syn = sample_database(spark, report.metadata, seed=1, registry=reg)
    assert syn["games"].columns == frames["games"].columns
    for fk in report.metadata.table("games").foreign_keys:
        assert orphan_rows(syn["games"], syn[fk.parent_table], fk).count() == 0
        assert syn["games"].where(syn["games"][f"`{fk.columns[0]}`"].isNull()).count() == 0
    assert duplicate_key_count(syn["stints"], ["year.no", "team.id", "stint.n"]) == 0
    sub = relational_sample(build_plan(report.metadata), frames, 120, seed=0)  # a consistent subset
    assert 0 < sub["games"].count() < 300
    assert orphan_rows(sub["games"], sub["parks"], report.metadata.table("games").foreign_keys[0]).count() == 0
    result = validate(frames, syn, report.metadata, privacy=False, pairs=False)
    assert "games" in result.tables
    written = write_tables(syn, str(tmp_path / "out"), format="parquet")
    back = spark.read.parquet(written["games"])
    assert back.columns == frames["games"].columns and back.count() == syn["games"].count()


def test_unusable_column_names_are_refused_with_a_rename_hint(spark):
    df = spark.createDataFrame(pd.DataFrame({"a`b": [1, 2], "c": [3, 4]}))
    with pytest.raises(MetadataError, match=r"column names \['a`b'\] are not usable.*withColumnRenamed"):
        detect_metadata({"t": df})
    with pytest.raises(MetadataError, match=r"Key column name 'a`b' is not usable.*withColumnRenamed"):
        Metadata().add_table("t", pk="a`b")
