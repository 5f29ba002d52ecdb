"""Sequential mode of relational generation: a child table's children drawn as one sequence per
parent by the autoregressive sequential model (their number included), through the spec, the
kernel and the same key, null, secondary-key and self-reference steps as every child table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality
from scipy import stats

from pyspark_synth import DataError, Metadata, SynthError
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.relational.plan import build_plan
from pyspark_synth.spark.fit_database import fit_database
from pyspark_synth.spark.fit_sequence import sequence_sample
from pyspark_synth.spark.sample_database import sample_children, sample_database
from pyspark_synth.validation.integrity import duplicate_key_count, orphan_rows

SMALL = {"hidden_size": 32, "context_size": 16}


def shop(seed: int = 0) -> dict[str, pd.DataFrame]:
    """400 customers: gold ones have 2 + a long tail of orders, silver ones a few, 70% of basic
    ones none (40% of all customers have no order); orders point at a product and, for a third of
    them, at an earlier order."""
    rng = np.random.default_rng(seed)
    n = 400
    segment = rng.choice(["gold", "silver", "basic"], n, p=[0.2, 0.3, 0.5])
    customers = pd.DataFrame({"customer_id": np.arange(1, n + 1), "segment": segment, "age": rng.integers(18, 80, n)})
    tail = np.minimum(rng.zipf(1.8, n), 40)
    counts = np.where(segment == "gold", 2 + tail,
                      np.where(segment == "silver", rng.poisson(2, n), np.where(rng.random(n) < 0.7, 0, tail)))
    products = pd.DataFrame({"product_id": [f"P{i:02d}" for i in range(30)], "shelf": rng.choice(["a", "b"], 30)})
    m = int(counts.sum())
    orders = pd.DataFrame({
        "order_id": np.arange(5000, 5000 + m), "customer_id": np.repeat(customers.customer_id.to_numpy(), counts),
        "product_id": rng.choice(products.product_id, m),
        "amount": np.round(np.where(np.repeat(segment, counts) == "gold", 100.0, 10.0) + rng.normal(0, 3, m), 2),
        "channel": rng.choice(["web", "store"], m)})
    earlier = np.where(rng.random(m) < 0.33, orders.order_id.to_numpy() - 1, -1)
    orders["prev_order"] = pd.array(np.where(earlier >= 5000, earlier, 0), dtype="Int64")
    orders.loc[orders["prev_order"] == 0, "prev_order"] = pd.NA
    return {"customers": customers, "products": products, "orders": orders}


def shop_metadata() -> Metadata:
    md = Metadata().add_table("customers", pk="customer_id").add_table("products", pk="product_id")
    md.add_table("orders", pk="order_id", parent_context_cols=["segment"],
                 fk={"customer_id": "customers.customer_id", "product_id": "products.product_id",
                     "prev_order": "orders.order_id"})
    return md


@pytest.fixture(scope="module")
def real(spark):
    return {k: spark.createDataFrame(v) for k, v in shop().items()}


@pytest.fixture(scope="module")
def fitted(spark, real, tmp_path_factory):
    reg = ModelRegistry(tmp_path_factory.mktemp("seq-registry"))
    report = fit_database(spark, shop_metadata(), real, backend="autoregressive", seed=1, registry=reg,
                          sequential={"orders"}, **SMALL)
    return report, reg


@pytest.fixture(scope="module")
def synthetic(spark, fitted):
    report, reg = fitted
    return sample_database(spark, report.metadata, seed=5, registry=reg)


def _per_parent(db: dict) -> pd.DataFrame:
    c = db["orders"].groupBy("customer_id").count()
    return db["customers"].join(c, "customer_id", "left").fillna(0, ["count"]).select("segment", "count").toPandas()


def test_the_spec_says_the_children_come_from_the_sequence_model(fitted):
    report, reg = fitted
    spec = reg.get("orders").spec
    assert spec.backend == "autoregressive_sequential" and spec.driving.sequential and spec.driving.linkage is None
    assert spec.context == ("segment",)
    real_counts = shop()["orders"].groupby("customer_id").size().reindex(range(1, 401), fill_value=0)
    law = spec.driving.children
    assert law.values[0] == 0 and law.cumprobs[0] == pytest.approx((real_counts == 0).mean())
    assert law.values[-1] == real_counts.max() and spec.driving.mean_children == pytest.approx(real_counts.mean())
    assert [s.parent_table for s in spec.secondary] == ["products"] and spec.self_refs[0].columns == ("prev_order",)
    assert any("'orders': children generated as one sequence per parent of 'customer_id -> customers.customer_id'"
               in n for n in report.notes)
    assert "draws its children as one sequence, their number included" in report.explain()
    assert reg.get("customers").spec.backend == "autoregressive"  # the other tables as before


def test_integrity_and_schema(real, synthetic):
    md = shop_metadata()
    for name, t in md.tables.items():
        df = synthetic[name]
        assert duplicate_key_count(df, t.primary_key) == 0, name
        for fk in t.foreign_keys:
            assert orphan_rows(df, synthetic[fk.parent_table], fk).count() == 0, (name, fk.label)
        assert [(f.name, f.dataType) for f in df.schema] == [(f.name, f.dataType) for f in real[name].schema]
    orders = synthetic["orders"].toPandas()
    n = len(orders)
    assert sorted(orders["order_id"]) == list(range(5000, 5000 + n))  # dense keys from row ids
    assert 0.15 < orders["prev_order"].notna().mean() < 0.5  # self-references at their real rate
    assert (orders["prev_order"].dropna() < orders["order_id"][orders["prev_order"].notna()]).all()


def test_the_sequence_models_children_add_up_to_the_real_total(real, synthetic):
    # the sequence model draws each customer's number of orders; the total is the data's
    assert synthetic["customers"].count() == real["customers"].count()
    assert synthetic["orders"].count() == real["orders"].count()


def test_child_counts_keep_zeros_the_long_tail_and_depend_on_the_parent(real, synthetic):
    r, s = _per_parent(real), _per_parent(synthetic)
    assert abs((s["count"] == 0).mean() - (r["count"] == 0).mean()) < 0.08  # 40% of parents have no child
    ks = stats.ks_2samp(r["count"], s["count"])
    assert ks.statistic < 0.12, ks
    assert s["count"].max() >= 10 and np.quantile(s["count"], 0.95) >= 0.5 * np.quantile(r["count"], 0.95)
    # the parents' context shifts the counts, as in the real data
    sm, rm = s.groupby("segment")["count"].mean(), r.groupby("segment")["count"].mean()
    assert sm["gold"] > 2 * sm["silver"] and sm["gold"] > 2 * sm["basic"]
    assert abs(sm["gold"] - rm["gold"]) < 0.4 * rm["gold"]
    # and the values of the children: gold customers' orders are ~100, the others' ~10
    joined = synthetic["orders"].join(synthetic["customers"], "customer_id").toPandas()
    means = joined.groupby("segment")["amount"].mean()
    assert means["gold"] > 70 and means["basic"] < 40 and means["silver"] < 40


@pytest.mark.slow
def test_same_seed_same_rows_whatever_the_partitioning(spark, fitted, synthetic):
    _, reg = fitted
    # children from materialized parents, split into more partitions, are the rows sample_database made
    parents = spark.createDataFrame(synthetic["customers"].toPandas(), synthetic["customers"].schema).repartition(5)
    products = synthetic["products"].repartition(3)
    before = dict(spark.conf.getAll)
    orders = sample_children(spark, "orders", parents, seed=5, registry=reg, secondary_parents={"products": products})
    assert_df_equality(orders, synthetic["orders"], ignore_row_order=True)
    assert dict(spark.conf.getAll) == before  # sampling leaves the session's conf as it was
    other = sample_children(spark, "orders", parents, seed=6, registry=reg, secondary_parents={"products": products})
    assert other.exceptAll(orders).count() > 0


def test_the_training_sample_takes_whole_parents_zero_child_ones_included(spark, real):
    tp = build_plan(shop_metadata()).tables["orders"]
    cols = list(shop()["orders"].columns)
    kids, group, ctx, n_parents = sequence_sample(real["customers"], real["orders"], tp.driving, ("segment",), cols,
                                                  order=["order_id"], max_rows=300, seed=3)
    assert len(kids) <= 300 and len(group) == len(kids) and 0 < n_parents < 400 and len(ctx) == n_parents
    assert list(ctx.columns) == ["segment"] and list(kids.columns) == cols
    # every parent taken has all of its real children, in key order; parents without any are in
    real_counts = shop()["orders"].groupby("customer_id").size()
    taken = kids.groupby(group)["customer_id"].agg(["first", "size"])
    assert (taken["size"].to_numpy() == real_counts.loc[taken["first"]].to_numpy()).all()
    assert np.bincount(group, minlength=n_parents).min() == 0
    assert (kids.groupby(group)["order_id"].apply(lambda s: s.is_monotonic_increasing)).all()
    # the same parents however the rows are partitioned
    again = sequence_sample(real["customers"].repartition(4), real["orders"].repartition(3), tp.driving, ("segment",),
                            cols, order=["order_id"], max_rows=300, seed=3)
    pd.testing.assert_frame_equal(kids, again[0])
    assert np.array_equal(group, again[1])


def test_bad_sequential_arguments_fail_before_any_job(spark, real, tmp_path):
    md = shop_metadata()
    with pytest.raises(DataError, match=r"sequential names unknown tables \['nope'\]"):
        fit_database(spark, md, real, sequential={"nope"}, registry=str(tmp_path))
    with pytest.raises(DataError, match=r"tables \['customers'\] that have no foreign key to another table"):
        fit_database(spark, md, real, sequential="customers", registry=str(tmp_path))
    with pytest.raises(SynthError, match=r"use backend='autoregressive' \(or another\) with sequential="):
        fit_database(spark, md, real, backend="autoregressive_sequential", registry=str(tmp_path))
    with pytest.raises(SynthError, match="has no parameter 'histroy_size'"):
        fit_database(spark, md, real, backend="autoregressive", sequential=True, histroy_size=3, registry=str(tmp_path))
    assert not list(tmp_path.iterdir())  # nothing was fitted


@pytest.mark.slow
def test_a_link_table_of_keys_only_in_sequential_mode(spark, tmp_path):
    # playlist_track has only its two keys: the sequence model learns how many playlists each
    # track is in (2 or 3), the playlists are dealt as for any link table (unique pairs)
    rng = np.random.default_rng(4)
    tracks = pd.DataFrame({"track_id": np.arange(300), "genre": rng.choice(["rock", "jazz"], 300)})
    playlists = pd.DataFrame({"playlist_id": np.arange(6), "name": [f"list {i}" for i in range(6)]})
    share = np.array([0.55, 0.25, 0.1, 0.06, 0.03, 0.01])
    rows = [(p, t) for t in range(300) for p in rng.choice(6, rng.integers(2, 4), replace=False, p=share)]
    real = {"playlists": spark.createDataFrame(playlists), "tracks": spark.createDataFrame(tracks),
            "playlist_track": spark.createDataFrame(pd.DataFrame(rows, columns=["playlist_id", "track_id"]))}
    md = Metadata().add_table("playlists", pk="playlist_id").add_table("tracks", pk="track_id")
    md.add_table("playlist_track", pk=["playlist_id", "track_id"],
                 fk={"playlist_id": "playlists.playlist_id", "track_id": "tracks.track_id"})
    reg = ModelRegistry(tmp_path / "reg")
    report = fit_database(spark, md, real, backend="copula", seed=1, registry=reg, sequential=True)
    spec = reg.get("playlist_track").spec
    assert spec.driving.sequential and spec.driving.parent_table == "tracks" and spec.secondary[0].unique_pairs
    out = sample_database(spark, report.metadata, seed=3, registry=reg)
    link = out["playlist_track"]
    assert duplicate_key_count(link, ("playlist_id", "track_id")) == 0
    for fk in md.tables["playlist_track"].foreign_keys:
        assert orphan_rows(link, out[fk.parent_table], fk).count() == 0
    per_track = link.groupBy("track_id").count().toPandas()["count"]
    assert per_track.min() >= 2 and per_track.max() <= 3 and len(per_track) == 300


def test_a_sequential_table_is_driven_by_the_key_with_the_most_parents(spark):
    # rentals of 2 staff members (the steadiest total: the linkage's choice) and of 120 inventory
    # items: sequences are learned per parent, so the sequential mode takes the inventory
    from pyspark_synth.spark.fit_database import FitReport, choose_driving

    rng = np.random.default_rng(1)
    staff = pd.DataFrame({"staff_id": [1, 2]})
    inventory = pd.DataFrame({"inventory_id": np.arange(120), "film": rng.integers(0, 30, 120)})
    n = 600
    rental = pd.DataFrame({"rental_id": np.arange(n), "staff_id": np.tile([1, 2], n // 2),
                           "inventory_id": rng.integers(0, 120, n)})
    md = Metadata().add_table("staff", pk="staff_id").add_table("inventory", pk="inventory_id")
    md.add_table("rental", pk="rental_id", fk={"staff_id": "staff.staff_id", "inventory_id": "inventory.inventory_id"})
    frames = {"staff": spark.createDataFrame(staff), "inventory": spark.createDataFrame(inventory),
              "rental": spark.createDataFrame(rental)}
    plan = build_plan(md)
    flat = choose_driving(plan, "rental", frames, FitReport())
    report = FitReport()
    seq = choose_driving(plan, "rental", frames, report, sequential=True)
    assert flat.driving.parent_table == "staff" and seq.driving.parent_table == "inventory"
    assert [fk.parent_table for fk in seq.secondary] == ["staff"]
    assert report.notes == ["table 'rental': driven by 'inventory_id -> inventory.inventory_id' (the most parents, "
                            "one sequence each); set driving_parent to choose another"]


@pytest.mark.slow
def test_a_pii_column_of_a_sequential_table_is_faked_never_learned(spark, tmp_path_factory):
    data = shop(3)
    orders = data["orders"]
    real_emails = [f"user{i}.{i % 7}@example{i % 3}.com" for i in range(len(orders))]
    orders["email"] = real_emails
    real_phones = [f"+1 415-555-{i % 10000:04d}" for i in range(len(orders))]
    orders["phone"] = real_phones
    frames = {k: spark.createDataFrame(v) for k, v in data.items()}
    reg = ModelRegistry(tmp_path_factory.mktemp("seq-pii-registry"))
    report = fit_database(spark, shop_metadata(), frames, backend="autoregressive", seed=2, registry=reg,
                          sequential={"orders"}, epochs=1, **SMALL)
    spec = report.entries["orders"].spec
    assert spec.driving.sequential
    assert [f.column for f in spec.fakes] == ["phone"]  # detected: faked at sampling, never learned
    assert "phone" not in spec.table.column_names
    assert {p.column: p.action for p in spec.privacy} == {"email": "hash", "phone": "fake"}
    out = sample_database(spark, report.metadata, seed=4, registry=reg)["orders"]
    assert out.columns == list(orders.columns)
    emails = out.select("email").toPandas()["email"].dropna()
    assert len(emails) > 0 and emails.str.fullmatch(r"[0-9a-f]{64}").all()  # hash-shaped (a format model)
    assert not set(emails) & set(real_emails)  # hashed before the model learned them
    phones = out.select("phone").toPandas()["phone"].dropna()
    assert len(phones) > 0 and not set(phones) & set(real_phones)


def test_a_sequence_table_trains_in_the_fit_job_and_gives_the_model_of_the_driver_fit(spark, real, fitted, tmp_path):
    """Sequence tables were trained in the driver even with fit_in="spark"; they are now a task of
    the fit job (their parents and children shipped as two blobs), with the same model for a seed."""
    from tests.spark.test_fitting import _archive

    report, _ = fitted
    assert "orders" in report.training_seconds  # trained with the other tables, in the job
    here = fit_database(spark, shop_metadata(), real, backend="autoregressive", seed=1,
                        registry=ModelRegistry(tmp_path), sequential={"orders"}, fit_in="driver", **SMALL)
    a, b = report.entries["orders"], here.entries["orders"]
    assert a.spec.backend == b.spec.backend == "autoregressive_sequential"
    assert _archive(a) == _archive(b)
    same = {"model": None, "model_report": None}
    assert a.spec.model_copy(update=same) == b.spec.model_copy(update=same)
    assert [n for n in report.notes if "one sequence per parent" in n] == [n for n in here.notes if "one sequence per parent" in n]
