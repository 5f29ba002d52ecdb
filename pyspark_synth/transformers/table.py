"""Compose per-column transformers for a whole DataFrame and expose the output layout the GAN uses."""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pyspark_synth.errors import DataError, NotFittedError
from pyspark_synth.seeds import derive_seed
from pyspark_synth.transformers.base import ColumnTransformer, Span, transformer_from_state
from pyspark_synth.transformers.boolean import BooleanTransformer
from pyspark_synth.transformers.categorical import OneHotTransformer
from pyspark_synth.transformers.constant import ConstantTransformer
from pyspark_synth.transformers.continuous import ContinuousTransformer
from pyspark_synth.transformers.dateformats import (
    learn_integer_format,
    learn_string_format,
    parse_dates,
)
from pyspark_synth.transformers.datetime import DatetimeTransformer
from pyspark_synth.transformers.dtypes import datetime_format
from pyspark_synth.transformers.embedding import EmbeddingTransformer
from pyspark_synth.transformers.excluded import ExcludedTransformer
from pyspark_synth.transformers.nulls import NullIndicator, has_special_values

if TYPE_CHECKING:
    from pyspark_synth.metadata import Table

__all__ = ["TableTransformer", "check_unique_columns", "infer_semantic_type"]

_NOT_MODELLED = ("id", "text")


def _held(data: pd.Series) -> str | None:
    """What an object column's present values all are: "bool", "date" (datetime.date or
    datetime.datetime objects), "decimal" (Decimal objects), or None."""
    if data.dtype != object:
        return None
    values = data.dropna()
    if not len(values):
        return None
    for kind, types in (("bool", (bool, np.bool_)), ("date", (_dt.date,)), ("decimal", (decimal.Decimal,))):
        if all(isinstance(v, types) for v in values):
            return kind
    return None


def check_unique_columns(data: pd.DataFrame, where: str) -> None:
    """Refuse a frame that holds a column name more than once (every backend learns columns by name).

    Raises:
        DataError: Names the repeated columns (compared as strings) and says to rename them.
    """
    names = [str(c) for c in data.columns]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise DataError(f"{where}: columns {dup} appear more than once; rename them so every column name is "
                        "unique (e.g. df.columns = [...] or select them with aliases)")


