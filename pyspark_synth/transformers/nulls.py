"""Null and infinite values of numeric and datetime columns: the inner transform plus a state indicator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.transformers.base import ColumnTransformer, Span, transformer_from_state
from pyspark_synth.transformers.dateformats import null_marker, parse_dates
from pyspark_synth.transformers.dtypes import (
    SPECIAL_VALUES,
    datetime_format,
    nullable,
    special_codes,
)

__all__ = ["NullIndicator", "has_special_values"]


def _codes(data: pd.Series, dates: str | None = None) -> np.ndarray:
    """0 for a present finite value, 1 null, 2 +inf, 3 -inf (see `dtypes.special_codes`).

    `dates` is the format of dates written as text or integers: values that are no date in it
    (a null marker such as "\\N") count as null.
    """
    isna = data.isna().to_numpy()
    if dates is not None:
        return (isna | parse_dates(data, dates).isna().to_numpy()).astype(np.int64)
    if pd.api.types.is_float_dtype(data.dtype):
        x = data.to_numpy(dtype=np.float64, na_value=np.nan)
        return special_codes(x, isna)
    return isna.astype(np.int64)


def has_special_values(data: pd.Series) -> bool:
    """True when the column has nulls or infinite values."""
    return bool(_codes(data).any())


class NullIndicator(ColumnTransformer):
    """Wrap a transformer so the column's nulls and ±inf are learned as a softmax; their shares are kept.

    The indicator has one slot for present values and one for each special value the column
    holds (null, +inf, -inf, in that order). The inner transformer is fitted on the present
    finite values; special rows are encoded by the inner transform as a typical value with the
    indicator set, and decoded back to null or to the infinite value.

    Args:
        inner: The transformer of the present values (continuous or datetime).
    """

    kind = "nulls"

    def __init__(self, inner: ColumnTransformer) -> None:
        self.inner = inner

    def _fit(self, data: pd.Series) -> None:
        text_dates = self.inner.kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(data.dtype)
        self.dates_ = datetime_format(data) if text_dates else None
        codes = _codes(data, self.dates_)
        self.null_rate_ = float((codes == 1).mean()) if len(codes) else 0.0
        self.specials_ = [SPECIAL_VALUES[k - 1] for k in (1, 2, 3) if (codes == k).any()] or ["null"]
        present = data[codes == 0]
        self.inner.fit(present.rename(data.name))

    def _slots(self, data: pd.Series) -> np.ndarray:
        codes = _codes(data, getattr(self, "dates_", None))
        slot = np.zeros(len(codes), dtype=np.int64)
        for i, name in enumerate(self.specials_):
            slot[codes == 1 + SPECIAL_VALUES.index(name)] = 1 + i
        return slot

    def _transform(self, data: pd.Series) -> np.ndarray:
        data = data.reset_index(drop=True)
        slot = self._slots(data)
        present = data.where(slot == 0) if pd.api.types.is_float_dtype(data.dtype) else data
        inner = self.inner.transform(present)  # the inner transform encodes specials as typical values
        ind = np.zeros((len(data), 1 + len(self.specials_)), dtype=np.float32)
        ind[np.arange(len(data)), slot] = 1.0
        return np.concatenate([inner, ind], axis=1)

    def _inverse(self, data: np.ndarray) -> pd.Series:
        k = 1 + len(self.specials_)
        values = self.inner.inverse_transform(data[:, :-k])
        slot = np.argmax(data[:, -k:], axis=1)
        if not slot.any():
            return values
        for i, name in enumerate(self.specials_):
            rows = slot == 1 + i
            if not rows.any():
                continue
            if name == "null":
                marker = null_marker(getattr(self, "dates_", None))  # text dates that write nulls as "\\N"
                values = values.astype(nullable(values.dtype)).mask(rows) if marker is None else values.mask(
                    rows, marker)
            else:
                values = values.astype(np.float64) if not pd.api.types.is_float_dtype(values.dtype) else values
                values = values.mask(rows, np.inf if name == "inf" else -np.inf)
        return values

    def _spans(self) -> list[Span]:
        return [*self.inner.spans, Span(1 + len(self.specials_), "softmax", self.column_, "null")]

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        cfg, arrays = self.inner.to_dict()
        return {"inner": cfg, "null_rate": self.null_rate_, "specials": self.specials_, "dates": self.dates_}, arrays

    def _set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.inner = transformer_from_state(config["inner"], arrays)
        self.null_rate_ = float(config["null_rate"])
        self.specials_ = list(config.get("specials", ["null"]))
        self.dates_ = config.get("dates")
