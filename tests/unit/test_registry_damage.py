"""Damaged models are refused when a registry entry is opened, on the driver, with what to do."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from pyspark_synth.errors import SerializationError
from pyspark_synth.io.registry import ModelRegistry
from pyspark_synth.models._archive import unpack
from tests.unit.test_registry import MODEL_ONE
from tests.unit.test_spec import _customers


def _rewrite_config(data: bytes, change) -> bytes:
    """The archive with its config.json changed by `change(header)`."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "config.json":
                header = json.loads(content)
                change(header)
                content = json.dumps(header).encode()
            zf.writestr(item.filename, content)
    return out.getvalue()


def test_one_flipped_byte_is_a_serialization_error_at_every_position():
    # before: zlib.error (about 1 position in 6) and NotImplementedError escaped unpack
    reference = unpack(MODEL_ONE)
    for i in range(len(MODEL_ONE)):
        damaged = bytearray(MODEL_ONE)
        damaged[i] ^= 0xFF
        try:
            header, arrays = unpack(bytes(damaged))
        except SerializationError:
            continue
        # a byte zipfile does not read (a timestamp, an attribute) changes nothing
        assert header == reference[0] and sorted(arrays) == sorted(reference[1])


@pytest.mark.parametrize("what", ["truncated", "empty", "not an archive"])
def test_a_damaged_archive_fails_when_the_entry_is_opened(tmp_path, what):
    bad = {"truncated": MODEL_ONE[: len(MODEL_ONE) // 2], "empty": b"", "not an archive": b"\x80\x04pickle"}[what]
    reg = ModelRegistry(tmp_path)
    reg.save(_customers(), MODEL_ONE)
    reg.save(_customers(), bad)  # saved as it is: its digest is its own, so only reading it can tell
    with pytest.raises(SerializationError, match=r"Table 'customers' v2 .* is damaged: .*Refit the table, or load an "
                                                 r"earlier version"):
        reg.get("customers")
    assert reg.get("customers", 1).version == 1  # the earlier version still opens


def test_a_config_with_wrong_fields_fails_on_the_driver_not_in_an_executor(tmp_path):
    reg = ModelRegistry(tmp_path)
    reg.save(_customers(), _rewrite_config(MODEL_ONE, lambda h: h["config"].pop("params")))
    # before: KeyError: 'params' from the first Spark task that loaded the model
    with pytest.raises(SerializationError, match=r"Table 'customers' v1 .* is damaged: its archive's config cannot be "
                                                 r"read by the 'copula' backend \(KeyError: 'params'\)\. Refit the table"):
        reg.get("customers")


def test_a_garbage_schema_fails_when_the_entry_is_opened(tmp_path):
    reg = ModelRegistry(tmp_path)
    entry = reg.save(_customers(), MODEL_ONE)
    spec_file = tmp_path / "default" / "customers" / "v1" / "spec.json"
    spec = json.loads(spec_file.read_text())
    schema = json.loads(spec["spark_schema"])
    schema["fields"][1]["type"] = "no-such-type"
    spec["spark_schema"] = json.dumps(schema)
    spec_file.write_text(json.dumps(spec))
    assert entry.version == 1
    # before: a bare error from StructType.fromJson when the first job was built
    with pytest.raises(SerializationError, match=r"Table 'customers' v1 .*: the stored Spark schema cannot be read"):
        reg.get("customers")
