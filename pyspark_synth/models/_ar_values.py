"""Values of numerical and datetime columns: floats and ticks in, the column's own dtype out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["decimals", "restore_number", "datetime_ticks", "datetime_spec", "restore_datetime"]

_TICKS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_STEPS_SECONDS = (86_400, 3_600, 60, 1)


def decimals(values: np.ndarray, max_decimals: int = 8) -> int | None:
    """The fewest decimals that represent every value exactly, or None if more than `max_decimals`."""
    sample = values[:5000]
    if not len(sample):
        return None
    scale = max(1.0, float(np.max(np.abs(sample))))
    for d in range(max_decimals + 1):
        if np.allclose(np.round(sample, d), sample, rtol=0, atol=1e-9 * scale):
            return d
    return None


def restore_number(x: np.ndarray, dtype_name: str) -> pd.Series:
    """Floats (NaN for null) as the column's dtype; integers with nulls become nullable integers."""
    dtype = pd.api.types.pandas_dtype(dtype_name)
    isna = np.isnan(x)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        if isna.any():
            nullable = f"{'U' if dtype.kind == 'u' else ''}Int{dtype.itemsize * 8}"
            return pd.Series(pd.array(np.where(isna, 0, x).astype(np.int64), dtype=nullable)).mask(isna)
        return pd.Series(x.astype(dtype))
    if pd.api.types.is_integer_dtype(dtype):  # pandas nullable Int64 etc.
        return pd.Series(pd.array(np.where(isna, 0, x).astype(np.int64), dtype=dtype)).mask(isna)
    if pd.api.types.is_float_dtype(dtype):
        return pd.Series(x).astype(dtype)
    return pd.Series(x)


def _unit_and_tz(dtype: Any) -> tuple[str, str | None]:
    if isinstance(dtype, pd.DatetimeTZDtype):
        return dtype.unit, str(dtype.tz)
    if pd.api.types.is_datetime64_dtype(dtype):
        return np.datetime_data(dtype)[0], None
    return "ns", None


def datetime_ticks(data: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(int64 ticks of the column's unit, null mask); strings are parsed (time zones to UTC)."""
    if pd.api.types.is_datetime64_any_dtype(data.dtype):
        arr = data.array
    else:
        parsed = pd.to_datetime(data, errors="coerce", format="mixed")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        arr = parsed.astype("datetime64[ns]").array
    isna = np.asarray(pd.isna(arr))
    return np.asarray(arr.asi8, dtype=np.int64), isna


def datetime_spec(data: pd.Series) -> dict[str, Any]:
    """Unit, time zone, step, origin and string format of a datetime column."""
    is_string = not pd.api.types.is_datetime64_any_dtype(data.dtype)
    unit, tz = _unit_and_tz(data.dtype)
    ticks, isna = datetime_ticks(data)
    ticks = ticks[~isna]
    per_s = _TICKS_PER_SECOND.get(unit, 1)
    step = 1
    sample = ticks[:20_000]
    for seconds in _STEPS_SECONDS:
        if len(sample) and np.all(sample % (seconds * per_s) == 0):
            step = seconds * per_s
            break
    else:
        if per_s > 1 and len(sample) and np.all(sample % per_s == 0):
            step = per_s
    fmt = None
    if is_string:
        fmt = "%Y-%m-%d" if step % (86_400 * per_s) == 0 else (
            "%Y-%m-%d %H:%M:%S" if step % per_s == 0 else "%Y-%m-%d %H:%M:%S.%f")
    # ticks are stored relative to a whole day near the median: no record's own value (an extreme
    # least of all), and float64 stays exact for nanosecond ticks within a few weeks of it
    day = 86_400 * per_s
    origin = int(round(float(np.median(ticks)) / day)) * day if len(ticks) else 0
    return {"unit": unit, "tz": tz, "step": int(step), "origin": origin, "is_string": is_string, "format": fmt}


def restore_datetime(x: np.ndarray, spec: dict[str, Any], dtype_name: str) -> pd.Series:
    """Ticks relative to the spec's origin (NaN for null) as the column's datetime dtype or strings."""
    isna = np.isnan(x)
    ticks = np.where(isna, 0, x).astype(np.int64) + int(spec["origin"])
    values = pd.Series(ticks.astype(f"datetime64[{spec['unit']}]"))
    values[isna] = pd.NaT
    if spec["tz"] is not None:
        values = values.dt.tz_localize("UTC").dt.tz_convert(spec["tz"])
    if spec["is_string"]:
        out = values.dt.strftime(spec["format"])
        return out.astype(pd.api.types.pandas_dtype(dtype_name)) if dtype_name != "object" else out
    return values.astype(pd.api.types.pandas_dtype(dtype_name))
