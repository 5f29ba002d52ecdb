"""Relational shapes of issue 23: keys sharing columns, composite-key counters, row counts, context."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import Metadata
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.spark.fit_database import fit_database
from pyspark_synth.spark.sample_database import sample_database
from pyspark_synth.validation.integrity import check_foreign_key, orphan_rows


def league_data(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Teams keyed by (year, team); games with two keys to them, `(year, team_a)` and `(year, team_b)`."""
    rng = np.random.default_rng(seed)
    years = np.arange(2000, 2010)
    teams = pd.DataFrame([(y, t) for y in years for t in ["ANA", "BOS", "CHI", "DET", "NYA", "SEA"]],
                         columns=["year", "team"])
    teams["budget"] = rng.gamma(3, 10, len(teams)).round(1)
    rows = []
    for y in years:
        names = teams.team[teams.year == y].to_numpy()
        for _ in range(40):
            a, b = rng.choice(names, 2, replace=False)
            rows.append((y, a, b))
    games = pd.DataFrame(rows, columns=["year", "team_a", "team_b"])
    games.insert(0, "game_id", np.arange(len(games)))
    games["runs"] = rng.poisson(4, len(games))
    return {"teams": teams, "games": games}


def league_metadata() -> Metadata:
    md = Metadata().add_table("teams", pk=["year", "team"])
    md.add_table("games", pk="game_id", fk={("year", "team_a"): "teams.year,team", ("year", "team_b"): "teams.year,team"})
    return md


@pytest.mark.parametrize("driving", ["a", pytest.param("b", marks=pytest.mark.slow)])
def test_two_keys_sharing_a_column_are_both_filled_and_resolve(spark, tmp_path, driving):
    # games.(year, team_a) and games.(year, team_b) both point at teams.(year, team) and share
    # `year`: whichever drives, the other key is drawn among the parents of the same year, never null
    data = league_data()
    md = league_metadata()
    fks = md.tables["games"].foreign_keys
    md = md.with_table(md.tables["games"].model_copy(update={"driving_parent": None}))
    reg = ModelRegistry(tmp_path / "reg")
    real = {k: spark.createDataFrame(v) for k, v in data.items()}
    if driving == "b":  # the key listed second drives: declared by reversing the key order
        md = md.with_table(md.tables["games"].model_copy(update={"foreign_keys": tuple(reversed(fks))}))
    report = fit_database(spark, md, real, backend="copula", seed=1, registry=reg)
    out = sample_database(spark, report.metadata, seed=2, registry=reg)
    games = out["games"]
    assert games.count() > 0
    for fk in fks:
        chk = check_foreign_key("games", games, out["teams"], fk)
        assert chk.null_rows == 0, chk
        assert orphan_rows(games, out["teams"], fk).count() == 0, fk.label
    # the other key follows its law: every synthetic team plays, about as often as the real ones
    per_team = games.groupBy("year", "team_b").count().toPandas()["count"]
    assert len(per_team) > 0.8 * len(data["teams"]) and per_team.max() <= 3 * data["games"].groupby(
        ["year", "team_b"]).size().max()


def test_a_null_key_where_the_real_key_is_never_null_fails_validation(spark):
    # a key left null in every synthetic row has no orphan; its null check fails it
    from pyspark_synth.validation import validate

    md = league_metadata()
    data = league_data()
    real = {k: spark.createDataFrame(v) for k, v in data.items()}
    broken = data["games"].copy()
    broken["team_a"] = None
    synth = {"teams": real["teams"], "games": spark.createDataFrame(broken, schema=real["games"].schema)}
    res = validate(real, synth, md, pairs=False, privacy=False)
    rows = {(r.name, r.metric): r for r in res.rows if r.table == "games" and r.kind == "fk"}
    a, b = (fk.label for fk in md.tables["games"].foreign_keys)
    assert rows[(a, "orphans")].value == 0 and rows[(a, "orphans")].passed
    assert rows[(a, "null_keys")].value == len(broken) and rows[(a, "null_keys")].passed is False
    assert rows[(b, "null_keys")].value == 0 and rows[(b, "null_keys")].passed
    assert not res.passed


