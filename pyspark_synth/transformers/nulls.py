"""Null handling for numeric and datetime columns: the inner transform plus a [present, null] indicator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.transformers.base import ColumnTransformer, Span, transformer_from_state
from pyspark_synth.transformers.dtypes import nullable

__all__ = ["NullIndicator"]


class NullIndicator(ColumnTransformer):
    """Wrap a transformer so the column's nulls are learned as a two-way softmax; the null rate is kept.

    The inner transformer is fitted on the non-null values; null rows are encoded by the inner
    transform as a typical value with the indicator set to "null", and decoded back to nulls.

    Args:
        inner: The transformer of the non-null values (continuous or datetime).
    """

    kind = "nulls"

    def __init__(self, inner: ColumnTransformer) -> None:
        self.inner = inner

    def _fit(self, data: pd.Series) -> None:
        isna = data.isna().to_numpy()
        self.null_rate_ = float(isna.mean()) if len(isna) else 0.0
        present = data[~isna]
        self.inner.fit(present.rename(data.name))

    def _transform(self, data: pd.Series) -> np.ndarray:
        isna = data.isna().to_numpy()
        inner = self.inner.transform(data.reset_index(drop=True))  # the inner transform encodes nulls as typical values
        ind = np.zeros((len(data), 2), dtype=np.float32)
        ind[np.arange(len(data)), isna.astype(np.int64)] = 1.0
        return np.concatenate([inner, ind], axis=1)

    def _inverse(self, data: np.ndarray) -> pd.Series:
        values = self.inner.inverse_transform(data[:, :-2])
        isna = data[:, -1] > data[:, -2]
        if not isna.any():
            return values
        return values.astype(nullable(values.dtype)).mask(isna)

    def _spans(self) -> list[Span]:
        return [*self.inner.spans, Span(2, "softmax", self.column_, "null")]

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        cfg, arrays = self.inner.to_dict()
        return {"inner": cfg, "null_rate": self.null_rate_}, arrays

    def _set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.inner = transformer_from_state(config["inner"], arrays)
        self.null_rate_ = float(config["null_rate"])