def _is_bool_series(data: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(data.dtype) or _held(data) == "bool"


def infer_semantic_type(data: pd.Series, declared: str | None = None) -> str:
    """The semantic type a model learns a column as: the declared one when it fits the data.

    This is the one type inference of the package (every backend uses it). Object columns are
    read by what they hold: Python booleans, `datetime.date`/`datetime` objects and `Decimal`
    objects count as boolean, datetime and numerical values, and strings that all write dates in
    one format ("2021-03-14", "14/03/2021", ... see `dateformats`) as datetimes. Integers are
    datetimes only when declared so and written as dates (20210314): otherwise numbers.

    Args:
        data: The column.
        declared: The metadata's type for the column (numerical, categorical, datetime, boolean,
            id, text), or None to infer from the dtype.

    Returns:
        One of "numerical", "categorical", "datetime", "boolean", "id", "text".
    """
    if declared in _NOT_MODELLED:
        return declared
    held = _held(data)
    is_bool = _is_bool_series(data)
    numeric = (pd.api.types.is_numeric_dtype(data.dtype) and not pd.api.types.is_bool_dtype(data.dtype)) or held == "decimal"
    is_dt = pd.api.types.is_datetime64_any_dtype(data.dtype) or held == "date"
    if declared == "categorical" or (declared is None and isinstance(data.dtype, pd.CategoricalDtype)):
        return "categorical"
    if declared == "boolean":
        return "boolean" if is_bool else "categorical"
    if declared == "numerical":
        return "boolean" if is_bool else "numerical" if numeric else "datetime" if is_dt else "categorical"
    if declared == "datetime":
        if numeric:  # integers that write dates (yyyymmdd) are dates; other numbers stay numbers
            return "datetime" if held != "decimal" and learn_integer_format(data) else "numerical"
        return "datetime"  # text is parsed as dates
    if is_bool:
        return "boolean"
    if is_dt:
        return "datetime"
    if numeric:
        return "numerical"
    if declared is None and learn_string_format(data) is not None:
        return "datetime"
    return "categorical"


class TableTransformer:
    """Encode a DataFrame as one float matrix (and back) with one transformer per column.

    Columns typed `id` or `text` in the metadata are not modelled: they take no space in the
    matrix and come back as nulls of a matching dtype. Constant columns take no space either.

    Args:
        metadata: The table's metadata (semantic types), or None to infer from dtypes.
        embedding_threshold: Categorical columns with more distinct values (null counted) than
            this are encoded as an index for a learned entity embedding instead of one-hot.
        max_modes: Upper bound on Gaussian modes per numeric/datetime column.
        weight_threshold: Modes with less weight are dropped.
        max_fit_rows: Each mixture is fitted on at most this many rows.
        seed: Root seed; each column's seed is derived from it and the column name.
    """

    def __init__(self, metadata: Table | None = None, *, embedding_threshold: int = 50, max_modes: int = 10,
                 weight_threshold: float = 0.005, max_fit_rows: int = 5_000, seed: int = 0) -> None:
        self.metadata = metadata
        self.embedding_threshold = embedding_threshold
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.max_fit_rows = max_fit_rows
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def _declared(self, name: str) -> str | None:
        if self.metadata is None:
            return None
        for c in self.metadata.columns:
            if c.name == name:
                return c.type
        return None

    def _make(self, data: pd.Series) -> ColumnTransformer:
        stype = infer_semantic_type(data, self._declared(str(data.name)))
        if stype in _NOT_MODELLED:
            return ExcludedTransformer()
        if data.nunique(dropna=False) <= 1:
            return ConstantTransformer()
        kw = {"max_modes": self.max_modes, "weight_threshold": self.weight_threshold,
              "max_fit_rows": self.max_fit_rows, "seed": derive_seed(self.seed, "column", str(data.name))}
        if stype == "numerical":
            inner: ColumnTransformer = ContinuousTransformer(**kw)
            return NullIndicator(inner) if has_special_values(data) else inner
        if stype == "datetime":
            inner = DatetimeTransformer(**kw)
            return NullIndicator(inner) if _datetime_nulls(data) else inner
        if stype == "boolean":
            return BooleanTransformer()
        if data.nunique(dropna=False) > self.embedding_threshold:
            return EmbeddingTransformer()
        return OneHotTransformer()

    def fit(self, data: pd.DataFrame) -> TableTransformer:
        """Choose and fit a transformer for every column; returns self."""
        if not isinstance(data, pd.DataFrame):
            raise DataError(f"TableTransformer.fit expects a pandas DataFrame, got {type(data).__name__}")
        check_unique_columns(data, "TableTransformer.fit")
        self.columns_ = [str(c) for c in data.columns]
        self.transformers_ = {}
        for col in data.columns:
            series = data[col].reset_index(drop=True)
            self.transformers_[str(col)] = self._make(series).fit(series.rename(str(col)))
        self._layout()
        return self

    def _layout(self) -> None:
        self.spans_: list[Span] = []
        self.column_slices_: dict[str, slice] = {}
        start = 0
        for col in self.columns_:
            spans = self.transformers_[col].spans
            width = sum(s.data_dim for s in spans)
            self.column_slices_[col] = slice(start, start + width)
            self.spans_.extend(spans)
            start += width
        self.data_dim_ = start

    # --------------------------------------------------------------- properties
    def _check_fitted(self) -> None:
        if not hasattr(self, "transformers_"):
            raise NotFittedError("This TableTransformer is not fitted yet. Call fit() first.")

    @property
    def spans(self) -> list[Span]:
        """The output layout: one Span (dim, activation, column, kind) per block, in column order."""
        self._check_fitted()
        return list(self.spans_)

    @property
    def output_dim(self) -> int:
        """Width of the network's output (softmax blocks count every category)."""
        return sum(s.dim for s in self.spans)

    @property
    def data_dim(self) -> int:
        """Width of the encoded data matrix (an embedding block is one index column)."""
        self._check_fitted()
        return self.data_dim_

    @property
    def modelled_columns(self) -> list[str]:
        """Columns that take part in training (not constant, not id/text)."""
        self._check_fitted()
        return [c for c in self.columns_ if self.transformers_[c].spans]

    @property
    def excluded_columns(self) -> list[str]:
        """Columns typed id/text that the model does not learn."""
        self._check_fitted()
        return [c for c in self.columns_ if isinstance(self.transformers_[c], ExcludedTransformer)]

    # ------------------------------------------------------------ transforming
    def transform(self, data: pd.DataFrame) -> np.ndarray:
        """Encode `data` (must have the fitted columns) as a float32 matrix of `data_dim` columns."""
        self._check_fitted()
        missing = [c for c in self.columns_ if c not in data.columns]
        if missing:
            raise DataError(f"TableTransformer.transform: columns {missing} were seen in fit() but are missing. "
                            f"Got columns: {list(data.columns)}")
        n = len(data)
        out = np.zeros((n, self.data_dim_), dtype=np.float32)
        for col in self.columns_:
            sl = self.column_slices_[col]
            if sl.stop > sl.start:
                out[:, sl] = self.transformers_[col].transform(data[col].reset_index(drop=True))
        return out

    def inverse_transform(self, data: np.ndarray, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Decode a `data_dim`-wide matrix (one-hot or probabilities, scalars, indexes) to a DataFrame.

        Args:
            data: The encoded rows.
            columns: Restrict the output to these columns (default: all fitted columns).
        """
        self._check_fitted()
        data = np.asarray(data)
        if data.ndim != 2 or data.shape[1] != self.data_dim_:
            raise DataError(f"TableTransformer.inverse_transform expects a matrix of {self.data_dim_} columns, "
                            f"got shape {data.shape}")
        out = {col: self.transformers_[col].inverse_transform(data[:, self.column_slices_[col]])
               for col in (columns or self.columns_)}
        return pd.DataFrame(out)

    # ------------------------------------------------------------------ state
    def to_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted state as (JSON-able dict, named arrays); no pickle."""
        self._check_fitted()
        configs, arrays = [], {}
        for i, col in enumerate(self.columns_):
            cfg, arr = self.transformers_[col].to_dict()
            configs.append(cfg)
            arrays.update({f"t{i}.{k}": v for k, v in arr.items()})
        params = {"embedding_threshold": self.embedding_threshold, "max_modes": self.max_modes,
                  "weight_threshold": self.weight_threshold, "max_fit_rows": self.max_fit_rows, "seed": self.seed}
        return {"params": params, "columns": self.columns_, "transformers": configs}, arrays

    @classmethod
    def from_dict(cls, config: dict[str, Any], arrays: dict[str, np.ndarray], metadata: Table | None = None,
                  ) -> TableTransformer:
        """Rebuild a fitted TableTransformer from `to_dict()` output."""
        obj = cls(metadata, **config["params"])
        obj.columns_ = list(config["columns"])
        obj.transformers_ = {}
        for i, (col, cfg) in enumerate(zip(obj.columns_, config["transformers"], strict=True)):
            prefix = f"t{i}."
            arr = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            obj.transformers_[col] = transformer_from_state(cfg, arr)
        obj._layout()
        return obj


def _datetime_nulls(data: pd.Series) -> bool:
    """Whether a datetime column has nulls (text and integers count values that are no date as null)."""
    if pd.api.types.is_datetime64_any_dtype(data.dtype) or _held(data) == "date":
        return bool(data.isna().any())
    fmt = datetime_format(data)
    if fmt is not None:
        return bool(parse_dates(data, fmt).isna().any())
    return bool(pd.isna(pd.to_datetime(data, errors="coerce", format="mixed")).any())
