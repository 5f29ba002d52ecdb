"""A column the model does not learn (metadata type `id` or `text`): emitted as nulls of a fitting dtype."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.transformers.base import ColumnTransformer, Span

__all__ = ["ExcludedTransformer", "nullable_dtype"]


def nullable_dtype(dtype_name: str) -> Any:
    """The dtype, or its nullable pandas twin when it cannot hold nulls (int64 -> Int64, bool -> boolean)."""
    dtype = pd.api.types.pandas_dtype("object" if dtype_name == "category" else dtype_name)
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return {"i": f"Int{dtype.itemsize * 8}", "u": f"UInt{dtype.itemsize * 8}", "b": "boolean"}[dtype.kind]
    return dtype


class ExcludedTransformer(ColumnTransformer):
    """Keeps only the column's name and dtype; `inverse_transform` gives all-null values.

    Key and free-text columns are filled in by the layer above (key generation, faker).
    """

    kind = "excluded"

    def _fit(self, data: pd.Series) -> None:
        self.output_dtype_ = str(nullable_dtype(self.dtype_))

    def _transform(self, data: pd.Series) -> np.ndarray:
        return np.zeros((len(data), 0), dtype=np.float32)

    def _inverse(self, data: np.ndarray) -> pd.Series:
        return pd.Series(np.full(len(data), None, dtype=object)).astype(self.output_dtype_)

    def _spans(self) -> list[Span]:
        return []

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"output_dtype": self.output_dtype_}, {}

    def _set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.output_dtype_ = config["output_dtype"]
