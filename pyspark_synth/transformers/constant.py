"""A column with a single value (or only nulls): no network output, restored as the constant."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.transformers.base import ColumnTransformer, Span, to_jsonable
from pyspark_synth.transformers.categorical import restore_values

__all__ = ["ConstantTransformer"]


class ConstantTransformer(ColumnTransformer):
    """A constant column: takes no part in training and is regenerated as its value, dtype kept."""

    kind = "constant"

    def _fit(self, data: pd.Series) -> None:
        non_null = data.dropna()
        value = non_null.iloc[0] if len(non_null) else None
        self.is_datetime_ = bool(pd.api.types.is_datetime64_any_dtype(data.dtype)) and value is not None
        self.value_ = int(pd.Timestamp(value).value) if self.is_datetime_ else to_jsonable(value)
        self.dtype_categories_ = (
            [to_jsonable(v) for v in data.dtype.categories] if isinstance(data.dtype, pd.CategoricalDtype) else None
        )
        self.dtype_ordered_ = bool(isinstance(data.dtype, pd.CategoricalDtype) and data.dtype.ordered)

    def _transform(self, data: pd.Series) -> np.ndarray:
        return np.zeros((len(data), 0), dtype=np.float32)

    def _inverse(self, data: np.ndarray) -> pd.Series:
        n = len(data)
        if self.is_datetime_:
            dtype = pd.api.types.pandas_dtype(self.dtype_)
            ts = pd.Timestamp(self.value_, tz="UTC")
            tz = getattr(dtype, "tz", None)
            ts = ts.tz_convert(tz) if tz is not None else ts.tz_localize(None)
            return pd.Series([ts] * n).astype(dtype)
        values = np.empty(n, dtype=object)
        values[:] = self.value_
        return restore_values(values, self.dtype_, self.dtype_categories_, self.dtype_ordered_)

    def _spans(self) -> list[Span]:
        return []

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"value": self.value_, "is_datetime": self.is_datetime_, "dtype_categories": self.dtype_categories_,
                "dtype_ordered": self.dtype_ordered_}, {}

    def _set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.value_ = config["value"]
        self.is_datetime_ = bool(config["is_datetime"])
        self.dtype_categories_ = config.get("dtype_categories")
        self.dtype_ordered_ = bool(config.get("dtype_ordered", False))
