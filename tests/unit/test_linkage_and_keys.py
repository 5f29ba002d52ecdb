"""Count laws, the child-count linkage model and primary-key generation (pure numpy/pandas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.errors import NotFittedError
from pyspark_synth.models.laws import CountLaw
from pyspark_synth.relational.linkage import LinkageModel
from pyspark_synth.relational.primary_keys import KeySpec, learn_key_spec, make_keys


def test_count_law_from_counts_and_from_a_histogram_agree():
    counts = np.array([0, 0, 1, 3, 3, 3, 7])
    a = CountLaw.fit(counts)
    b = CountLaw.from_histogram([3, 0, 7, 1], [3, 2, 1, 1])  # unordered, as a Spark aggregation returns it
    assert a.values.tolist() == b.values.tolist() == [0, 1, 3, 7]
    assert np.allclose(a.cumprobs, b.cumprobs) and b.cumprobs[-1] == 1.0
    assert a.mean == pytest.approx(counts.mean()) and (a.smallest, a.largest) == (0, 7)
    u = np.random.default_rng(0).random(20_000)
    drawn = b.draw(u)
    assert set(np.unique(drawn)) <= {0, 1, 3, 7} and drawn.mean() == pytest.approx(counts.mean(), rel=0.05)
    assert CountLaw.from_dict(b.to_dict()).cumprobs.tolist() == b.cumprobs.tolist()
    with pytest.raises(ValueError, match="non-empty histogram"):
        CountLaw.from_histogram([], [])


def test_linkage_keeps_zero_children_and_depends_on_context():
    rng = np.random.default_rng(1)
    n = 3000
    seg = rng.choice(["gold", "basic"], n, p=[0.3, 0.7])
    counts = np.where(seg == "gold", rng.poisson(6, n), np.where(rng.random(n) < 0.5, 0, rng.poisson(1, n)))
    ctx = pd.DataFrame({"segment": seg, "age": rng.integers(18, 80, n)})
    model = LinkageModel(min_leaf=50).fit(ctx, counts)
    u = rng.random(n)
    drawn = model.draw(ctx, u)
    assert drawn[seg == "gold"].mean() > 4 * drawn[seg == "basic"].mean()
    assert abs((drawn == 0).mean() - (counts == 0).mean()) < 0.03
    assert model.mean_count == pytest.approx(counts.mean())
    # unseen categories and nulls fall back to a leaf, never fail
    odd = pd.DataFrame({"segment": ["platinum", None], "age": [30, np.nan]})
    assert model.draw(odd, np.array([0.5, 0.5])).shape == (2,)
    # the state is JSON and round-trips
    again = LinkageModel.from_dict(model.to_dict())
    assert np.array_equal(again.draw(ctx, u), drawn)
    # two columns of uniforms give two columns of counts (the sampler draws several tries)
    assert model.draw(ctx, np.column_stack([u, u])).shape == (n, 2)


def test_linkage_without_context_is_the_global_law():
    model = LinkageModel().fit(None, np.array([0, 1, 1, 2, 5]))
    assert model.draw(None, np.array([0.0, 0.99])).tolist() == [0, 5]
    with pytest.raises(NotFittedError, match="Call fit"):
        LinkageModel().draw(None, np.array([0.1]))
    with pytest.raises(ValueError, match="at least one parent"):
        LinkageModel().fit(None, np.array([]))


@pytest.mark.parametrize(("sql_type", "values", "kind", "first"), [
    ("bigint", pd.Series([10, 11, 15]), "int", 10),
    ("string", pd.Series(["INV-0001", "INV-0042"]), "prefixed", "INV-0001"),
    ("string", pd.Series(["4f2c6b3e-1c1a-4b6e-9c1d-2e6f7a8b9c0d", "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"]), "uuid", None),
    ("string", pd.Series(["alpha", "beta"]), "string", "t-000001"),
    ("timestamp", pd.Series(pd.to_datetime(["2021-01-01", "2021-01-02"])), "timestamp", pd.Timestamp("2021-01-01")),
    ("date", pd.Series(pd.to_datetime(["2021-01-01"]).date), "date", pd.Timestamp("2021-01-01").date()),
])
def test_keys_look_like_the_original_and_are_unique(sql_type, values, kind, first):
    spec = learn_key_spec("k", sql_type, values, salt="t")
    assert spec.kind == kind
    keys = make_keys(spec, np.arange(5000))
    assert keys.is_unique and len(keys) == 5000
    if first is not None:
        assert keys.iloc[0] == first
    assert KeySpec.from_dict(spec.to_dict()) == spec


def test_uuid_keys_differ_between_tables_and_the_minimum_starts_int_keys():
    u = pd.Series(["4f2c6b3e-1c1a-4b6e-9c1d-2e6f7a8b9c0d"] * 3)
    a, b = (make_keys(learn_key_spec("k", "string", u, salt=s), np.arange(10)) for s in ("t1", "t2"))
    assert not set(a) & set(b)
    assert make_keys(learn_key_spec("k", "int", pd.Series([50, 60]), minimum=7), np.arange(2)).tolist() == [7, 8]
    with pytest.raises(ValueError):
        KeySpec(column="k", kind="roman")  # type: ignore[arg-type]


def test_grandparent_candidates_come_through_the_parents_key_under_names_the_parent_does_not_have():
    from pyspark_synth.metadata import Metadata
    from pyspark_synth.relational.plan import grandparent_candidates

    md = Metadata().add_table("regions", pk="region_id", columns={"region_id": "id", "latitude": "numerical",
                                                                  "zone": "categorical"})
    md.add_table("stores", pk="store_id", fk={"region_id": "regions.region_id"},
                 columns={"store_id": "id", "region_id": "id", "regions__zone": "categorical"})
    st, rg = md.tables["stores"], md.tables["regions"]
    got = grandparent_candidates(st, st.driving_fk, rg)
    assert [(g.column, g.name) for g in got] == [("zone", "_regions__zone"), ("latitude", "regions__latitude")]
    assert all(g.table == "regions" and g.columns == g.parent_columns == ("region_id",) for g in got)
    assert grandparent_candidates(rg, None, None) == ()


def test_linkage_bounds_are_those_of_each_parents_leaf():
    rng = np.random.default_rng(0)
    kind = np.repeat(["hub", "leaf"], 100)
    counts = np.where(kind == "hub", rng.integers(3, 21, 200), 0)
    model = LinkageModel(min_leaf=20).fit(pd.DataFrame({"kind": kind}), counts)
    lo, hi = model.bounds(pd.DataFrame({"kind": ["hub", "leaf", "hub"]}), 3)
    assert lo.tolist() == [counts[:100].min(), 0, counts[:100].min()]
    assert hi.tolist() == [counts[:100].max(), 0, counts[:100].max()]
