"""Primary-key generation: unique keys of the original type and shape, computed from global row ids."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pyspark_synth.metadata import generated_key_columns, type_family

__all__ = ["KeySpec", "generated_key_columns", "learn_key_spec", "make_keys"]

KeyKind = Literal["int", "prefixed", "uuid", "string", "timestamp", "date", "counter"]
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PREFIXED = re.compile(r"^([^0-9]*)([0-9]+)$")


class KeySpec(BaseModel):
    """How to turn a row id into a key value of one column.

    Attributes:
        column: Column name.
        kind: "int" (offset + row id), "prefixed" (prefix + zero-padded number), "uuid"
            (deterministic UUID from the row id), "string" (table-tagged number as text),
            "timestamp" / "date" (start + row id steps of `step`), "counter" (a component of a
            composite key numbered `offset`, `offset + 1`, ... inside each group of the other key
            columns `within`, like a pit stop's number within its (race, driver)).
        offset: First number for int/prefixed keys.
        prefix: Text before the number for prefixed keys.
        width: Minimum number of digits for prefixed keys.
        step: Seconds between consecutive timestamp keys (days for dates).
        salt: Mixed into uuid keys so different tables get different UUIDs.
        within: For a counter: the other key columns whose groups it numbers.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    kind: KeyKind
    offset: int = 1
    prefix: str = ""
    width: int = Field(default=0, ge=0)
    step: int = 1
    salt: str = ""
    within: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (for manifests)."""
        return self.model_dump()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KeySpec:
        """Inverse of to_dict."""
        return cls.model_validate(d)


def learn_key_spec(column: str, sql_type: str | None, sample: pd.Series, salt: str = "",
                   minimum: Any = None) -> KeySpec:
    """Choose a key shape that looks like the original keys in `sample`.

    Args:
        column: Column name.
        sql_type: Spark SQL type of the column.
        sample: Some original key values (nulls ignored).
        salt: A label (the table name) that makes UUID keys differ between tables.
        minimum: The smallest key over the full data, when known (start of integer keys).
    """
    fam = type_family(sql_type)
    values = sample.dropna()
    if fam == "integer":
        start = int(minimum) if minimum is not None else (int(values.min()) if len(values) else 1)
        return KeySpec(column=column, kind="int", offset=start)
    if fam in {"timestamp", "timestamp_ntz"}:
        start = pd.Timestamp(minimum if minimum is not None else (values.min() if len(values) else "2000-01-01"))
        return KeySpec(column=column, kind="timestamp", offset=int(start.value // 10**9), step=3600)
    if fam == "date":
        start = pd.Timestamp(minimum if minimum is not None else (values.min() if len(values) else "2000-01-01"))
        return KeySpec(column=column, kind="date", offset=int(start.value // (86400 * 10**9)), step=1)
    strs = values.astype(str)
    if len(strs) and strs.map(lambda s: bool(_UUID.match(s))).mean() > 0.9:
        return KeySpec(column=column, kind="uuid", salt=salt)
    if len(strs):
        m = strs.str.extract(_PREFIXED)
        ok = m[1].notna()
        if ok.mean() > 0.9:
            prefixes = m.loc[ok, 0].value_counts()
            prefix = str(prefixes.index[0]) if len(prefixes) else ""
            width = int(m.loc[ok, 1].str.len().median())
            return KeySpec(column=column, kind="prefixed", prefix=prefix, width=width, offset=1)
    return KeySpec(column=column, kind="string", prefix=f"{salt or column}-", width=6, offset=1)


def make_keys(spec: KeySpec, row_ids: np.ndarray) -> pd.Series:
    """Key values for global row ids 0, 1, 2, ... (unique whenever the row ids are)."""
    ids = np.asarray(row_ids, dtype=np.int64)
    if spec.kind in {"int", "counter"}:
        # (a counter's values are numbered inside their groups once the group columns are known,
        # by the Spark layer; these unique values hold their place and keep the row-id order)
        return pd.Series(ids + spec.offset, name=spec.column)
    if spec.kind in {"prefixed", "string"}:
        nums = (ids + spec.offset).astype(str)
        return pd.Series([f"{spec.prefix}{n.zfill(spec.width)}" for n in nums], name=spec.column, dtype=object)
    if spec.kind == "uuid":
        out = []
        for i in ids.tolist():
            digest = hashlib.blake2b(f"{spec.salt}\x1f{i}".encode(), digest_size=16).digest()
            out.append(str(uuid.UUID(bytes=digest, version=4)))
        return pd.Series(out, name=spec.column, dtype=object)
    if spec.kind == "timestamp":
        return pd.Series(pd.to_datetime((spec.offset + ids * spec.step) * 10**9), name=spec.column)
    if spec.kind == "date":
        return pd.Series(pd.to_datetime((spec.offset + ids * spec.step) * 86400 * 10**9).date, name=spec.column)
    raise ValueError(f"unknown key kind {spec.kind!r} for column '{spec.column}'")
