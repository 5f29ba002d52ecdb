"""Column values read from and restored to their original pandas dtype: the one place every model uses.

A model learns a column as plain numbers or values: float64 for numbers, int64 nanoseconds for
datetimes, Python objects for categories and booleans (`read_values`). What it generates goes
back through `restore_values`, `restore_numbers` or `restore_datetimes`, which give the column
its original dtype: integers of the original width (nullable when nulls are generated), ordered
categoricals with their categories, tz-aware datetimes in their zone, `datetime.date` and
`Decimal` objects, dates written as text or integers in the column's own format (see
`dateformats`), and None for the nulls of object columns.

Integers are modelled as exact differences from the column's minimum (`integer_offsets`), so
values near 2**63 or above 2**53 come back exact and within the real range. Infinite values are
special values with their own share, like nulls (`special_codes`).
"""

from __future__ import annotations

import datetime as _dt
import decimal
from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.transformers.dateformats import (
    format_dates,
    is_integer_format,
    learn_format,
    null_marker,
    parse_dates,
)

__all__ = [
    "SPECIAL_VALUES",
    "datetime_format",
    "dtype_from_str",
    "integer_offsets",
    "nullable",
    "read_values",
    "restore_datetimes",
    "restore_numbers",
    "restore_values",
    "special_codes",
    "target_dtype",
    "text_format",
]

# The special states of a numerical value besides a finite number (code 0): null, +inf, -inf.
SPECIAL_VALUES: tuple[str, ...] = ("null", "inf", "-inf")
_U64 = 2**64
_MAX_U64_FLOAT = float(np.nextafter(2.0**64, 0))


def special_codes(x: np.ndarray, null: np.ndarray) -> np.ndarray:
    """The state of each value: 0 a finite number, 1 null (or NaN), 2 +inf, 3 -inf."""
    x = np.asarray(x, dtype=np.float64)
    codes = np.zeros(len(x), dtype=np.int64)
    codes[np.asarray(null, dtype=bool)] = 1
    codes[np.isposinf(x)] = 2
    codes[np.isneginf(x)] = 3
    return codes


def integer_offsets(data: pd.Series, offset: int | None = None) -> tuple[int, int, np.ndarray] | None:
    """(offset, span, differences) of an integer column, or None when it is not one.

    The offset is the smallest value (or the one given) and the span the largest value minus it
    (Python ints, exact); the differences from the offset are float64 (0 where null), exact up
    to 2**53 however large the values are.
    """
    dtype = data.dtype
    if not pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return None
    unsigned = getattr(dtype, "kind", "i") == "u" or str(dtype).startswith("UInt")
    null = data.isna().to_numpy()
    v = data.to_numpy(dtype=np.uint64 if unsigned else np.int64, na_value=0)
    present = v[~null]
    if offset is None:
        offset = int(present.min()) if len(present) else 0
    hi = int(present.max()) if len(present) else offset
    off = np.uint64(offset % _U64)
    u = v.view(np.uint64)
    above = v >= (np.uint64(offset) if unsigned else np.int64(max(min(offset, 2**63 - 1), -(2**63))))
    out = np.where(above, (u - off).astype(np.float64), -(off - u).astype(np.float64))  # both wrap exactly
    out[null] = 0.0
    return offset, max(hi - offset, 0), out


def _from_offsets(x: np.ndarray, offset: int, span: int, dtype: np.dtype) -> np.ndarray:
    """Rounded float differences as integers of `dtype`, offset added exactly, within [offset, offset + span]."""
    rel = np.clip(np.rint(np.nan_to_num(np.asarray(x, dtype=np.float64))), 0.0, _MAX_U64_FLOAT)
    u = np.minimum(rel.astype(np.uint64), np.uint64(span))
    u = u + np.uint64(offset % _U64)  # modulo 2**64, exact as the result lies in the dtype's range
    return u.astype(dtype) if dtype.kind == "u" else u.view(np.int64).astype(dtype)


