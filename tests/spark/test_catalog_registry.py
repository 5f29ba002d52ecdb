"""The model registry as a catalog table: rows readable with SQL, atomic versions, checks on open."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.errors import NotFittedError, SerializationError
from pyspark_synth.io.catalog_registry import (
    CatalogRegistry,
    migrate_registry,
)
from pyspark_synth.io.registry import ModelRegistry, registry_for
from pyspark_synth.spark.fit_table import fit_table
from pyspark_synth.spark.sample_table import sample_table
from pyspark_synth.spec import TableSpec

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def people(spark):
    rng = np.random.default_rng(2)
    return spark.createDataFrame(pd.DataFrame({"person_id": np.arange(1, 151), "age": rng.integers(18, 90, 150),
                                               "city": rng.choice(["Oslo", "Lima", "Pune"], 150)}))


@pytest.fixture(scope="module")
def fitted(spark, people):
    """Two versions of `people` in the default registry table, namespace 'catreg'."""
    reg = CatalogRegistry(spark, namespace="catreg")
    first = fit_table(people, table="people", backend="copula", seed=1, registry=reg)
    second = fit_table(people, table="people", backend="copula", seed=2, registry=reg)
    return reg, first, second


def test_the_default_registry_is_a_catalog_table_and_a_directory_is_picked_by_path_or_conf(spark, spark_conf, tmp_path):
    assert isinstance(registry_for(spark), CatalogRegistry) and str(registry_for(spark).name) == "synth_models"
    assert isinstance(registry_for(spark, str(tmp_path)), ModelRegistry)
    spark_conf("spark.synth.registryTable", "other_schema.my_models")
    assert str(registry_for(spark).name) == "other_schema.my_models"
    spark_conf("spark.synth.registryRoot", str(tmp_path))
    assert isinstance(registry_for(spark), ModelRegistry)


def test_one_row_per_version_readable_with_sql(spark, fitted):
    reg, first, second = fitted
    assert (first.version, second.version) == (1, 2) and reg.versions("people") == [1, 2]
    rows = spark.sql("SELECT table, version, backend, fitted_at, library_version, spec, model, report "
                     "FROM synth_models WHERE namespace = 'catreg' ORDER BY version").collect()
    assert [(r.table, r.version, r.backend) for r in rows] == [("people", 1, "copula"), ("people", 2, "copula")]
    assert all(r.fitted_at is not None and r.library_version for r in rows)
    assert TableSpec.from_json(rows[1].spec) == second.spec  # the spec, as JSON
    assert bytes(rows[1].model) == second.model_bytes()  # the archive, as binary
    assert '"notes"' in rows[0].report
    # latest by default, any version by number, from any form of the name
    assert reg.get("people").seed == 2 and reg.get("default.people", 1).seed == 1
    with pytest.raises(NotFittedError, match=r"no model version 7; versions: \[1, 2\]"):
        reg.get("people", 7)
    listed = reg.listing()
    assert [(r["table"], r["version"], r["seed"]) for r in listed] == [("people", 1, 1), ("people", 2, 2)]


def test_concurrent_saves_never_share_a_version(spark, fitted):
    reg, first, _ = fitted
    mine = reg.with_namespace("catreg-threads")
    got: list[int] = []
    errors: list[BaseException] = []

    def save() -> None:
        try:
            for _ in range(3):
                got.append(mine.save(first.spec, first.model_bytes()).version)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(got) == list(range(1, 10))
    assert mine.versions("people") == list(range(1, 10))
    counts = spark.sql("SELECT version, count(*) AS n FROM synth_models WHERE namespace = 'catreg-threads' "
                       "GROUP BY version").collect()
    assert {r.n for r in counts} == {1}  # one row per version


def test_a_claimed_version_without_its_row_is_no_version(spark, fitted):
    reg, first, _ = fitted
    dead = reg.with_namespace("catreg-dead")
    dead.save(first.spec, first.model_bytes())
    assert dead._claim("table", "people", 2)  # a writer that claimed version 2 and died
    assert dead.versions("people") == [1] and dead.get("people").version == 1
    with pytest.raises(NotFittedError, match=r"no model version 2"):
        dead.get("people", 2)
    assert dead.save(first.spec, first.model_bytes()).version == 3  # never reused


def test_a_damaged_row_fails_on_open_naming_the_version(spark, fitted, people):
    reg, first, _ = fitted
    broken = reg.with_namespace("catreg-broken")
    broken.save(first.spec, first.model_bytes())
    data = bytearray(first.model_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, saved as it is (its digest is its own)
    broken.save(first.spec, bytes(data))
    with pytest.raises(SerializationError, match=r"Table 'people' v2 \(model registry table synth_models, namespace "
                                                 r"'catreg-broken', versions \[1, 2\]\) is damaged: .*Refit the table, "
                                                 r"or load an earlier version"):
        sample_table(spark, "people", 10, registry=broken)
    assert sample_table(spark, "people", 10, seed=1, registry=broken, version=1).count() == 10


def test_three_part_and_quoted_registry_table_names(spark, fitted):
    _, first, _ = fitted
    spark.sql("CREATE NAMESPACE IF NOT EXISTS catreg_db")
    reg = CatalogRegistry(spark, "spark_catalog.`catreg_db`.`model_versions`")
    entry = reg.save(first.spec, first.model_bytes())
    assert entry.version == 1 and reg.get("people").spec == entry.spec
    rows = spark.sql("SELECT table, version FROM catreg_db.model_versions").collect()
    assert [(r.table, r.version) for r in rows] == [("people", 1)]


def test_migrate_a_directory_registry(spark, fitted, tmp_path):
    _, first, second = fitted
    old = ModelRegistry(tmp_path / "old", "catreg-migrate")
    old.save(first.spec, first.model_bytes())
    old.save(second.spec, second.model_bytes())
    target = CatalogRegistry(spark, "catreg_migrated")
    copied = migrate_registry(spark, old, registry=target)
    assert copied == {"catreg-migrate": [("people", 1), ("people", 2)]}
    mig = target.with_namespace("catreg-migrate")
    assert mig.versions("people") == [1, 2] and mig.get("people", 1).spec == first.spec
    assert mig.get("people").fitted_at == old.get("people").fitted_at  # numbers and times kept
    assert migrate_registry(spark, old, registry=target) == {"catreg-migrate": []}  # again: nothing to do
