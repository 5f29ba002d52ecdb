"""A high-cardinality column as one category index, fed to a learned entity embedding in the networks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pyspark_synth.transformers.base import Span
from pyspark_synth.transformers.categorical import OneHotTransformer

__all__ = ["EmbeddingTransformer"]


class EmbeddingTransformer(OneHotTransformer):
    """Like `OneHotTransformer`, but the encoded matrix holds the category index (one column).

    The generator still outputs a softmax over all categories; the networks turn it into an
    embedding with the soft lookup `probs @ weights`, so gradients flow through the choice.
    `inverse_transform` accepts either the index column or a (rows, n_categories) probability block.
    """

    kind = "embedding"
    span_kind = "embedding"

    def _transform(self, data: pd.Series) -> np.ndarray:
        return self.codes(data).astype(np.float32)[:, None]

    def _inverse(self, data: np.ndarray) -> pd.Series:
        if data.shape[1] == 1 and self.n_categories != 1:
            codes = np.clip(np.rint(data[:, 0]), 0, self.n_categories - 1)
        else:
            codes = np.argmax(data, axis=1)
        return self.decode_codes(codes)

    def _spans(self) -> list[Span]:
        return [Span(self.n_categories, "softmax", self.column_, "embedding")]
