"""Lookup tables (code lists): copied as they are, and the keys to them learned by their children."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from pyspark_synth import Metadata
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.spark.fit_database import fit_database
from pyspark_synth.spark.sample_database import sample_database


def test_a_code_list_keeps_its_labels_while_a_rare_value_of_its_child_is_never_generated(spark, tmp_path):
    """Two of the 12 genres have no track (a code list need not be in use row for row, as
    northwind's shippers or a subset's airlines): the list is still copied, every label with it."""
    rng = np.random.default_rng(0)
    genres = pd.DataFrame({"genre_id": np.arange(1, 13), "name": [f"Genre {chr(65 + i)}" for i in range(12)]})
    n = 600
    mood = rng.choice(["calm", "loud", "sad"], n).astype(object)
    mood[17] = "one-of-a-kind"  # held by one track: rare-value protection must never generate it
    tracks = pd.DataFrame({"track_id": np.arange(1, n + 1), "genre_id": np.arange(n) % 10 + 1, "mood": mood})
    md = Metadata().add_table("genres", pk="genre_id")
    md.add_table("tracks", pk="track_id", fk={"genre_id": "genres.genre_id"})
    reg = ModelRegistry(tmp_path / "r")
    report = fit_database(spark, md, {"genres": spark.createDataFrame(genres), "tracks": spark.createDataFrame(tracks)},
                          backend="copula", seed=0, registry=reg, pii="ignore")
    assert any("'genres': a lookup table" in n for n in report.notes)
    out = sample_database(spark, report.metadata, seed=1, registry=reg, scale=3.0)
    copy = out["genres"].toPandas().sort_values("genre_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(copy, genres, check_dtype=False)  # modelled, each one-row label was null
    used = set(out["tracks"].toPandas()["genre_id"])
    assert used == set(range(1, 11))  # the unused codes stay unused, every used one keeps children
    moods = set(out["tracks"].toPandas()["mood"].dropna())
    assert "one-of-a-kind" not in moods and moods <= {"calm", "loud", "sad"}


def test_a_lookup_table_is_copied_and_the_key_to_it_is_learned_with_the_childs_columns(spark, tmp_path):
    """A code list comes back exactly (each code with its label, at any scale) and its children's
    key to it is drawn with their other columns: a track's genre goes with its length. Dealt like
    a key to any parent, genre and length were independent, and the genre table was a model's."""
    from pyspark_synth.errors import DataError
    from pyspark_synth.spark.sample_database import explain
    from pyspark_synth.spark.sample_table import sample_table

    rng = np.random.default_rng(1)
    genres = pd.DataFrame({"genre_id": np.arange(1, 9), "name": [f"g{chr(97 + i)}x" for i in range(8)],
                           "loaded": pd.Timestamp("2020-01-01")})  # a stamp the same on every row
    n = 800
    genre = rng.integers(1, 9, n)
    tracks = pd.DataFrame({"track_id": np.arange(1, n + 1), "genre_id": genre,
                           "seconds": genre * 60.0 + rng.normal(0, 5, n)})
    md = Metadata().add_table("genres", pk="genre_id")
    md.add_table("tracks", pk="track_id", fk={"genre_id": "genres.genre_id"})
    reg = ModelRegistry(tmp_path / "r")
    report = fit_database(spark, md, {"genres": spark.createDataFrame(genres), "tracks": spark.createDataFrame(tracks)},
                          backend="copula", seed=0, registry=reg, pii="ignore")
    assert any("'genres': a lookup table" in n and "copied as it is" in n for n in report.notes)
    assert any("'genre_id -> genres.genre_id' to the copied lookup table 'genres' is learned" in n for n in report.notes)
    assert reg.get("genres").spec.backend == "copy" and [k.columns for k in reg.get("tracks").spec.learned_keys] == [("genre_id",)]
    assert "copied: its real rows" in explain(spark, report.metadata, registry=reg)

    out = sample_database(spark, report.metadata, seed=1, registry=reg, scale=2.0)
    copy = out["genres"].toPandas().sort_values("genre_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(copy, genres, check_dtype=False)
    synth = out["tracks"].toPandas()
    assert abs(len(synth) - 2 * n) <= 0.02 * 2 * n
    assert synth["genre_id"].notna().all() and set(synth["genre_id"]) <= set(genres["genre_id"])
    assert synth["genre_id"].nunique() == 8
    assert np.corrcoef(synth["genre_id"], synth["seconds"])[0, 1] > 0.9  # independent when dealt: about 0

    # the child is a root now: its size can be asked for; the copy keeps its rows
    sized = sample_database(spark, report.metadata, {"tracks": 50}, seed=1, registry=reg)
    assert sized["tracks"].count() == 50 and sized["genres"].count() == 8
    with pytest.raises(DataError, match=r"'genres' is a lookup table copied as it is \(8 rows"):
        sample_table(spark, "genres", 5, registry=reg)
    with pytest.raises(DataError, match=r"'genres' is a lookup table copied as it is"):
        sample_database(spark, report.metadata, {"genres": 3}, registry=reg)


def test_a_lookup_table_whose_column_a_privacy_rule_changes_is_modelled_not_copied(spark, tmp_path):
    from pyspark_synth import PIIRule, PrivacyConfig

    codes = pd.DataFrame({"code_id": np.arange(1, 7), "label": [f"c{i}q" for i in range(6)]})
    facts = pd.DataFrame({"fact_id": np.arange(300), "code_id": np.arange(300) % 6 + 1,
                          "x": np.random.default_rng(2).normal(size=300)})
    md = Metadata().add_table("codes", pk="code_id").add_table("facts", pk="fact_id", fk={"code_id": "codes.code_id"})
    reg = ModelRegistry(tmp_path / "r")
    report = fit_database(spark, md, {"codes": spark.createDataFrame(codes), "facts": spark.createDataFrame(facts)},
                          backend="copula", seed=0, registry=reg, pii="ignore",
                          privacy=PrivacyConfig(rules={"codes": {"label": PIIRule(action="fake", kind="person_name")}}))
    assert any("'codes': a lookup table" in n and "not copied: the privacy step changes" in n for n in report.notes)
    assert reg.get("codes").spec.backend != "copy" and reg.get("facts").spec.learned_keys == ()
    out = sample_database(spark, report.metadata, seed=1, registry=reg)
    assert not set(out["codes"].toPandas()["label"].dropna()) & set(codes["label"])


def test_every_code_of_a_learned_key_keeps_its_children_in_the_real_range(spark, tmp_path):
    """Codes held by 1..4 real tracks are below the rare-value threshold, so the model never draws
    them, and a code of one track is missed by chance anyway: they got no children at all (an
    SDMetrics relationship-validity failure), while the big codes went past their real count.
    Every code now ends within the real range of children per code, the table keeps its size and
    the same seeds give the same rows."""
    rng = np.random.default_rng(3)
    held = np.array([1, 1, 2, 3, 4, 30, 60, 90, 120, 150])  # real tracks per genre
    genres = pd.DataFrame({"genre_id": np.arange(1, 11), "name": [f"g{chr(97 + i)}q" for i in range(10)]})
    genre = np.repeat(genres["genre_id"].to_numpy(), held)
    n = len(genre)
    albums = pd.DataFrame({"album_id": np.arange(1, 61), "year": rng.integers(1970, 2020, 60)})
    tracks = pd.DataFrame({"track_id": np.arange(1, n + 1), "album_id": rng.integers(1, 61, n), "genre_id": genre,
                           "seconds": genre * 30.0 + rng.normal(0, 5, n)})
    md = Metadata().add_table("genres", pk="genre_id").add_table("albums", pk="album_id")
    md.add_table("tracks", pk="track_id", fk={"genre_id": "genres.genre_id", "album_id": "albums.album_id"})
    reg = ModelRegistry(tmp_path / "r")
    frames = {"genres": spark.createDataFrame(genres), "albums": spark.createDataFrame(albums),
              "tracks": spark.createDataFrame(tracks)}
    report = fit_database(spark, md, frames, backend="copula", seed=0, registry=reg, pii="ignore")
    (key,) = reg.get("tracks").spec.learned_keys
    assert key.columns == ("genre_id",) and list(key.children) == held.tolist()

    first = sample_database(spark, report.metadata, seed=4, registry=reg)["tracks"].toPandas()
    per_code = first["genre_id"].value_counts().reindex(genres["genre_id"], fill_value=0)
    assert per_code.min() >= 1 and per_code.max() <= held.max()
    assert abs(len(first) - n) <= 0.05 * n and first["genre_id"].notna().all()
    # few rows move (5 here, one per code never drawn; the model's own draws give 0.86, real 0.99),
    # and a moved row keeps its other columns: it costs the pair a little
    assert np.corrcoef(first["genre_id"], first["seconds"])[0, 1] > 0.7
    again = sample_database(spark, report.metadata, seed=4, registry=reg)["tracks"].toPandas()
    order = ["track_id"]
    pd.testing.assert_frame_equal(first.sort_values(order).reset_index(drop=True),
                                  again.sort_values(order).reset_index(drop=True))

    # a root child asked for at another size: the range scales with it
    double = sample_database(spark, report.metadata, {"albums": 120}, seed=5, registry=reg)["tracks"].toPandas()
    per_code = double["genre_id"].value_counts().reindex(genres["genre_id"], fill_value=0)
    assert per_code.min() >= 2 and per_code.max() <= 2 * held.max()


def test_copy_lookups_that_make_no_sense_are_refused_before_any_job(spark, tmp_path):
    from pyspark_synth.errors import DataError

    md = Metadata().add_table("codes", pk="code_id").add_table("facts", pk="fact_id", fk={"code_id": "codes.code_id"})
    frames = {"codes": spark.range(3).withColumnRenamed("id", "code_id"),
              "facts": spark.range(3).select(F.col("id").alias("fact_id"), F.col("id").alias("code_id"))}
    for bad, message in [("codes", "must be True .* or a list of table names to copy, got 'codes'"),
                         (["codez"], r"names \['codez'\], which are not tables of the metadata")]:
        with pytest.raises(DataError, match=message):
            fit_database(spark, md, frames, backend="copula", registry=ModelRegistry(tmp_path / "bad"), copy_lookups=bad)
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())


