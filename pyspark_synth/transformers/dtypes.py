"""Column values read from and restored to their original pandas dtype: the one place every model uses.

A model learns a column as plain numbers or values: float64 for numbers, int64 nanoseconds for
datetimes, Python objects for categories and booleans (`read_values`). What it generates goes
back through `restore_values`, `restore_numbers` or `restore_datetimes`, which give the column
its original dtype: integers of the original width (nullable when nulls are generated), ordered
categoricals with their categories, tz-aware datetimes in their zone, `datetime.date` and
`Decimal` objects, and None for the nulls of object columns.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "dtype_from_str",
    "nullable",
    "read_values",
    "restore_datetimes",
    "restore_numbers",
    "restore_values",
    "target_dtype",
    "text_format",
]


def dtype_from_str(name: str, categories: list[Any] | None = None, ordered: bool = False) -> Any:
    """Rebuild a pandas/numpy dtype from its `str()` (category dtypes need `categories`)."""
    if name == "category":
        return pd.CategoricalDtype(categories=categories, ordered=ordered)
    return pd.api.types.pandas_dtype(name)


def nullable(dtype: Any) -> Any:
    """The dtype that can hold nulls: int32 -> Int32, uint8 -> UInt8, bool -> boolean; others as they are."""
    if isinstance(dtype, np.dtype):
        if dtype.kind in "iu":
            return pd.api.types.pandas_dtype(str(dtype).replace("u", "U").replace("i", "I"))
        if dtype.kind == "b":
            return pd.BooleanDtype()
    return dtype


def target_dtype(dtype_name: str, has_null: bool, categories: list[Any] | None = None, ordered: bool = False) -> Any:
    """The dtype generated values take: the original one, made nullable when there are nulls."""
    dtype = dtype_from_str(dtype_name, categories, ordered)
    return nullable(dtype) if has_null else dtype


def read_values(data: pd.Series, semantic: str) -> tuple[Any, np.ndarray, str | None]:
    """(values, null mask, value type) of a column of semantic type `semantic` (see `infer_semantic_type`).

    Values: float64 for numerical columns (non-finite values count as null), int64 nanoseconds
    since the epoch (UTC, 0 where null) for datetimes, an object Series for categorical and
    boolean columns. The value type says how values are held when the dtype does not:
    "date" / "pydatetime" (objects of `datetime`), "string" (datetimes written as text),
    "decimal" (`Decimal` objects), else None.
    """
    null = data.isna().to_numpy()
    if semantic == "numerical":
        decimals = data.dtype == object and len(data[~null]) and all(isinstance(v, decimal.Decimal) for v in data[~null])
        x = pd.to_numeric(data, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return x, null | ~np.isfinite(x), "decimal" if decimals else None
    if semantic == "datetime":
        value_type = None
        if isinstance(data.dtype, pd.DatetimeTZDtype):
            naive = data.dt.tz_convert("UTC").dt.tz_localize(None)
        elif pd.api.types.is_datetime64_dtype(data.dtype):
            naive = data
        else:
            present = data[~null]
            if len(present) and all(isinstance(v, _dt.date) for v in present):
                value_type = "date" if all(type(v) is _dt.date for v in present) else "pydatetime"
            else:
                value_type = "string"
            naive = pd.to_datetime(data, errors="coerce", utc=True, format="mixed").dt.tz_localize(None)
            null = naive.isna().to_numpy()
        ns = naive.astype("datetime64[ns]").to_numpy().view(np.int64).copy()
        ns[null] = 0
        return ns, null, value_type
    return data.astype(object), null, None


def text_format(step_ns: int) -> str:
    """The strftime format of datetimes written as text, as precise as their step (in nanoseconds)."""
    if step_ns % (86_400 * 10**9) == 0:
        return "%Y-%m-%d"
    return "%Y-%m-%d %H:%M:%S" if step_ns % 10**9 == 0 else "%Y-%m-%d %H:%M:%S.%f"


def restore_values(values: np.ndarray, null: np.ndarray | None, dtype_name: str,
                   categories: list[Any] | None = None, ordered: bool = False) -> pd.Series:
    """Generated object values (categories, booleans, constants) in the column's original dtype.

    Args:
        values: One value per row (any placeholder where `null`).
        null: Rows to set to null (None: the rows whose value is null).
        dtype_name: `str()` of the original dtype.
        categories: The categories of a categorical dtype.
        ordered: Whether that categorical dtype is ordered.
    """
    vals = np.asarray(values, dtype=object).copy()
    null = pd.isna(vals) if null is None else np.asarray(null, dtype=bool)
    has_null = bool(null.any())
    dtype = target_dtype(dtype_name, has_null, categories, ordered)
    vals[null] = None
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical(vals, dtype=dtype))
    if pd.api.types.is_object_dtype(dtype):
        return pd.Series(vals, dtype=object)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        vals[null] = np.nan
        return pd.Series(vals.astype(dtype))
    try:
        return pd.Series(pd.Series(vals, dtype=object).astype(dtype).array)
    except (TypeError, ValueError):
        return pd.Series(vals, dtype=object)


def restore_numbers(x: np.ndarray, null: np.ndarray | None, dtype_name: str, *, is_int: bool = False,
                    decimals: int | None = None, value_type: str | None = None) -> pd.Series:
    """Generated float values in the column's original numeric dtype.

    Integers are rounded (`is_int`), other values rounded to `decimals` places when given;
    `value_type="decimal"` gives `Decimal` objects; nulls become NaN, NA or None as the dtype holds them.
    """
    x = np.asarray(x, dtype=np.float64)
    null = np.zeros(len(x), dtype=bool) if null is None else np.asarray(null, dtype=bool)
    dtype = target_dtype(dtype_name, bool(null.any()))
    if is_int:
        x = np.rint(x)
    elif decimals is not None:
        x = np.round(x, decimals)
    if value_type == "decimal":
        uniq, inverse = np.unique(x, return_inverse=True)
        decs = np.empty(len(uniq), dtype=object)
        decs[:] = [decimal.Decimal(f"{v:.{decimals}f}") if decimals is not None else decimal.Decimal(repr(float(v)))
                   for v in uniq]
        out = decs[inverse.ravel()]
        out[null] = None
        return pd.Series(out, dtype=object)
    if isinstance(dtype, np.dtype) and dtype.kind in "iufb":
        return pd.Series(np.where(null, np.nan, x).astype(dtype) if dtype.kind == "f" else x.astype(dtype))
    if isinstance(dtype, np.dtype):  # an object column of numbers
        out = np.empty(len(x), dtype=object)
        out[:] = list(x.astype(np.int64)) if is_int else list(x)
        out[null] = None
        return pd.Series(out, dtype=object)
    filled = np.where(null | ~np.isfinite(x), 0.0, x)  # the nulls' placeholders must cast too
    arr = pd.array(filled.astype(np.int64) if is_int else filled, dtype=dtype)
    arr[null] = pd.NA
    return pd.Series(arr)


def restore_datetimes(ns: np.ndarray, null: np.ndarray | None, dtype_name: str, *, value_type: str | None = None,
                      fmt: str | None = None) -> pd.Series:
    """Generated datetimes (int64 nanoseconds since the epoch, UTC) in the column's original dtype.

    A tz-aware dtype gets its zone back; `value_type` "date" / "pydatetime" gives `datetime`
    objects and "string" text written with `fmt` (ISO 8601 by default).
    """
    ns = np.asarray(ns, dtype=np.int64)
    null = np.zeros(len(ns), dtype=bool) if null is None else np.asarray(null, dtype=bool)
    ts = pd.Series(np.where(null, np.iinfo(np.int64).min, ns).view("datetime64[ns]"))
    if value_type in ("date", "pydatetime", "string"):
        out = np.empty(len(ts), dtype=object)
        if value_type == "date":
            out[:] = list(ts.dt.date)
        elif value_type == "pydatetime":
            out[:] = list(ts.dt.to_pydatetime())
        else:
            out[:] = list(ts.dt.strftime(fmt or "%Y-%m-%dT%H:%M:%S"))
        out[null] = None
        return pd.Series(out, dtype=object)
    dtype = target_dtype(dtype_name, bool(null.any()))
    if getattr(dtype, "tz", None) is not None:
        ts = ts.dt.tz_localize("UTC").dt.tz_convert(dtype.tz)
    return pd.Series(ts.astype(dtype).array)
