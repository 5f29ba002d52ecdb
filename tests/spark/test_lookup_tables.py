"""A lookup table (a code list) is learned without rare-value protection; other tables keep it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pyspark_synth import Metadata
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.spark.fit_database import fit_database
from pyspark_synth.spark.sample_database import sample_database


def test_a_code_list_keeps_its_labels_while_a_rare_value_of_its_child_is_never_generated(spark, tmp_path):
    rng = np.random.default_rng(0)
    genres = pd.DataFrame({"genre_id": np.arange(1, 13), "name": [f"Genre {chr(65 + i)}" for i in range(12)]})
    n = 600
    mood = rng.choice(["calm", "loud", "sad"], n).astype(object)
    mood[17] = "one-of-a-kind"  # held by one track: rare-value protection must never generate it
    tracks = pd.DataFrame({"track_id": np.arange(1, n + 1), "genre_id": np.arange(n) % 12 + 1, "mood": mood})
    md = Metadata().add_table("genres", pk="genre_id")
    md.add_table("tracks", pk="track_id", fk={"genre_id": "genres.genre_id"})
    reg = ModelRegistry(tmp_path / "r")
    report = fit_database(spark, md, {"genres": spark.createDataFrame(genres), "tracks": spark.createDataFrame(tracks)},
                          backend="copula", seed=0, registry=reg, pii="ignore")
    assert any("'genres': a lookup table" in n for n in report.notes)
    out = sample_database(spark, report.metadata, seed=1, registry=reg, scale=3.0)
    names = out["genres"].toPandas()["name"]
    assert names.notna().all() and set(names) <= set(genres["name"]) and names.nunique() > 6
    moods = set(out["tracks"].toPandas()["mood"].dropna())
    assert "one-of-a-kind" not in moods and moods <= {"calm", "loud", "sad"}
