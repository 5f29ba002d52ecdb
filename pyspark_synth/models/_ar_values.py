"""Values of numerical and datetime columns: floats and ticks in, the column's own dtype out (on the
shared `transformers.dtypes` and `transformers.dateformats` functions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.transformers.dateformats import format_dates, null_marker
from pyspark_synth.transformers.datetime import datetime_ticks
from pyspark_synth.transformers.dtypes import (
    datetime_format,
    restore_numbers,
    restore_values,
    text_format,
)

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


def restore_number(x: np.ndarray, dtype_name: str, *, offset: int | None = None, span: int | None = None,
                   value_type: str | None = None, decimals_: int | None = None) -> pd.Series:
    """Floats (NaN for null, ±inf kept) as the column's dtype (`dtypes.restore_numbers`); with
    `offset`, integers given as exact differences from it."""
    x = np.asarray(x, dtype=np.float64)
    dtype = pd.api.types.pandas_dtype(dtype_name)
    is_int = pd.api.types.is_integer_dtype(dtype) or offset is not None
    if not is_int and value_type != "decimal" and not (isinstance(dtype, np.dtype) and dtype.kind == "O"):
        return pd.Series(x).astype(dtype) if pd.api.types.is_float_dtype(dtype) else pd.Series(x)
    return restore_numbers(x, np.isnan(x), dtype_name, is_int=is_int, decimals=decimals_, value_type=value_type,
                           offset=offset, span=span)


def _unit_and_tz(dtype: Any) -> tuple[str, str | None]:
    if isinstance(dtype, pd.DatetimeTZDtype):
        return dtype.unit, str(dtype.tz)
    if pd.api.types.is_datetime64_dtype(dtype):
        return np.datetime_data(dtype)[0], None
    return "ns", None


def datetime_spec(data: pd.Series) -> dict[str, Any]:
    """Unit, time zone, step, origin and text format of a datetime column.

    `text_format` is the format dates written as text or integers were read with (learned from
    the values, such as "%d/%m/%Y" or "int:%Y%m%d"); `format` the one they are written back with.
    """
    is_string = not pd.api.types.is_datetime64_any_dtype(data.dtype)
    fmt = datetime_format(data) if is_string else None
    unit, tz = _unit_and_tz(data.dtype)
    ticks, isna = datetime_ticks(data, fmt)
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
    out_fmt = None
    if is_string:
        out_fmt = fmt or text_format(step * (10**9 // per_s))
    # ticks are stored relative to a whole day near the median: no record's own value (an extreme
    # least of all), and float64 stays exact for nanosecond ticks within a few weeks of it
    day = 86_400 * per_s
    origin = int(round(float(np.median(ticks)) / day)) * day if len(ticks) else 0
    return {"unit": unit, "tz": tz, "step": int(step), "origin": origin, "is_string": is_string, "format": out_fmt,
            "text_format": fmt}


def restore_datetime(x: np.ndarray, spec: dict[str, Any], dtype_name: str) -> pd.Series:
    """Ticks relative to the spec's origin (NaN for null) as the column's datetime dtype, or as
    text or integers in the column's format."""
    isna = np.isnan(x)
    ticks = np.where(isna, 0, x).astype(np.int64) + int(spec["origin"])
    values = pd.Series(ticks.astype(f"datetime64[{spec['unit']}]"))
    values[isna] = pd.NaT
    if spec["tz"] is not None:
        values = values.dt.tz_localize("UTC").dt.tz_convert(spec["tz"])
    if spec["is_string"]:
        marked = null_marker(spec["format"]) is not None  # nulls written as the column's marker ("\\N")
        return restore_values(format_dates(values, spec["format"]), None if marked else isna, dtype_name)
    return values.astype(pd.api.types.pandas_dtype(dtype_name))
