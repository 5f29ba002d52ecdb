"""Generated pandas rows coerced to a table's Spark schema, so Arrow hands Spark the exact types."""

from __future__ import annotations

import decimal
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["coerce_to_schema"]

_INT_DTYPES = {"byte": "Int8", "short": "Int16", "integer": "Int32", "long": "Int64"}


def _coerce_strings(s: pd.Series) -> pd.Series:
    """Strings as Python str objects with None for missing values (vectorised: the common case is all str)."""
    arr = s.to_numpy(dtype=object, copy=True)
    mask = pd.isna(arr)
    if pd.api.types.infer_dtype(arr, skipna=True) not in ("string", "empty"):
        arr = np.array([None if m else str(v) for v, m in zip(arr, mask, strict=True)], dtype=object)
    elif mask.any():
        arr[mask] = None
    return pd.Series(arr, dtype=object)


def _coerce_series(s: pd.Series, type_name: str, n: int) -> pd.Series:
    if s is None:
        return pd.Series([None] * n, dtype=object)
    if type_name in _INT_DTYPES:
        num = pd.to_numeric(s, errors="coerce")
        if num.dtype.kind == "f":
            num = num.round()
        return num.astype(_INT_DTYPES[type_name])
    if type_name in {"float", "double"}:
        return pd.to_numeric(s, errors="coerce").astype("float64")
    if type_name == "boolean":
        if s.dtype == bool:
            return s
        return s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else bool(v)).astype("boolean")
    if type_name == "string":
        return _coerce_strings(s)
    if type_name in {"timestamp", "timestamp_ntz"}:
        ts = pd.to_datetime(s, errors="coerce", utc=type_name == "timestamp")
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        return ts.astype("datetime64[us]")
    if type_name == "date":
        ts = pd.to_datetime(s, errors="coerce")
        return ts.map(lambda v: None if pd.isna(v) else v.date()).astype(object)
    if type_name.startswith("decimal"):
        return s.map(lambda v: None if v is None or pd.isna(v) else decimal.Decimal(str(v))).astype(object)
    return s


def coerce_to_schema(pdf: pd.DataFrame, fields: Any) -> pd.DataFrame:
    """Return a frame with exactly the schema's columns, in order, in dtypes Arrow maps to its types.

    Args:
        pdf: The generated rows.
        fields: `(name, Spark type name)` pairs (`spec.schema_fields`), or a pyspark StructType.

    Missing columns become nulls; integers are rounded and become nullable integer dtypes.
    """
    if hasattr(fields, "fields"):  # a StructType
        fields = [(f.name, f.dataType.typeName()) for f in fields.fields]
    n = len(pdf)
    out = {}
    for name, tname in fields:
        s = pdf[name] if name in pdf.columns else None
        if s is not None:
            s = s.reset_index(drop=True)
        out[name] = _coerce_series(s, tname, n)
    return pd.DataFrame(out, index=pd.RangeIndex(n))

