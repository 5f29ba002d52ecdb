"""The transformer contract: fit() wraps _fit(), pandas in, float matrix out, JSON + arrays state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pyspark_synth.errors import NotFittedError, SerializationError

__all__ = ["Span", "ColumnTransformer", "transformer_from_state", "dtype_to_str", "to_jsonable"]

_REGISTRY: dict[str, type[ColumnTransformer]] = {}


@dataclass(frozen=True)
class Span:
    """One block of the network output that a column owns.

    Attributes:
        dim: Width of the block in the network's output (the number of categories for a softmax).
        activation: "tanh" for a scalar in [-1, 1], "softmax" for a choice among `dim` values.
        column: The source column.
        kind: "continuous" (mode-relative scalar), "mode" (the Gaussian mode), "category"
            (one-hot), "embedding" (a category index fed to a learned entity embedding) or "null"
            (the [present, null] indicator).
    """

    dim: int
    activation: str
    column: str
    kind: str

    @property
    def data_dim(self) -> int:
        """Width of the block in the encoded data matrix (an embedding is stored as one index)."""
        return 1 if self.kind == "embedding" else self.dim

    @property
    def is_discrete(self) -> bool:
        """True for the category spans that the conditional vector can select."""
        return self.kind in ("category", "embedding")


def dtype_to_str(dtype: Any) -> str:
    """The dtype as a string that `dtypes.dtype_from_str` turns back into the same dtype."""
    return str(dtype)


class ColumnTransformer:
    """A reversible transform of one column to a block of the encoded matrix.

    Subclasses implement `_fit`, `_transform`, `_inverse` and the state hooks; `fit` records the
    column name and dtype and then calls `_fit`. Inputs to `_fit`/`_transform` are whole Series
    (nulls included unless the transformer is wrapped by `NullIndicator`).
    """

    kind: ClassVar[str] = "base"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind != "base":
            _REGISTRY[cls.kind] = cls

    # ----------------------------------------------------------------- public API
    def fit(self, data: pd.Series) -> ColumnTransformer:
        """Learn the column; returns self."""
        self.column_ = str(data.name)
        self.dtype_ = dtype_to_str(data.dtype)
        self._fit(data)
        self.fitted_ = True
        return self

    def transform(self, data: pd.Series) -> np.ndarray:
        """Encode the column as a float32 matrix of `sum(span.data_dim)` columns."""
        self._check_fitted()
        out = np.asarray(self._transform(data), dtype=np.float32)
        return out.reshape(len(data), -1)

    def inverse_transform(self, data: np.ndarray) -> pd.Series:
        """Decode a block (one-hot/probabilities, scalars, or category indexes) back to a Series."""
        self._check_fitted()
        data = np.asarray(data)
        if data.ndim == 1:
            data = data[:, None]
        out = self._inverse(data)
        out.name = self.column_
        return out.reset_index(drop=True)

    @property
    def spans(self) -> list[Span]:
        """The output layout of this column."""
        self._check_fitted()
        return self._spans()

    @property
    def data_dim(self) -> int:
        """Number of columns this transformer takes in the encoded matrix."""
        return sum(s.data_dim for s in self.spans)

    def to_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted state as (JSON-able dict, named NumPy arrays); no pickle."""
        self._check_fitted()
        config, arrays = self._get_state()
        return {"kind": self.kind, "column": self.column_, "dtype": self.dtype_, **config}, arrays

    @classmethod
    def from_dict(cls, config: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> ColumnTransformer:
        """Rebuild a fitted transformer from `to_dict()` output."""
        obj = cls.__new__(cls)
        obj.column_ = config["column"]
        obj.dtype_ = config["dtype"]
        obj._set_state(config, arrays or {})
        obj.fitted_ = True
        return obj

    # -------------------------------------------------------------- subclass hooks
    def _fit(self, data: pd.Series) -> None:
        raise NotImplementedError

    def _transform(self, data: pd.Series) -> np.ndarray:
        raise NotImplementedError

    def _inverse(self, data: np.ndarray) -> pd.Series:
        raise NotImplementedError

    def _spans(self) -> list[Span]:
        raise NotImplementedError

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        raise NotImplementedError

    def _set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    # -------------------------------------------------------------------- helpers
    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet. Call fit() first.")

    def __repr__(self) -> str:
        col = getattr(self, "column_", None)
        return f"{type(self).__name__}(column={col!r})"


def transformer_from_state(config: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> ColumnTransformer:
    """Rebuild any registered transformer from its `to_dict()` output (dispatches on `kind`)."""
    kind = config.get("kind")
    if kind not in _REGISTRY:
        raise SerializationError(
            f"Transformer state for column {config.get('column')!r} has unknown kind {kind!r}. "
            f"Known kinds: {sorted(_REGISTRY)}. The model was probably saved by a newer pyspark_synth."
        )
    return _REGISTRY[kind].from_dict(config, arrays)


def to_jsonable(value: Any) -> Any:
    """A plain Python value for JSON (NumPy scalars unwrapped); other objects become strings."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
