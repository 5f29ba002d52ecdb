"""A grandparent's column that decides a grandchild's reaches it as context, at fitting and sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import Metadata
from pyspark_synth.errors import DataError
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.spark.fit_database import fit_database
from pyspark_synth.spark.sample_database import sample_children, sample_database


def regions_stores_sales(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Regions with a latitude; stores (no copy of it, a size that tells nothing); sales whose
    amount is twice their store's region's latitude."""
    rng = np.random.default_rng(seed)
    regions = pd.DataFrame({"region_id": np.arange(1, 41), "latitude": np.round(rng.uniform(0, 60, 40), 1)})
    stores = pd.DataFrame({"store_id": np.arange(1, 201), "region_id": rng.integers(1, 41, 200),
                           "size": rng.choice(["s", "m", "l"], 200)})
    per = rng.integers(1, 7, len(stores))
    store = np.repeat(stores.store_id.to_numpy(), per)
    lat = regions.set_index("region_id").latitude.loc[np.repeat(stores.region_id.to_numpy(), per)].to_numpy()
    sales = pd.DataFrame({"sale_id": np.arange(1, len(store) + 1), "store_id": store,
                          "amount": np.round(2.0 * lat + rng.normal(0, 2, len(store)), 2)})
    return {"regions": regions, "stores": stores, "sales": sales}


def _metadata() -> Metadata:
    md = Metadata().add_table("regions", pk="region_id")
    md.add_table("stores", pk="store_id", fk={"region_id": "regions.region_id"})
    md.add_table("sales", pk="sale_id", fk={"store_id": "stores.store_id"})
    return md


def _latitude_amount(sales: pd.DataFrame, stores: pd.DataFrame, regions: pd.DataFrame) -> float:
    j = sales.merge(stores, on="store_id").merge(regions, on="region_id")
    return float(np.corrcoef(j.latitude.astype(float), j.amount.astype(float))[0, 1])


@pytest.mark.slow
def test_a_grandparent_column_that_decides_the_grandchild_is_its_context_and_the_synthetic_rows_keep_it(spark, tmp_path):
    data = regions_stores_sales()
    frames = {k: spark.createDataFrame(v) for k, v in data.items()}
    reg = ModelRegistry(tmp_path / "r")
    report = fit_database(spark, _metadata(), frames, backend="copula", seed=0, registry=reg)
    spec = report.entries["sales"].spec
    assert "regions__latitude" in spec.context
    (inh,) = spec.inherited_context
    assert (inh.table, inh.column, inh.columns, inh.parent_columns) == ("regions", "latitude", ("region_id",),
                                                                          ("region_id",))
    assert any("regions__latitude is 'regions.latitude'" in n for n in report.notes)
    assert "regions__latitude = regions.latitude" in report.spec.explain()
    out = sample_database(spark, report.metadata, seed=3, registry=reg)
    syn = {t: df.toPandas() for t, df in out.items()}
    r_real = _latitude_amount(data["sales"], data["stores"], data["regions"])
    r_syn = _latitude_amount(syn["sales"], syn["stores"], syn["regions"])
    assert r_real > 0.95 and r_syn > 0.8, (r_real, r_syn)  # before: the stores' columns only, r ~ 0
    assert list(syn["sales"].columns) == list(data["sales"].columns)
    # sample_children alone needs the grandparent's rows, and gives the same rows with them
    with pytest.raises(DataError, match="grandparents="):
        sample_children(spark, "sales", out["stores"], seed=3, registry=reg)
    alone = sample_children(spark, "sales", out["stores"], seed=3, registry=reg, grandparents=out["regions"])
    pd.testing.assert_frame_equal(alone.toPandas().sort_values("sale_id").reset_index(drop=True),
                                  syn["sales"].sort_values("sale_id").reset_index(drop=True))
    # a pipeline's child step takes the grandparent's rows from its parent's step
    from pyspark_synth.errors import MetadataError
    from pyspark_synth.spark.pipelines import Step, prepare_children, prepare_table

    regions = prepare_table(spark, "regions", seed=3, registry=reg)
    stores = prepare_children(spark, "stores", regions, registry=reg)
    sales = prepare_children(spark, "sales", stores, registry=reg)
    pd.testing.assert_frame_equal(sales.rows().toPandas().sort_values("sale_id").reset_index(drop=True),
                                  syn["sales"].sort_values("sale_id").reset_index(drop=True))
    orphan_step = Step("stores", "stores", 3, stores.rows, stores.rows)
    with pytest.raises(MetadataError, match="child step of the step of 'regions'"):
        prepare_children(spark, "sales", orphan_step, registry=reg)
