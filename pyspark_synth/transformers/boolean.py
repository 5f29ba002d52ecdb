"""A boolean column (bool, nullable boolean or object True/False) as a one-hot block."""

from __future__ import annotations

import pandas as pd

from pyspark_synth.transformers.categorical import OneHotTransformer

__all__ = ["BooleanTransformer"]


class BooleanTransformer(OneHotTransformer):
    """Booleans as the categories False/True (and null when present), restored exactly with their dtype."""

    kind = "boolean"

    def _fit(self, data: pd.Series) -> None:
        super()._fit(data)
        self.categories_ = [bool(v) for v in self.categories_]
        self._build_lookup()
