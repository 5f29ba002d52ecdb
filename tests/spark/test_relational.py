"""Relational synthesis on a 3-level schema with a composite FK and a table with two parents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality
from scipy import stats

from pyspark_synth import CycleError, DataError, Metadata, MetadataError
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.relational.plan import build_plan
from pyspark_synth.spark.fit_database import FitReport, choose_driving, fit_database
from pyspark_synth.spark.sample_database import sample_children, sample_database
from pyspark_synth.spark.secondary_keys import assign_secondary
from pyspark_synth.spec import CountLawSpec, SecondaryRelation
from pyspark_synth.validation.integrity import duplicate_key_count, orphan_rows


def shop_data(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    countries = pd.DataFrame({"country": ["JP", "DE", "BR", "FR"], "continent": ["asia", "europe", "america", "europe"]})
    stores = pd.DataFrame({"country": ["JP"] * 4 + ["DE"] * 3 + ["BR"] * 3, "store_no": [1, 2, 3, 4, 1, 2, 3, 1, 2, 3],
                           "size_m2": rng.integers(200, 2000, 10)})
    n_c = 400
    pick = rng.integers(0, len(stores), n_c)
    segment = rng.choice(["gold", "silver", "basic"], n_c, p=[0.2, 0.3, 0.5])
    customers = pd.DataFrame({"customer_id": np.arange(1, n_c + 1), "country": stores.country.to_numpy()[pick],
                              "store_no": stores.store_no.to_numpy()[pick], "segment": segment,
                              "age": rng.integers(18, 80, n_c)})
    products = pd.DataFrame({"product_id": [f"P{i:03d}" for i in range(1, 41)],
                             "category": rng.choice(["toys", "food", "tools"], 40), "price": rng.gamma(2, 20, 40).round(2)})
    lam = np.select([segment == "gold", segment == "silver"], [6.0, 2.0], 0.4)
    counts = rng.poisson(lam)
    cust = np.repeat(customers.customer_id.to_numpy(), counts)
    pop = rng.zipf(1.6, 40).astype(float)
    orders = pd.DataFrame({"order_id": np.arange(10_000, 10_000 + len(cust)), "customer_id": cust,
                           "product_id": rng.choice(products.product_id, len(cust), p=pop / pop.sum()),
                           "amount": rng.gamma(2, 15, len(cust)).round(2),
                           "channel": rng.choice(["web", "store"], len(cust))})
    return {"countries": countries, "stores": stores, "customers": customers, "products": products, "orders": orders}


def shop_metadata() -> Metadata:
    md = Metadata()
    md.add_table("countries", pk="country")
    md.add_table("stores", pk=["country", "store_no"], fk={"country": "countries.country"})
    # customers.country is in the composite key to stores and also a key to countries on its own
    md.add_table("customers", pk="customer_id", fk={("country", "store_no"): "stores.country,store_no",
                                                    "country": "countries.country"})
    md.add_table("products", pk="product_id")
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id", "product_id": "products.product_id"},
                 parent_context_cols=["segment"])
    return md


@pytest.fixture(scope="module")
def real(spark):
    return {k: spark.createDataFrame(v) for k, v in shop_data().items()}


@pytest.fixture(scope="module")
def fitted(spark, real, tmp_path_factory):
    reg = ModelRegistry(tmp_path_factory.mktemp("rel-registry"))
    report = fit_database(spark, shop_metadata(), real, backend="copula", seed=1, registry=reg)
    return report, reg


@pytest.fixture(scope="module")
def synthetic(spark, fitted):
    report, reg = fitted
    return sample_database(spark, report.metadata, seed=5, registry=reg)


def test_plan_order_and_errors():
    plan = build_plan(shop_metadata())
    assert plan.order.index("stores") < plan.order.index("customers") < plan.order.index("orders")
    assert plan.tables["orders"].driving.parent_table == "customers"
    assert [fk.parent_table for fk in plan.tables["orders"].secondary] == ["products"]
    assert plan.tables["orders"].context == ("segment",)
    assert plan.tables["customers"].generated_keys == ("customer_id",)
    md = Metadata().add_table("a", pk="id", fk={"b_id": "b.id"}).add_table("b", pk="id", fk={"a_id": "a.id"})
    with pytest.raises(CycleError, match="a -> b -> a"):
        build_plan(md)
    selfref = Metadata().add_table("emp", pk=["dept", "id"], fk={("boss_dept", "boss"): ("emp", ["dept", "id"])})
    with pytest.raises(MetadataError, match=r"Self-reference 'emp.boss_dept,boss' cannot be honoured"):
        build_plan(selfref)
    ok = Metadata().add_table("emp", pk="id", fk={"boss": "emp.id"})
    assert build_plan(ok).tables["emp"].self_refs[0].columns == ("boss",)


def test_integrity_and_keys(real, synthetic):
    md = shop_metadata()
    for name, t in md.tables.items():
        df = synthetic[name]
        assert duplicate_key_count(df, t.primary_key) == 0, name
        for fk in t.foreign_keys:
            assert orphan_rows(df, synthetic[fk.parent_table], fk).count() == 0, (name, fk.label)
    for name in md.tables:  # the real tables' columns and types, in their order
        assert [(f.name, f.dataType) for f in synthetic[name].schema] == [(f.name, f.dataType) for f in real[name].schema]


def test_child_counts_follow_the_real_distribution(spark, real, synthetic):
    def per_parent(children, parents):
        c = children.groupBy("customer_id").count()
        return parents.join(c, "customer_id", "left").fillna(0, ["count"]).select("segment", "count").toPandas()

    r, s = per_parent(real["orders"], real["customers"]), per_parent(synthetic["orders"], synthetic["customers"])
    assert (s["count"] == 0).mean() > 0.2  # zero-child parents exist
    ks = stats.ks_2samp(r["count"], s["count"])
    assert ks.statistic < 0.12, ks
    # conditioned on the parent's attributes, not a global histogram
    rm, sm = r.groupby("segment")["count"].mean(), s.groupby("segment")["count"].mean()
    assert sm["gold"] > 2 * sm["silver"] > 2 * sm["basic"]
    assert abs(sm["gold"] - rm["gold"]) < 1.5


def test_secondary_parent_follows_its_law(real, synthetic):
    def per_product(db):
        c = db["orders"].groupBy("product_id").count()
        return db["products"].join(c, "product_id", "left").fillna(0, ["count"]).toPandas()["count"]

    r, s = per_product(real), per_product(synthetic)
    # zipf-like popularity: the busiest product takes far more than a uniform share (1/40), as in the real data
    assert r.max() / r.sum() > 0.1 and s.max() / s.sum() > 0.1
    assert abs((r == 0).mean() - (s == 0).mean()) < 0.3
    assert stats.ks_2samp(r, s).statistic < 0.35


def test_determinism_for_a_seed(spark, fitted, synthetic):
    report, reg = fitted
    before = dict(spark.conf.getAll)
    again = sample_database(spark, report.metadata, seed=5, registry=reg)
    assert dict(spark.conf.getAll) == before  # sampling leaves the session's conf as it was
    for name in ("customers", "orders"):
        assert_df_equality(synthetic[name], again[name], ignore_row_order=True)
    # a pipeline step generating children from materialized parents gives the same rows
    parents = spark.createDataFrame(synthetic["customers"].toPandas(), synthetic["customers"].schema)
    orders = sample_children(spark, "orders", parents, seed=5, registry=reg,
                             secondary_parents={"products": synthetic["products"]})
    assert_df_equality(orders, synthetic["orders"], ignore_row_order=True)


def test_sizes_and_errors(spark, fitted):
    report, reg = fitted
    # without sequential=, a child's counts come from its linkage model and its rows from its backend
    assert reg.get("orders").spec.driving.counts == "linkage" and reg.get("orders").spec.backend == "copula"
    dbs = sample_database(spark, report.metadata, {"countries": 8, "products": 5}, seed=2, registry=reg)
    assert dbs["countries"].count() == 8 and dbs["products"].count() == 5
    assert dbs["stores"].count() > 0
    half = sample_database(spark, report.metadata, scale=0.5, seed=2, registry=reg)
    assert half["products"].count() == 20 and half["countries"].count() == 2
    with pytest.raises(DataError, match=r"num_rows can only set root tables; \['orders'\]"):
        sample_database(spark, report.metadata, {"orders": 5}, registry=reg)
    with pytest.raises(DataError, match=r"unknown tables \['nope'\]"):
        sample_database(spark, report.metadata, {"nope": 5}, registry=reg)


def test_relational_stratified_sample_is_consistent(real):
    from pyspark_synth.spark.subset import _sample_points, relational_sample

    plan = build_plan(shop_metadata())
    sub = relational_sample(plan, dict(real), 500, stratify_by="segment", seed=3)
    counts = {k: v.count() for k, v in sub.items()}
    assert counts["stores"] == 10 and counts["products"] == 40 and counts["countries"] == 4  # lookups kept whole
    assert 0 < counts["customers"] < 400 and counts["orders"] < real["orders"].count()
    for name, t in shop_metadata().tables.items():
        for fk in t.foreign_keys:
            assert orphan_rows(sub[name], sub[fk.parent_table], fk).count() == 0
    # every kept customer keeps all of its orders, so child counts stay true
    kept = sub["customers"].select("customer_id")
    assert real["orders"].join(kept, "customer_id", "left_semi").count() == counts["orders"]
    # a star schema: the big parent under small lookups is the one sampled
    sizes = {"countries": 4, "stores": 10, "customers": 100_000, "products": 40, "orders": 900_000}
    assert _sample_points(plan, sizes, 0.1) == ["customers"]


def test_link_table_is_driven_by_the_parent_that_fixes_its_total(spark, tmp_path):
    # a many-to-many link table: 6 playlists of very different sizes, every track in 2 or 3 of them.
    # Driven by its first key (playlists), the total would be a sum of 6 wild draws and could leave
    # tracks below the real minimum of 2; the tracks' law fixes the total.
    rng = np.random.default_rng(4)
    tracks = pd.DataFrame({"track_id": np.arange(300), "genre": rng.choice(["rock", "jazz"], 300)})
    playlists = pd.DataFrame({"playlist_id": np.arange(6), "name": [f"list {i}" for i in range(6)]})
    share = np.array([0.55, 0.25, 0.1, 0.06, 0.03, 0.01])
    rows = [(p, t) for t in range(300) for p in rng.choice(6, rng.integers(2, 4), replace=False, p=share)]
    link = pd.DataFrame(rows, columns=["playlist_id", "track_id"])
    real = {"playlists": spark.createDataFrame(playlists), "tracks": spark.createDataFrame(tracks),
            "playlist_track": spark.createDataFrame(link)}

    def metadata(driving_parent=None):
        md = Metadata()
        md.add_table("playlists", pk="playlist_id")
        md.add_table("tracks", pk="track_id")
        md.add_table("playlist_track", pk=["playlist_id", "track_id"], driving_parent=driving_parent,
                     fk={"playlist_id": "playlists.playlist_id", "track_id": "tracks.track_id"})
        return md

    reg = ModelRegistry(tmp_path / "reg")
    report = fit_database(spark, metadata(), real, backend="copula", seed=1, registry=reg)
    spec = reg.get("playlist_track").spec
    assert spec.driving.parent_table == "tracks"
    assert [s.parent_table for s in spec.secondary] == ["playlists"]
    assert spec.secondary[0].unique_pairs  # its primary key is the two keys
    assert any("'playlist_track': driven by 'track_id -> tracks.track_id'" in n for n in report.notes)
    out = sample_database(spark, report.metadata, seed=3, registry=reg)
    per_track = out["playlist_track"].groupBy("track_id").count().toPandas()["count"]
    assert out["tracks"].join(out["playlist_track"], "track_id", "left_anti").count() == 0  # no track without a list
    assert per_track.min() >= 2 and per_track.max() <= 3
    for fk in metadata().tables["playlist_track"].foreign_keys:
        assert orphan_rows(out["playlist_track"], out[fk.parent_table], fk).count() == 0
    # a declared driving parent is kept
    declared = build_plan(metadata("playlists"))
    kept = choose_driving(declared, "playlist_track", real, FitReport())
    assert kept.driving.parent_table == "playlists" and [fk.parent_table for fk in kept.secondary] == ["tracks"]


def test_composite_key_columns_other_than_the_generated_one_are_learned(spark, tmp_path):
    # a weather-like table keyed by (site, day, hour) with no foreign key: only hour is made from
    # row ids; site and day are learned like attributes, never left null
    sites = np.repeat(["EWR", "JFK", "LGA"], 40)
    real = pd.DataFrame({"site": sites, "day": np.tile(np.repeat([1, 2], 20), 3), "hour": np.tile(np.arange(20), 6),
                         "temp": np.random.default_rng(0).normal(10, 3, 120).round(1)})
    md = Metadata().add_table("weather", pk=["site", "day", "hour"])
    reg = ModelRegistry(tmp_path / "reg")
    report = fit_database(spark, md, {"weather": spark.createDataFrame(real)}, backend="copula", seed=1, registry=reg)
    out = sample_database(spark, report.metadata, seed=2, registry=reg)["weather"].toPandas()
    assert len(out) == len(real)
    assert out[["site", "day", "hour"]].notna().all().all()
    assert set(out["site"]) <= set(sites) and len(set(out["site"])) > 1
    assert not out.duplicated(["site", "day", "hour"]).any()


def _secondary(columns: list[str], **kw) -> SecondaryRelation:
    """A secondary key to `parents` whose parents have 1..5 children each (mean 3)."""
    law = CountLawSpec(values=(1, 2, 3, 4, 5), cumprobs=(0.2, 0.4, 0.6, 0.8, 1.0))
    return SecondaryRelation(columns=tuple(columns), parent_columns=tuple(columns), parent_table="parents", law=law, **kw)


@pytest.mark.parametrize("n_children", [240, 400])
def test_secondary_children_above_the_drawn_capacities_stay_within_the_law(spark, n_children):
    # 60 secondary parents with 1..5 children each (mean 3): their drawn capacities hold ~180
    # children, but the driving key brings more. The excess goes to parents below the real
    # maximum of 5; only when even 5 each cannot hold them (400 > 300) may a parent pass it.
    rows = spark.range(n_children).selectExpr("id AS __rid", "id div 4 AS __k0", "CAST(id % 4 AS INT) AS __idx")
    parents = spark.range(60).selectExpr("id AS parent_id", "id * 2 AS size")
    sec = _secondary(["parent_id"])
    out = assign_secondary(rows, parents, sec, seed=7, table="children").toPandas()
    assert len(out) == n_children and out["parent_id"].notna().all()
    per_parent = out.groupby("parent_id").size().reindex(range(60), fill_value=0)
    if n_children <= 60 * 5:
        assert per_parent.max() <= 5 and per_parent.min() >= 1, per_parent.describe()
    else:
        assert per_parent.max() - per_parent.min() <= 4, per_parent.describe()  # spread evenly



def test_rows_with_a_null_secondary_key_take_no_parent_slot(spark):
    # 30% of the children have no secondary parent: the other 70% are dealt, so every parent
    # still gets 1..5 children (mean 3) instead of slots stretched by the rows nulled later
    rows = spark.range(257).selectExpr("id AS __rid", "id div 4 AS __k0", "CAST(id % 4 AS INT) AS __idx")
    parents = spark.range(60).selectExpr("id AS parent_id")
    out = assign_secondary(rows, parents, _secondary(["parent_id"], null_rate=0.3), seed=7, table="children").toPandas()
    assert len(out) == 257 and out["__rid"].is_unique
    assert 0.2 < out["parent_id"].isna().mean() < 0.4
    per_parent = out.groupby("parent_id").size().reindex(range(60), fill_value=0)
    assert per_parent.min() >= 1 and per_parent.max() <= 5 and 2.6 < per_parent.mean() < 3.4, per_parent.describe()

@pytest.mark.parametrize("driving_parent", [pytest.param(None, marks=pytest.mark.slow), "carriers"])
def test_a_key_inside_a_wider_key_is_filled_through_the_wider_key(spark, tmp_path, driving_parent):
    # flights-like: flights.origin -> airports sits inside flights.(origin, hour) -> weather. The
    # narrow key never drives, and when another key drives (carriers, declared) the wider weather
    # key is drawn first and origin comes with it: a flight never has a weather key that is null
    # or missing from the synthetic weather. Flights at hour 23, which has no weather row: under
    # policy "null" their weather key is nulled by nulling hour only (origin is also the airport
    # key); under the composite key's default, "nearest", they take hour 22 and no hour is null.
    rng = np.random.default_rng(2)
    # (200 flights per airport: alone, the origin key would give the steadiest total and drive)
    airports = pd.DataFrame({"faa": ["A00", "A01", "A02"], "alt": [10, 500, 900]})
    weather = pd.DataFrame({"origin": np.repeat(airports.faa, 23), "hour": np.tile(np.arange(23), 3),
                            "temp": rng.normal(10, 4, 69).round(1)})
    carriers = pd.DataFrame({"code": ["AA", "B6", "DL", "UA", "WN"], "big": [1, 1, 1, 0, 0]})
    flights = pd.DataFrame({"flight_id": np.arange(600), "carrier": rng.choice(carriers.code, 600, p=[0.3, 0.3, 0.2, 0.1, 0.1]),
                            "origin": np.repeat(airports.faa, 200), "hour": rng.integers(0, 24, 600),
                            "delay": rng.gamma(2, 10, 600).round()})
    md = Metadata()
    md.add_table("airports", pk="faa")
    md.add_table("weather", pk=["origin", "hour"], fk={"origin": "airports.faa"})
    md.add_table("carriers", pk="code")
    md.add_table("flights", pk="flight_id", fk={"carrier": "carriers.code", "origin": "airports.faa",
                                                ("origin", "hour"): "weather.origin,hour"}, driving_parent=driving_parent,
                 on_orphan="null" if driving_parent is None else None)
    real = {"airports": airports, "weather": weather, "carriers": carriers, "flights": flights}
    reg = ModelRegistry(tmp_path / "reg")
    report = fit_database(spark, md, {k: spark.createDataFrame(v) for k, v in real.items()}, backend="copula", seed=1,
                          registry=reg)
    drives = reg.get("flights").spec.driving.columns
    assert drives == ("carrier",) if driving_parent else drives != ("origin",)
    out = sample_database(spark, report.metadata, seed=4, registry=reg)
    assert out["flights"].where("origin IS NULL OR carrier IS NULL").count() == 0
    real_null = (flights.hour == 23).mean()
    synth_null = out["flights"].where("hour IS NULL").count() / out["flights"].count()
    if driving_parent is None:
        assert 0 < synth_null < 2 * real_null, (synth_null, real_null)
    else:
        assert synth_null == 0 and out["flights"].where("hour > 22").count() == 0
    for fk in md.tables["flights"].foreign_keys:
        assert orphan_rows(out["flights"], out[fk.parent_table], fk).count() == 0, fk.label


def test_child_total_aims_at_the_real_children_per_parent(spark, tmp_path):
    # half the real parents are hubs with 0..20 children, the others have none: 5 per parent. Given
    # parents with far fewer hubs, each count still follows its parent's law (hubs 0..20, others 0)
    # and the draw kept is the one whose total is nearest 5 x the parents, not the sum of the given
    # parents' own means (10 per hub).
    rng = np.random.default_rng(3)
    hub = np.repeat([True, False], 100)
    parents = pd.DataFrame({"parent_id": np.arange(200), "kind": np.where(hub, "hub", "leaf")})
    counts = np.where(hub, rng.integers(0, 21, 200), 0)
    children = pd.DataFrame({"child_id": np.arange(counts.sum()), "parent_id": np.repeat(parents.parent_id, counts),
                             "x": rng.normal(0, 1, counts.sum())})
    md = Metadata().add_table("parents", pk="parent_id")
    md.add_table("children", pk="child_id", fk={"parent_id": "parents.parent_id"}, parent_context_cols=["kind"])
    reg = ModelRegistry(tmp_path / "reg")
    fit_database(spark, md, {"parents": spark.createDataFrame(parents), "children": spark.createDataFrame(children)},
                 backend="copula", seed=1, registry=reg)
    given = spark.createDataFrame(pd.DataFrame({"parent_id": np.arange(200), "kind": ["hub"] * 20 + ["leaf"] * 180}))
    out = sample_children(spark, "children", given, seed=6, registry=reg)
    per_parent = out.groupBy("parent_id").count().join(given, "parent_id").toPandas()
    assert set(per_parent["kind"]) == {"hub"} and per_parent["count"].max() <= 20
    # the given hubs' means total 20 x 10 = 200; sixteen draws reach well above it toward 1,000
    assert per_parent["count"].sum() > 230, per_parent["count"].sum()


def test_empty_tables_stay_empty(spark, tmp_path):
    # northwind ships customer_demographics and its link table customer_customer_demo with no rows:
    # the database is still fitted and generated, the empty tables come out empty with their schema
    from pyspark_synth.spark.fit_table import fit_table
    from pyspark_synth.spark.sample_table import sample_table

    rng = np.random.default_rng(5)
    customers = pd.DataFrame({"customer_id": np.arange(50), "city": rng.choice(["Lyon", "Oslo", "Kyiv"], 50)})
    orders = pd.DataFrame({"order_id": np.arange(200), "customer_id": rng.integers(0, 50, 200),
                           "amount": rng.gamma(2, 10, 200).round(2)})
    real = {"customers": spark.createDataFrame(customers), "orders": spark.createDataFrame(orders),
            "demographics": spark.createDataFrame([], "type_id string, description string"),
            "customer_demo": spark.createDataFrame([], "customer_id long, type_id string")}
    md = Metadata()
    md.add_table("customers", pk="customer_id")
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    md.add_table("demographics", pk="type_id")
    md.add_table("customer_demo", pk=["customer_id", "type_id"],
                 fk={"customer_id": "customers.customer_id", "type_id": "demographics.type_id"})
    reg = ModelRegistry(tmp_path / "reg")
    report = fit_database(spark, md, real, backend="copula", seed=1, registry=reg)
    assert any("'demographics' has no rows" in n for n in report.notes)
    out = sample_database(spark, report.metadata, seed=2, registry=reg)
    for name in ("demographics", "customer_demo"):
        assert out[name].count() == 0 and out[name].schema == real[name].schema
    assert out["customers"].count() == 50 and out["orders"].count() > 100
    assert orphan_rows(out["orders"], out["customers"], md.tables["orders"].foreign_keys[0]).count() == 0
    with pytest.raises(DataError, match="had no rows when it was fitted"):
        sample_table(spark, "demographics", 10, registry=reg)
    with pytest.raises(DataError, match="has no rows: there is nothing to learn from"):
        fit_table(real["demographics"], table="demographics", backend="copula", registry=reg)


def test_link_table_pairs_are_unique_by_construction_and_no_row_is_dropped(spark):
    # 100 drivers with 2 children and 40 with 1 (rounds of 140 and 100), dealt to 2 parents of 120
    # children each: a run of 120 is longer than the second round, so dealing alone repeats pairs
    # (9 here; before, sampling dropped such rows with dropDuplicates and lost them). Swapping
    # keys between rows makes every pair unique and keeps every parent's count.
    rows = [(rid, p, i) for rid, (p, i) in enumerate((p, i) for p in range(140) for i in range(2 if p < 100 else 1))]
    children = spark.createDataFrame(rows, "__rid long, __k0 long, __idx int")
    parents = spark.range(2).selectExpr("id AS pid")
    law = CountLawSpec(values=(150,), cumprobs=(1.0,))
    real = children.toPandas()
    out = {}
    for unique in (False, True):
        sec = SecondaryRelation(columns=("pid",), parent_columns=("pid",), parent_table="p", law=law, unique_pairs=unique)
        out[unique] = assign_secondary(children, parents, sec, seed=3, table="t").toPandas().merge(real, on="__rid")
    assert out[False].duplicated(["__k0", "pid"]).sum() > 0  # the case the repair is for
    fixed = out[True]
    assert len(fixed) == 240 and fixed["__rid"].is_unique and not fixed.duplicated(["__k0", "pid"]).any()
    assert fixed.groupby("pid").size().to_dict() == out[False].groupby("pid").size().to_dict() == {0: 120, 1: 120}


def test_secondary_nulls_are_the_kernels_null_draw(spark):
    from pyspark_synth.kernel import key_null_mask, secondary_null_label

    rows = spark.range(400).selectExpr("id AS __rid", "id div 4 AS __k0", "CAST(id % 4 AS INT) AS __idx")
    parents = spark.range(60).selectExpr("id AS parent_id")
    out = assign_secondary(rows, parents, _secondary(["parent_id"], null_rate=0.25), seed=11, table="kids").toPandas()
    out = out.sort_values("__rid")
    expected = key_null_mask(11, secondary_null_label("kids", ("parent_id",)), out["__rid"].to_numpy(), 0.25)
    assert np.array_equal(out["parent_id"].isna().to_numpy(), expected) and 0.15 < expected.mean() < 0.35


def _counting_backend(log: str) -> type:
    """A copula that appends a line to `log` each time a Python worker loads it."""
    from pyspark_synth.models.copula import GaussianCopula

    class CountedCopula(GaussianCopula):
        @classmethod
        def from_bytes(cls, data: bytes):  # noqa: ANN206
            with open(log, "a") as f:
                f.write("load\n")
            return super().from_bytes(data)

    return CountedCopula


def test_a_child_tables_model_is_loaded_once_per_partition(spark, tmp_path):
    from pyspark_synth.models.base import _BACKENDS, register_backend

    log = tmp_path / "loads.txt"
    register_backend("counted_copula", _counting_backend(str(log)))
    try:
        rng = np.random.default_rng(4)
        parents = pd.DataFrame({"pid": np.arange(150), "size": rng.choice(["s", "l"], 150)})
        kids = pd.DataFrame({"kid": np.arange(3000), "pid": rng.integers(0, 150, 3000), "x": rng.normal(size=3000)})
        md = Metadata().add_table("parents", pk="pid").add_table("kids", pk="kid", fk={"pid": "parents.pid"})
        reg = ModelRegistry(tmp_path / "reg")
        report = fit_database(spark, md, {"parents": spark.createDataFrame(parents), "kids": spark.createDataFrame(kids)},
                              backend="counted_copula", seed=1, registry=reg)
        parent_rows = spark.createDataFrame(parents)
        out = sample_children(spark, "kids", parent_rows, seed=2, registry=reg, block_size=50)  # ~60 buckets
        log.write_text("")
        assert out.count() > 2000
        loads = log.read_text().count("load")
        # one load per partition iterator (the default parallelism here), not one per bucket
        assert 1 <= loads <= 4, loads
        assert report.entries["kids"].backend == "counted_copula"
    finally:
        _BACKENDS.pop("counted_copula", None)
