"""A datetime column as int64 ticks through mode-specific normalisation; dtype, unit and time zone kept."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.transformers.base import ColumnTransformer, Span
from pyspark_synth.transformers.continuous import ModeNormalizer
from pyspark_synth.transformers.dateformats import format_dates, parse_dates
from pyspark_synth.transformers.dtypes import datetime_format, restore_values, text_format

__all__ = ["DatetimeTransformer"]

_TICKS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_STEPS_SECONDS = (86_400, 3_600, 60, 1)


def _unit_and_tz(dtype: Any) -> tuple[str, str | None]:
    if isinstance(dtype, pd.DatetimeTZDtype):
        return dtype.unit, str(dtype.tz)
    if pd.api.types.is_datetime64_dtype(dtype):
        return np.datetime_data(dtype)[0], None
    return "ns", None



def datetime_ticks(data: pd.Series, fmt: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(int64 ticks of the column's unit, null mask); text and integers are parsed with their
    format `fmt` (`dtypes.datetime_format`), else as ISO-like text (time zones to UTC)."""
    if pd.api.types.is_datetime64_any_dtype(data.dtype):
        arr = data.array
    elif fmt is not None:
        arr = parse_dates(data, fmt).array
    else:
        parsed = pd.to_datetime(data, errors="coerce", format="mixed")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        arr = parsed.astype("datetime64[ns]").array
    isna = np.asarray(pd.isna(arr))
    return np.asarray(arr.asi8, dtype=np.int64), isna

class DatetimeTransformer(ColumnTransformer):
    """Datetimes (naive, tz-aware, or strings the metadata calls datetime) via a Gaussian mixture.

    The values become int64 ticks of the column's own unit, go through `ModeNormalizer` and come
    back rounded to the coarsest step that all observed values sit on (day, hour, minute, second,
    or the unit), clipped to the observed range, in the original dtype. Strings and integers that
    write dates in one format ("14/03/2021", 20210314) are read and written back in that format;
    other strings are parsed as ISO-like text and written with a format that matches their precision.

    Args:
        max_modes: Upper bound on the mixture's modes.
        weight_threshold: Modes with less weight are dropped.
        max_fit_rows: Bound on the rows used to fit the mixture.
        seed: Seed of the fit sample and of the mode assignment.
    """

    kind = "datetime"

    def __init__(self, max_modes: int = 10, weight_threshold: float = 0.005, max_fit_rows: int = 5_000,
                 seed: int = 0) -> None:
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.max_fit_rows = max_fit_rows
        self.seed = seed

    def _ticks(self, data: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(int64 ticks, null mask)."""
        return datetime_ticks(data, getattr(self, "text_format_", None))

    def _fit(self, data: pd.Series) -> None:
        self.is_string_ = not pd.api.types.is_datetime64_any_dtype(data.dtype)
        self.text_format_ = datetime_format(data) if self.is_string_ else None  # learned: "%d/%m/%Y", "int:%Y%m%d"
        self.unit_, self.tz_ = _unit_and_tz(data.dtype)
        ticks, isna = self._ticks(data)
        ticks = ticks[~isna]
        per_s = _TICKS_PER_SECOND.get(self.unit_, 1)
        self.step_ = 1
        sample = ticks[:20_000]
        for seconds in _STEPS_SECONDS:
            step = seconds * per_s
            if len(sample) and np.all(sample % step == 0):
                self.step_ = int(step)
                break
        else:
            if per_s > 1 and len(sample) and np.all(sample % per_s == 0):
                self.step_ = per_s
        self.min_ = int(ticks.min()) if len(ticks) else 0
        self.max_ = int(ticks.max()) if len(ticks) else 0
        self.origin_ = self.min_
        rel = (ticks - self.origin_).astype(np.float64)
        self.normalizer_ = ModeNormalizer(self.max_modes, self.weight_threshold, self.max_fit_rows, self.seed).fit(rel)
        self.format_ = (self.text_format_ or text_format(self.step_ * (10**9 // per_s))) if self.is_string_ else None

    def _transform(self, data: pd.Series) -> np.ndarray:
        ticks, isna = self._ticks(data)
        rel = np.where(isna, self.normalizer_.loc_, (ticks - self.origin_).astype(np.float64))
        alpha, mode = self.normalizer_.encode(rel)
        out = np.zeros((len(rel), 1 + self.normalizer_.n_modes), dtype=np.float32)
        out[:, 0] = alpha
        out[np.arange(len(rel)), 1 + mode] = 1.0
        return out

    def _inverse(self, data: np.ndarray) -> pd.Series:
        mode = np.argmax(data[:, 1:], axis=1) if data.shape[1] > 2 else np.zeros(len(data), dtype=np.int64)
        rel = self.normalizer_.decode(data[:, 0], mode)
        rel = np.round(rel / self.step_) * self.step_
        ticks = np.clip(rel.astype(np.int64) + self.origin_, self.min_, self.max_)
        values = pd.Series(ticks.astype(f"datetime64[{self.unit_}]"))
        if self.tz_ is not None:
            values = values.dt.tz_localize("UTC").dt.tz_convert(self.tz_)
        if self.is_string_:
            return restore_values(format_dates(values, self.format_), None, self.dtype_)
        return values.astype(pd.api.types.pandas_dtype(self.dtype_))

    def _spans(self) -> list[Span]:
        return [Span(1, "tanh", self.column_, "continuous"),
                Span(self.normalizer_.n_modes, "softmax", self.column_, "mode")]

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        cfg, arrays = self.normalizer_.get_state()
        return {"normalizer": cfg, "is_string": self.is_string_, "unit": self.unit_, "tz": self.tz_,
                "step": self.step_, "min": self.min_, "max": self.max_, "origin": self.origin_,
                "format": self.format_, "text_format": self.text_format_}, arrays

    def _set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        n = config["normalizer"]
        self.max_modes, self.weight_threshold = n["max_modes"], n["weight_threshold"]
        self.max_fit_rows, self.seed = n["max_fit_rows"], n["seed"]
        self.normalizer_ = ModeNormalizer.from_state(n, arrays)
        self.is_string_, self.unit_, self.tz_ = bool(config["is_string"]), config["unit"], config["tz"]
        self.step_, self.min_, self.max_ = int(config["step"]), int(config["min"]), int(config["max"])
        self.origin_, self.format_ = int(config["origin"]), config["format"]
        self.text_format_ = config.get("text_format")
