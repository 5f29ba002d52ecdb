"""A low-cardinality column as a one-hot block; null is a category of its own, so its rate is kept."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.transformers import dtypes
from pyspark_synth.transformers.base import ColumnTransformer, Span, to_jsonable

__all__ = ["OneHotTransformer", "restore_values"]


def restore_values(values: np.ndarray, dtype_name: str, dtype_categories: list[Any] | None,
                   ordered: bool = False) -> pd.Series:
    """Cast an object array of category values (None for null) back to the column's original dtype."""
    return dtypes.restore_values(values, None, dtype_name, dtype_categories, ordered)


class OneHotTransformer(ColumnTransformer):
    """Categories (any hashable values, nulls included) as a one-hot block.

    Categories are ordered by frequency. Values are kept as they are (a numeric-looking string
    stays a string, an integer category stays an integer) and the original dtype is restored.
    An unseen value in `transform` is encoded as the most frequent category.
    """

    kind = "categorical"
    span_kind = "category"

    def _fit(self, data: pd.Series) -> None:
        isna = data.isna().to_numpy()
        counts = data[~isna].value_counts(sort=True)
        counts = counts[counts > 0]  # a categorical dtype also counts its unused categories: never generate them
        self.categories_ = [to_jsonable(v) for v in counts.index]
        self.frequencies_ = counts.to_numpy(dtype=np.float64)
        self.has_null_ = bool(isna.any())
        if self.has_null_:
            self.frequencies_ = np.append(self.frequencies_, float(isna.sum()))
        self.dtype_categories_ = (
            [to_jsonable(v) for v in data.dtype.categories] if isinstance(data.dtype, pd.CategoricalDtype) else None
        )
        self.dtype_ordered_ = bool(isinstance(data.dtype, pd.CategoricalDtype) and data.dtype.ordered)
        self._build_lookup()

    def _build_lookup(self) -> None:
        self._index = pd.Index(pd.Series(self.categories_, dtype=object))
        self._values = np.array([*self.categories_, None], dtype=object)[: self.n_categories]

    @property
    def n_categories(self) -> int:
        """Number of categories, the null category included."""
        return len(self.categories_) + int(self.has_null_)

    def codes(self, data: pd.Series) -> np.ndarray:
        """Category index of each value (nulls map to the null category; unseen values to 0)."""
        vals = data.astype(object) if isinstance(data.dtype, pd.CategoricalDtype) else data
        isna = vals.isna().to_numpy()
        codes = self._index.get_indexer(pd.Series(vals).where(~isna, None).astype(object))
        if len(self.categories_) and codes.min(initial=0) < 0:
            # A value stored as a JSON number may come back as a different type; retry on strings.
            missing = codes < 0
            alt = pd.Index(pd.Series(self.categories_, dtype=object).astype(str))
            codes[missing] = alt.get_indexer(pd.Series(vals[missing]).astype(str))
        codes = np.where(codes < 0, 0, codes)
        if self.has_null_:
            codes = np.where(isna, len(self.categories_), codes)
        return codes.astype(np.int64)

    def decode_codes(self, codes: np.ndarray) -> pd.Series:
        """Values (original dtype) of category indexes."""
        return restore_values(self._values[np.asarray(codes, dtype=np.int64)], self.dtype_, self.dtype_categories_,
                              self.dtype_ordered_)

    def _transform(self, data: pd.Series) -> np.ndarray:
        codes = self.codes(data)
        out = np.zeros((len(codes), self.n_categories), dtype=np.float32)
        out[np.arange(len(codes)), codes] = 1.0
        return out

    def _inverse(self, data: np.ndarray) -> pd.Series:
        return self.decode_codes(np.argmax(data, axis=1))

    def _spans(self) -> list[Span]:
        return [Span(self.n_categories, "softmax", self.column_, self.span_kind)]

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return ({"categories": self.categories_, "has_null": self.has_null_, "dtype_categories": self.dtype_categories_,
                 "dtype_ordered": self.dtype_ordered_}, {"frequencies": self.frequencies_})

    def _set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.categories_ = list(config["categories"])
        self.has_null_ = bool(config["has_null"])
        self.dtype_categories_ = config.get("dtype_categories")
        self.dtype_ordered_ = bool(config.get("dtype_ordered", False))
        self.frequencies_ = np.asarray(arrays["frequencies"], dtype=np.float64)
        self._build_lookup()
