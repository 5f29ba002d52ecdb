"""on_orphan="nearest": a composite key's orphans take the parent key next to theirs (the default)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pyspark_synth import Metadata
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.metadata import ForeignKey
from pyspark_synth.spark.fit_database import fit_database, nearest_parent_keys
from pyspark_synth.spark.sample_database import sample_database
from pyspark_synth.validation.integrity import orphan_rows


def test_the_default_policy_is_null_for_one_column_and_nearest_for_a_composite_key():
    md = Metadata().add_table("w", pk=["site", "hour"]).add_table("s", pk="site") \
        .add_table("f", pk="id", fk={("site", "hour"): "w.site,hour", "site": "s.site"})
    policies = {fk.columns: fk.on_orphan for fk in md.table("f").foreign_keys}
    assert policies == {("site", "hour"): "nearest", ("site",): "null"}
    assert Metadata().add_table("w", pk=["a", "b"]).add_table(
        "f", pk="id", fk={("a", "b"): "w.a,b"}, on_orphan="drop").table("f").foreign_keys[0].on_orphan == "drop"
    fk = ForeignKey(columns=("a", "b"), parent_table="w", parent_columns=("a", "b"))
    assert fk.on_orphan == "nearest" and ForeignKey.model_validate_json(fk.model_dump_json()) == fk
    assert Metadata.from_json(md.to_json()).table("f").foreign_keys == md.table("f").foreign_keys


def test_an_orphan_takes_the_parent_key_before_its_own_of_the_same_shared_columns(spark):
    weather = spark.createDataFrame(pd.DataFrame(
        [(s, h) for s in ("A", "B") for h in range(5) if (s, h) != ("A", 2)], columns=["site", "hour"]))
    flights = spark.createDataFrame(pd.DataFrame({
        "id": range(7), "site": ["A", "A", "A", "B", "B", "C", "A"],
        "hour": [1, 2, 2, 9, -3, 3, None], "v": [0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}))
    fk = ForeignKey(columns=("site", "hour"), parent_table="weather", parent_columns=("site", "hour"))
    out = nearest_parent_keys(flights, weather, fk, shared=["site"]).toPandas().sort_values("id")
    assert list(out.columns) == ["id", "site", "hour", "v"]
    assert out["site"].tolist() == ["A", "A", "A", "B", "B", "C", "A"]  # the shared column is kept
    # (A,2) has no record: the hour before; (B,9) the last hour; (B,-3) none before: the one after;
    # site C has no record at all: its hour is nulled as "null" would; a null key stays as it is
    assert out["hour"].tolist()[:5] == [1, 1, 1, 4, 0]
    assert np.isnan(out["hour"].tolist()[5]) and np.isnan(out["hour"].tolist()[6])
    assert out["v"].tolist() == [0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_a_composite_keys_orphans_keep_their_rows_and_the_synthetic_key_is_never_null(spark, tmp_path):
    rng = np.random.default_rng(0)
    sites = pd.DataFrame({"site": ["A", "B", "C"], "elev": [10.0, 200.0, 35.0]})
    hours = [(s, h) for s in sites["site"] for h in range(24)]
    weather = pd.DataFrame(hours, columns=["site", "hour"]).sample(frac=0.9, random_state=0)  # some hours missing
    weather["temp"] = rng.normal(15, 5, len(weather))
    n = 400
    flights = pd.DataFrame({"id": range(n), "site": rng.choice(sites["site"], n), "hour": rng.integers(0, 24, n),
                            "delay": rng.exponential(10, n)})
    real_orphans = (~flights.set_index(["site", "hour"]).index.isin(weather.set_index(["site", "hour"]).index)).sum()
    assert real_orphans > 10
    frames = {"sites": sites, "weather": weather, "flights": flights}
    frames = {k: spark.createDataFrame(v) for k, v in frames.items()}
    md = (Metadata().add_table("sites", pk="site").add_table("weather", pk=["site", "hour"], fk={"site": "sites.site"})
          .add_table("flights", pk="id", fk={("site", "hour"): "weather.site,hour", "site": "sites.site"}))
    reg = ModelRegistry(tmp_path / "reg")
    report = fit_database(spark, md, frames, backend="copula", seed=0, registry=reg)
    assert any("policy 'nearest' applied" in n for n in report.notes), report.notes
    syn = sample_database(spark, report.metadata, seed=1, registry=reg)
    f = syn["flights"]
    assert f.where("site IS NULL OR hour IS NULL").count() == 0  # the real key is never null
    fk = next(k for k in report.metadata.table("flights").foreign_keys if len(k.columns) == 2)
    assert orphan_rows(f, syn["weather"], fk).count() == 0
    assert f.count() == n  # the orphans' rows were kept (and counted at their new parent)


def test_the_nearest_parent_is_found_across_the_key_ranges_of_many_tasks(spark):
    """The keys are range-partitioned (no task sorts them all): an orphan whose neighbour lies in
    another range still gets it, with or without shared columns."""
    rng = np.random.default_rng(5)
    pairs = {(int(s), int(h)) for s, h in zip(rng.integers(0, 4, 300), rng.integers(0, 400, 300), strict=True)}
    parents = pd.DataFrame(sorted(pairs), columns=["site", "hour"])
    kids = pd.DataFrame({"id": range(200), "site": rng.integers(0, 5, 200), "hour": rng.integers(-20, 420, 200)})
    fk = ForeignKey(columns=("site", "hour"), parent_table="w", parent_columns=("site", "hour"))

    def want(shared: list[str]) -> list[tuple]:
        out = []
        for s, h in zip(kids["site"], kids["hour"], strict=True):
            if (s, h) in pairs:
                out.append((s, h))
                continue
            same = [p for p in sorted(pairs) if not shared or p[0] == s]
            before = [p for p in same if p < (s, h)] if not shared else [p for p in same if p[1] < h]
            after = [p for p in same if p > (s, h)] if not shared else [p for p in same if p[1] > h]
            pick = before[-1] if before else (after[0] if after else (s, None))  # (s, None): no parent of site s
            out.append(pick)
        return out

    old = spark.conf.get("spark.sql.shuffle.partitions")
    merge = "spark.sql.adaptive.coalescePartitions.enabled"
    old_merge = spark.conf.get(merge)
    spark.conf.set(merge, "false")  # else the tiny ranges are merged back into one
    try:
        for parts in ("9",):  # (one range: the other tests)
            spark.conf.set("spark.sql.shuffle.partitions", parts)
            for shared in ([], ["site"]):
                got = nearest_parent_keys(spark.createDataFrame(kids), spark.createDataFrame(parents), fk,
                                          shared=shared).toPandas().sort_values("id")
                rows = [(int(s), None if pd.isna(h) else int(h)) for s, h in zip(got["site"], got["hour"], strict=True)]
                assert rows == want(shared), (parts, shared)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", old)
        spark.conf.set(merge, old_merge)