def datetime_format(data: pd.Series) -> str | None:
    """The format dates of a string or integer column are written in (see `dateformats`), or None
    (datetime dtypes, date objects, or values in no single format)."""
    if pd.api.types.is_datetime64_any_dtype(data.dtype):
        return None
    return learn_format(data)


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


def read_values(data: pd.Series, semantic: str, fmt: str | None = None) -> tuple[Any, np.ndarray, str | None]:
    """(values, null mask, value type) of a column of semantic type `semantic` (see `infer_semantic_type`).

    Values: float64 for numerical columns (non-finite values count as null: see `special_codes`
    for their share), int64 nanoseconds since the epoch (UTC, 0 where null) for datetimes, an
    object Series for categorical and boolean columns. The value type says how values are held
    when the dtype does not: "date" / "pydatetime" (objects of `datetime`), "string" (datetimes
    written as text), "int" (dates written as integers), "decimal" (`Decimal` objects), else None.

    Args:
        data: The column.
        semantic: Its semantic type.
        fmt: For datetimes held as text or integers, their format (`datetime_format`); None reads
            text in any ISO-like form.
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
                value_type = "int" if is_integer_format(fmt) else "string"
            if fmt is not None and value_type in ("string", "int"):
                naive = parse_dates(data, fmt)
            else:
                naive = pd.to_datetime(data, errors="coerce", utc=True, format="mixed").dt.tz_localize(None)
            naive = naive.reset_index(drop=True)
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
                    decimals: int | None = None, value_type: str | None = None, offset: int | None = None,
                    span: int | None = None) -> pd.Series:
    """Generated float values in the column's original numeric dtype.

    Integers are rounded (`is_int`), other values rounded to `decimals` places when given;
    `value_type="decimal"` gives `Decimal` objects; nulls become NaN, NA or None as the dtype holds
    them; infinite values stay infinite (float dtypes). With `offset` (and `span`) from
    `integer_offsets`, `x` holds differences from the offset, and the integers come back exact
    and within [offset, offset + span].
    """
    x = np.asarray(x, dtype=np.float64)
    null = np.zeros(len(x), dtype=bool) if null is None else np.asarray(null, dtype=bool)
    dtype = target_dtype(dtype_name, bool(null.any()))
    if offset is not None:
        base = dtype_from_str(dtype_name)
        base = base.numpy_dtype if hasattr(base, "numpy_dtype") else base
        if isinstance(base, np.dtype) and base.kind in "iu":
            ints = _from_offsets(x, int(offset), int(span if span is not None else _U64 - 1), base)
            if not null.any():
                return pd.Series(ints)
            arr = pd.array(ints, dtype=nullable(base))
            arr[null] = pd.NA
            return pd.Series(arr)
        x = x + float(offset)
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
    objects, "string" text written with `fmt` (ISO 8601 by default; any `dateformats` format)
    and "int" integers written with `fmt` (such as "int:%Y%m%d") in the column's integer dtype.
    """
    ns = np.asarray(ns, dtype=np.int64)
    null = np.zeros(len(ns), dtype=bool) if null is None else np.asarray(null, dtype=bool)
    ts = pd.Series(np.where(null, np.iinfo(np.int64).min, ns).view("datetime64[ns]"))
    if value_type == "int" and fmt is not None:
        return restore_values(format_dates(ts, fmt), null, dtype_name)
    if value_type in ("date", "pydatetime", "string"):
        out = np.empty(len(ts), dtype=object)
        if value_type == "date":
            out[:] = list(ts.dt.date)
        elif value_type == "pydatetime":
            out[:] = list(ts.dt.to_pydatetime())
        else:
            out[:] = format_dates(ts, fmt or "%Y-%m-%dT%H:%M:%S")
        out[null] = null_marker(fmt) if value_type == "string" else None  # "\\N" where the column wrote it
        return pd.Series(out, dtype=object)
    dtype = target_dtype(dtype_name, bool(null.any()))
    if getattr(dtype, "tz", None) is not None:
        ts = ts.dt.tz_localize("UTC").dt.tz_convert(dtype.tz)
    return pd.Series(ts.astype(dtype).array)