def pit_stop_data(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Races and drivers; pit stops keyed by (race_id, driver_id, stop), stop = 1..k per (race, driver)."""
    rng = np.random.default_rng(seed)
    races = pd.DataFrame({"race_id": np.arange(1, 31), "laps": rng.integers(50, 70, 30)})
    drivers = pd.DataFrame({"driver_id": np.arange(100, 120), "team": rng.choice(["red", "blue", "green"], 20)})
    rows = []
    for r in races.race_id:
        for d in rng.choice(drivers.driver_id, 12, replace=False):
            for s in range(1, rng.integers(1, 5) + 1):
                rows.append((r, d, s, float(rng.gamma(4, 6))))
    stops = pd.DataFrame(rows, columns=["race_id", "driver_id", "stop", "duration"])
    return {"races": races, "drivers": drivers, "pit_stops": stops}


def test_a_counter_inside_a_composite_key_numbers_each_parents_rows(spark, tmp_path):
    # stop counts each (race, driver)'s stops 1..4: it comes out counting them again (1..n per
    # synthetic (race, driver)), not as row ids 1..N over the table
    data = pit_stop_data()
    md = Metadata().add_table("races", pk="race_id").add_table("drivers", pk="driver_id")
    md.add_table("pit_stops", pk=["race_id", "driver_id", "stop"],
                 fk={"race_id": "races.race_id", "driver_id": "drivers.driver_id"})
    reg = ModelRegistry(tmp_path / "reg")
    report = fit_database(spark, md, {k: spark.createDataFrame(v) for k, v in data.items()}, backend="copula", seed=1,
                          registry=reg)
    (key,) = reg.get("pit_stops").spec.keys
    assert key.kind == "counter" and key.within == ("race_id", "driver_id") and key.offset == 1
    out = sample_database(spark, report.metadata, seed=2, registry=reg)["pit_stops"].toPandas()
    assert not out.duplicated(["race_id", "driver_id", "stop"]).any()
    per_group = out.groupby(["race_id", "driver_id"])["stop"].agg(["min", "max", "size"])
    assert (per_group["min"] == 1).all() and (per_group["max"] == per_group["size"]).all()
    real_max = data["pit_stops"].groupby(["race_id", "driver_id"]).size().max()
    assert out["stop"].max() <= 2 * real_max, out["stop"].max()


def test_a_composite_key_component_that_counts_nothing_stays_unique_ids(spark):
    # a weather hour that is not 0..n-1 inside each (site, day) keeps being made from row ids
    from pyspark_synth.spark.fit_table import counter_keys, resolve_table

    md = Metadata().add_table("w", pk=["site", "hour"])
    df = spark.createDataFrame(pd.DataFrame({"site": ["a", "a", "b", "b"], "hour": [1, 2, 1, 5]}))
    tbl = resolve_table(df, "w", md)
    assert counter_keys(df, tbl) == {}
    df2 = spark.createDataFrame(pd.DataFrame({"site": ["a", "a", "b", "b", "b"], "hour": [0, 1, 0, 1, 2]}))
    assert counter_keys(df2, resolve_table(df2, "w", md)) == {"hour": (("site",), 0)}


def test_row_counts_follow_the_data_with_null_driving_keys_and_two_parents(spark, tmp_path):
    # 12% of the orders have no customer (a nullable key): they are rows of the table too, so the
    # child total is the real one (not the non-null children only) and the null share is kept;
    # the line items have two parents (orders and products) and keep the real total as well
    rng = np.random.default_rng(8)
    customers = pd.DataFrame({"customer_id": np.arange(300), "tier": rng.choice(["a", "b"], 300)})
    per = rng.poisson(np.where(customers.tier == "a", 6, 2))
    cust = np.repeat(customers.customer_id.to_numpy(), per).astype(float)
    n_null = int(round(len(cust) * 0.12 / 0.88))
    orders = pd.DataFrame({"order_id": np.arange(len(cust) + n_null),
                           "customer_id": pd.array(np.concatenate([cust, np.full(n_null, np.nan)]), dtype="Int64"),
                           "total": rng.gamma(2, 20, len(cust) + n_null).round(2)})
    products = pd.DataFrame({"sku": np.arange(50), "price": rng.gamma(2, 5, 50).round(2)})
    k = rng.integers(1, 4, len(orders))
    lines = pd.DataFrame({"line_id": np.arange(k.sum()), "order_id": np.repeat(orders.order_id, k),
                          "sku": rng.integers(0, 50, k.sum()), "qty": rng.integers(1, 5, k.sum())})
    md = Metadata().add_table("customers", pk="customer_id").add_table("products", pk="sku")
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    md.add_table("lines", pk="line_id", fk={"order_id": "orders.order_id", "sku": "products.sku"}, driving_parent="orders")
    data = {"customers": customers, "orders": orders, "products": products, "lines": lines}
    reg = ModelRegistry(tmp_path / "reg")
    report = fit_database(spark, md, {k: spark.createDataFrame(v) for k, v in data.items()}, backend="copula", seed=1,
                          registry=reg)
    out = sample_database(spark, report.metadata, seed=3, registry=reg)
    n_orders = out["orders"].count()
    # the sum of 300 customers' draws has a relative spread of ~2.4% here; the tries keep it within 1%
    assert abs(n_orders / len(orders) - 1) < 0.01, (n_orders, len(orders))
    null_share = out["orders"].where("customer_id IS NULL").count() / n_orders
    assert abs(null_share - 0.12) < 0.02, null_share
    n_lines = out["lines"].count()
    assert abs(n_lines / (n_orders * len(lines) / len(orders)) - 1) < 0.02, (n_lines, len(lines))
    expected = report.spec.expected_rows()
    assert abs(expected["orders"] / len(orders) - 1) < 1e-6


@pytest.mark.parametrize("seed", [0, 5])
def test_child_totals_are_the_real_ones_under_few_parents_and_rare_heavy_parents(spark, tmp_path, seed):
    # 8 employees with 0, 0, 0, 0, 0, 18, 20 and 21 customers (chinook's shape): the best of the
    # candidate draws is rarely the real total; 300 sites of which 3 hold every reading: the sum
    # of draws is all or nothing. Both totals must be the real ones, and no parent without
    # children may get any when the draws already gave children to others.
    rng = np.random.default_rng(seed)
    employees = pd.DataFrame({"emp_id": np.arange(8), "office": ["a", "b", "a", "b", "a", "b", "a", "b"]})
    reps = np.repeat(np.arange(8), [0, 0, 0, 0, 0, 18, 20, 21])
    customers = pd.DataFrame({"cust_id": np.arange(len(reps)), "rep_id": reps,
                              "spend": rng.gamma(2, 10, len(reps)).round(2)})
    sites = pd.DataFrame({"site_id": np.arange(300), "height": rng.normal(100, 10, 300).round(1)})
    heavy = np.repeat([4, 150, 299], [700, 650, 720])
    readings = pd.DataFrame({"reading_id": np.arange(len(heavy)), "site_id": heavy,
                             "temp": rng.normal(10, 5, len(heavy)).round(1)})
    md = Metadata().add_table("employees", pk="emp_id").add_table("sites", pk="site_id")
    md.add_table("customers", pk="cust_id", fk={"rep_id": "employees.emp_id"})
    md.add_table("readings", pk="reading_id", fk={"site_id": "sites.site_id"})
    data = {"employees": employees, "customers": customers, "sites": sites, "readings": readings}
    reg = ModelRegistry(tmp_path / "reg")
    report = fit_database(spark, md, {k: spark.createDataFrame(v) for k, v in data.items()}, backend="copula",
                          seed=seed, registry=reg)
    out = sample_database(spark, report.metadata, seed=seed + 11, registry=reg)
    assert out["customers"].count() == len(customers)
    assert out["readings"].count() == len(readings)
    per_site = out["readings"].groupBy("site_id").count().toPandas()["count"]
    assert len(per_site) <= 10, len(per_site)  # a few heavy sites, not readings spread over many
    assert out["employees"].join(out["customers"], out["employees"].emp_id == out["customers"].rep_id,
                                 "left_anti").count() >= 3