@pytest.mark.slow
def test_copy_lookups_says_which_lookup_tables_may_be_copied(spark, tmp_path):
    codes = pd.DataFrame({"code_id": np.arange(1, 7), "label": [f"c{i}q" for i in range(6)]})
    facts = pd.DataFrame({"fact_id": np.arange(240), "code_id": np.arange(240) % 6 + 1,
                          "x": np.random.default_rng(4).normal(size=240)})
    md = Metadata().add_table("codes", pk="code_id").add_table("facts", pk="fact_id", fk={"code_id": "codes.code_id"})
    frames = {"codes": spark.createDataFrame(codes), "facts": spark.createDataFrame(facts)}
    reg = ModelRegistry(tmp_path / "r")
    report = fit_database(spark, md, frames, backend="copula", seed=0, registry=reg, pii="ignore",
                          copy_lookups=["facts"])
    assert any("'codes': a lookup table" in n and "copy_lookups leaves it out" in n for n in report.notes)
    assert any("'facts': named in copy_lookups, but not a lookup table" in n for n in report.notes)
    assert reg.get("codes").spec.backend != "copy" and reg.get("facts").spec.learned_keys == ()
    assert not any("learned without rare-value protection" in n for n in report.notes)  # modelled as any table
    out = sample_database(spark, report.metadata, seed=1, registry=reg)
    keys = set(out["codes"].toPandas()["code_id"])
    assert set(out["facts"].toPandas()["code_id"].dropna()) <= keys


