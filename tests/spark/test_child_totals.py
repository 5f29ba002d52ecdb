"""Child totals matched exactly: the kept draw's gap dealt out within each parent's room."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.spark.child_totals import matched_counts


def _parents(spark, draws: np.ndarray, partitions: int):
    pdf = pd.DataFrame({"__k0": np.arange(len(draws), dtype="int64")})
    for a in range(draws.shape[1]):
        pdf[f"__count{a}"] = draws[:, a].astype("int32")
    return spark.createDataFrame(pdf).repartition(partitions)


@pytest.mark.parametrize("mean", [3.3, 2.1, 0.05])
def test_the_total_is_exact_the_room_kept_and_the_layout_irrelevant(spark, mean):
    rng = np.random.default_rng(1)
    draws = rng.choice([0, 0, 1, 2, 3, 6], size=(500, 4))  # mean 2: too few for 3.3, a few too many for 2.1
    tries = [f"__count{a}" for a in range(4)]
    kwargs = dict(mean=mean, children_range=(0, 6), seed=3, table="t")
    out = [matched_counts(_parents(spark, draws, p), ["__k0"], ["__k0"], tries, **kwargs).toPandas()
           .sort_values("__k0").reset_index(drop=True) for p in (1, 4)]
    pd.testing.assert_frame_equal(out[0], out[1])  # the same counts in any layout
    got = out[0]["__count"].to_numpy()
    assert got.sum() == round(500 * mean)
    assert got.min() >= 0 and got.max() <= 6
    kept = draws[:, np.argmin(np.abs(draws.sum(axis=0) - round(500 * mean)))]
    if mean > 2:
        assert (got[kept == 0] == 0).all()  # parents without children keep none
        assert (got >= kept).all()
    else:
        assert (got <= kept).all()


def test_at_most_one_child_goes_to_parents_without_one(spark):
    draws = np.zeros((200, 2), dtype=int)
    draws[:50] = 1
    out = matched_counts(_parents(spark, draws, 2), ["__k0"], ["__k0"], ["__count0", "__count1"], mean=0.6,
                         children_range=(0, 1), seed=0, table="t").toPandas()
    assert out["__count"].sum() == 120 and out["__count"].max() == 1


def test_a_gap_larger_than_the_room_fills_the_room(spark):
    draws = np.full((10, 1), 2)
    out = matched_counts(_parents(spark, draws, 2), ["__k0"], ["__k0"], ["__count0"], mean=5.0,
                         children_range=(1, 3), seed=0, table="t").toPandas()
    assert (out["__count"] == 3).all()  # 30 of the 50 wanted: every parent at the real most


def test_rare_heavy_parents_the_draws_missed_are_added_whole(spark):
    # 300 sites, 3 of which hold ~700 readings each; the draws gave one heavy site: the missing
    # ~1,400 readings go to two more sites filled to the real most, not to many light ones
    draws = np.zeros((300, 1), dtype=int)
    draws[17] = 700
    out = matched_counts(_parents(spark, draws, 3), ["__k0"], ["__k0"], ["__count0"], mean=2100 / 300,
                         children_range=(0, 720), seed=0, table="t").toPandas()
    c = out["__count"]
    assert c.sum() == 2100 and (c > 0).sum() == 3 and c.max() == 720


@pytest.mark.parametrize("mean", [3.3, 0.3])
def test_inside_plans_only_the_counts_are_the_same_and_the_plan_stays_small(spark, mean):
    from pyspark_synth.spark.checkpoints import plans_only

    rng = np.random.default_rng(2)
    draws = rng.choice([0, 0, 1, 2, 3, 6], size=(400, 3))
    tries = [f"__count{a}" for a in range(3)]
    kwargs = dict(mean=mean, children_range=(0, 6), seed=5, table="t")
    jobs = matched_counts(_parents(spark, draws, 3), ["__k0"], ["__k0"], tries, **kwargs)
    with plans_only():
        plan = matched_counts(_parents(spark, draws, 3), ["__k0"], ["__k0"], tries, **kwargs)
    # four passes of plans read once each: a few hundred nodes, not thousands of copies
    assert len(plan._jdf.queryExecution().analyzed().toString().splitlines()) < 400
    a, b = (df.toPandas().sort_values("__k0").reset_index(drop=True) for df in (jobs, plan))
    pd.testing.assert_frame_equal(a, b)
    assert a["__count"].sum() == round(400 * mean)


def test_groups_of_a_key_inside_the_driving_key_keep_within_its_real_most_and_the_total(spark):
    from pyspark_synth.spark.child_totals import capped_groups

    rng = np.random.default_rng(4)
    # 90 driving parents (weather hours) of three groups (airports); group 0's hours draw heavy counts
    group = np.repeat([0, 1, 2], 30)
    counts = np.where(group == 0, rng.integers(3, 7, 90), rng.integers(0, 3, 90))
    pdf = pd.DataFrame({"__k0": group.astype("int64"), "__k1": np.arange(90, dtype="int64"),
                        "__count": counts.astype("int32")})
    assert pdf.groupby("__k0")["__count"].sum()[0] > 100  # over the cap of 100 before
    out = [capped_groups(spark.createDataFrame(pdf).repartition(p), ["__k0"], 100, ["__k0", "__k1"], low=0, high=6,
                         seed=1, table="t").toPandas().sort_values("__k1").reset_index(drop=True) for p in (1, 3)]
    pd.testing.assert_frame_equal(out[0], out[1])  # the same counts in any layout
    got = out[0]
    totals = got.groupby("__k0")["__count"].sum()
    assert totals.max() <= 100 and got["__count"].sum() == counts.sum()  # within the cap, none lost
    assert got["__count"].between(0, 6).all()
    moved = got["__count"].to_numpy() - counts
    assert (moved[group == 0] <= 0).all() and (moved[group != 0] >= 0).all()
    assert (got["__count"].to_numpy()[counts == 0] == 0).all()  # hours without flights keep none
    # no group over the cap: the counts as they were
    calm = pdf.assign(__count=np.minimum(pdf["__count"], 2).astype("int32"))
    same = capped_groups(spark.createDataFrame(calm), ["__k0"], 100, ["__k0", "__k1"], low=0, high=6, seed=1,
                         table="t").toPandas().sort_values("__k1")
    assert (same["__count"].to_numpy() == calm["__count"].to_numpy()).all()
