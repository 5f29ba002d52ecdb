"""The model registry: versions, specs beside models, damaged files, old manifests, database specs."""

from __future__ import annotations

import json
import threading

import pytest

from pyspark_synth.errors import NotFittedError, SerializationError, SynthError
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.metadata import Metadata
from pyspark_synth.spec import DatabaseSpec, TableSpec
from tests.unit.test_spec import _customers, _orders, _products


def _archive(seed: int = 0) -> bytes:
    """A real model archive (a copula on a few rows): opening an entry rebuilds its model."""
    import numpy as np
    import pandas as pd

    from pyspark_synth.models.copula import GaussianCopula

    rng = np.random.default_rng(seed)
    return GaussianCopula(None, seed=seed).fit(pd.DataFrame({"x": rng.normal(size=30), "c": rng.choice(["a", "b"], 30)})).to_bytes()


MODEL_ONE, MODEL_TWO = _archive(1), _archive(2)


def test_versions_latest_and_any_version(tmp_path):
    reg = ModelRegistry(tmp_path)
    first = reg.save(_customers(), MODEL_ONE)
    second = reg.save(_customers().model_copy(update={"seed": 5}), MODEL_TWO)
    assert (first.version, second.version) == (1, 2) and reg.versions("customers") == [1, 2]
    assert reg.tables() == ["customers"]
    assert reg.get("customers").seed == 5 and reg.get("customers", 1).seed == 1
    assert reg.get("customers", 1).model_bytes() == MODEL_ONE
    # the registry records what the archive must be
    assert reg.get("customers").spec.model.size == len(MODEL_TWO)
    with pytest.raises(NotFittedError, match=r"no model version 7; versions: \[1, 2\]"):
        reg.get("customers", 7)
    with pytest.raises(NotFittedError, match=r"Table 'nope' has no fitted model.*Fitted tables: \['customers'\]"):
        reg.get("nope")


def test_spec_is_json_beside_the_model(tmp_path):
    entry = ModelRegistry(tmp_path).save(_orders(), MODEL_ONE)
    files = sorted(p.name for p in (tmp_path / "default" / "orders" / "v1").iterdir())
    assert files == ["entry.json", "model.synth", "spec.json"]
    assert TableSpec.from_json((tmp_path / "default" / "orders" / "v1" / "spec.json").read_text()) == entry.spec
    with pytest.warns(DeprecationWarning, match="ModelEntry.extra is deprecated"):
        assert entry.extra["relational"]["driving"]["parent_table"] == "customers"


def test_damaged_files_name_the_file_the_table_and_what_to_do(tmp_path):
    reg = ModelRegistry(tmp_path)
    entry = reg.save(_customers(), MODEL_ONE)
    model = tmp_path / "default" / "customers" / "v1" / "model.synth"
    model.write_bytes(MODEL_ONE[:-1] + bytes([MODEL_ONE[-1] ^ 1]))  # one byte changed
    with pytest.raises(SerializationError, match=r"model\.synth' of table 'customers' v1 is damaged.*Refit the table"):
        reg.get("customers").model_bytes()
    model.unlink()
    with pytest.raises(SerializationError, match=r"is missing\. Refit the table, or load an earlier version"):
        entry.model_bytes()
    (tmp_path / "default" / "customers" / "v1" / "spec.json").write_text('{"name": "customers"')
    with pytest.raises(SerializationError, match=r"Spec '.*spec\.json' of table 'customers' v1 is not JSON"):
        reg.get("customers")


def test_models_written_before_specs_still_load(tmp_path):
    import numpy as np

    from pyspark_synth.relational.linkage import LinkageModel

    folder = tmp_path / "default" / "orders" / "v1"
    folder.mkdir(parents=True)
    schema = json.loads(_orders().spark_schema)
    link = LinkageModel().fit(None, np.array([1, 2]))
    manifest = {"table": "orders", "version": 1, "path": str(folder), "backend": "copula", "fitted_at": "2026-11-01",
                "row_count": 10, "training_rows": 10, "columns": [f["name"] for f in schema["fields"]],
                "spark_schema": json.dumps(schema), "seed": 4, "library_version": "0.1.0",
                "extra": {"keys": [], "text": [], "relational": {"driving": {
                    "columns": ["customer_id"], "parent_table": "customers", "parent_columns": ["customer_id"],
                    "linkage": link.to_dict(), "null_rate": 0.0}, "secondary": [], "self_refs": [], "context": []}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "model.synth").write_bytes(MODEL_ONE)
    entry = ModelRegistry(tmp_path).get("orders")
    assert entry.spec.driving.parent_table == "customers" and entry.model_bytes() == MODEL_ONE
    assert entry.fitted_at == "2026-11-01" and entry.seed == 4


def test_concurrent_saves_get_distinct_versions(tmp_path):
    reg = ModelRegistry(tmp_path)
    errors: list[BaseException] = []

    def save() -> None:
        try:
            for _ in range(5):
                reg.save(_customers(), MODEL_ONE)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and reg.versions("customers") == list(range(1, 21))
    assert not [p for p in (tmp_path / "default" / "customers").iterdir() if p.name.startswith(".tmp")]


def test_database_specs_are_versioned(tmp_path):
    reg = ModelRegistry(tmp_path)
    with pytest.raises(NotFittedError, match="No database was fitted"):
        reg.get_database()
    md = Metadata()
    md.add_table("customers", pk="customer_id")
    md.add_table("products", pk="product_id")
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id",
                                              "product_id": "products.product_id", "parent_order": "orders.order_id"})
    db = DatabaseSpec.from_tables(md, {"customers": _customers(), "orders": _orders(), "products": _products()})
    assert reg.save_database(db) == 1 and reg.save_database(db) == 2
    assert reg.get_database() == db and reg.database_versions() == [1, 2]
    assert reg.tables() == []  # the database specs are not a table


def test_old_save_signature_is_refused_clearly(tmp_path):
    with pytest.raises(SynthError, match="pass a TableSpec"):
        ModelRegistry(tmp_path).save("customers", b"x")  # type: ignore[arg-type]