def test_a_lookup_table_the_training_sample_cuts_is_still_copied_whole(spark, tmp_path):
    """The children name the lookup as their driving parent (its label is their context), and
    `sample_size` samples it as the root of their chain: 16 codes copied, a spec of the sample's
    fewer rows was refused ('16 copied rows for a table of 13 real rows')."""
    rng = np.random.default_rng(0)
    genres = pd.DataFrame({"genre_id": np.arange(1, 17), "name": [f"Genre {chr(65 + i)}" for i in range(16)]})
    n = 150
    tracks = pd.DataFrame({"track_id": np.arange(1, n + 1), "genre_id": np.minimum(rng.geometric(0.35, n), 16),
                           "seconds": rng.normal(200, 20, n)})
    md = Metadata().add_table("genres", pk="genre_id")
    md.add_table("tracks", pk="track_id", fk={"genre_id": "genres.genre_id"}, parent_context_cols=["name"])
    reg = ModelRegistry(tmp_path / "r")
    report = fit_database(spark, md, {"genres": spark.createDataFrame(genres), "tracks": spark.createDataFrame(tracks)},
                          backend="copula", seed=0, registry=reg, pii="ignore", sample_size=n)
    assert reg.get("genres").spec.backend == "copy" and reg.get("genres").spec.row_count == 16
    out = sample_database(spark, report.metadata, seed=1, registry=reg)
    copy = out["genres"].toPandas().sort_values("genre_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(copy, genres, check_dtype=False)
    assert out["tracks"].join(out["genres"], "genre_id", "left_anti").count() == 0
