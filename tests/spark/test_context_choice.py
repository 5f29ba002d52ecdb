"""fit_database chooses a child's parent context by measured dependence, datetimes included."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pyspark_synth import Metadata
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.spark.fit_database import fit_database
from pyspark_synth.spark.sample_database import sample_database


def customers_and_orders(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Customers with six categorical columns that tell nothing about their orders and a signup
    date that decides each order's amount (ten more per year)."""
    rng = np.random.default_rng(seed)
    n = 400
    customers = pd.DataFrame({"customer_id": np.arange(1, n + 1),
                              **{f"flag{i}": rng.choice(["x", "y", "z"], n) for i in range(6)},
                              "signup": pd.to_datetime("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")})
    per = rng.integers(1, 6, n)
    owner = np.repeat(customers.customer_id.to_numpy(), per)
    years = np.repeat(customers.signup.dt.year.to_numpy(), per)
    orders = pd.DataFrame({"order_id": np.arange(1, len(owner) + 1), "customer_id": owner,
                           "amount": np.round((years - 2015) * 10.0 + rng.normal(0, 2, len(owner)), 2)})
    return {"customers": customers, "orders": orders}


def test_a_parent_date_that_decides_the_child_is_its_context_and_the_synthetic_child_follows_it(spark, tmp_path):
    data = customers_and_orders()
    md = Metadata().add_table("customers", pk="customer_id")
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    frames = {k: spark.createDataFrame(v) for k, v in data.items()}
    report = fit_database(spark, md, frames, backend="copula", seed=0, registry=ModelRegistry(tmp_path / "r"))
    spec = report.entries["orders"].spec
    assert spec.context[0] == "signup"  # a type ranking and a cap of five kept five flags, never the date
    assert not {f"flag{i}" for i in range(6)} & set(spec.context)
    assert any("measured dependence" in n and "signup" in n for n in report.notes)
    out = sample_database(spark, report.metadata, seed=3, registry=ModelRegistry(tmp_path / "r"))
    joined = out["orders"].join(out["customers"], "customer_id").select("amount", "signup").toPandas()
    real = data["orders"].merge(data["customers"], on="customer_id")
    r_real = np.corrcoef(real.signup.dt.year, real.amount)[0, 1]
    r_syn = np.corrcoef(pd.to_datetime(joined.signup).dt.year, joined.amount)[0, 1]
    assert r_real > 0.95 and r_syn > 0.8, (r_real, r_syn)
