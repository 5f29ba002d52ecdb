"""Column codecs of the autoregressive model: each column as one or two discrete tokens, and back.

A categorical column is one token (its frequent values, one pooled token for the rare ones, one
for null). A numerical or datetime column is a first token that picks an exact value (a point mass,
or every value of a few-valued column) or a quantile bin, and a second token that picks a finer
quantile bin inside it; the value is then drawn uniformly between that fine bin's edges. Null is a
token of its own, so null rates are learned like any other value.

Rare-value protection (issue 19): a categorical value held by fewer than `k` training rows is never
stored nor emitted (its rows share one pooled token, which sampling never picks); a numerical
column's values are clipped to the range between its k-th smallest and k-th largest value, so an
extreme held by fewer than `k` rows is never reproduced, and bins hold at least `k` values each.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.errors import DataError, SerializationError
from pyspark_synth.models._ar_values import (
    datetime_spec,
    datetime_ticks,
    decimals,
    restore_datetime,
    restore_number,
)
from pyspark_synth.privacy.dp_stats import (
    DPStatistics,
    noisy_bounds,
    select_keys,
    spaced_edges,
    value_grid,
)
from pyspark_synth.transformers.base import ColumnTransformer, to_jsonable, transformer_from_state
from pyspark_synth.transformers.categorical import restore_values
from pyspark_synth.transformers.constant import ConstantTransformer
from pyspark_synth.transformers.dtypes import integer_offsets, read_values
from pyspark_synth.transformers.excluded import ExcludedTransformer
from pyspark_synth.transformers.table import infer_semantic_type

__all__ = ["Codec", "CategoricalCodec", "NumericCodec", "FixedCodec", "codec_kind", "make_codec", "codec_from_state"]

class Codec:
    """One column as `len(sizes)` integer tokens (sub-columns); `sizes[i]` is sub-column i's vocabulary."""

    kind = "base"
    column: str
    sizes: list[int]

    def encode(self, data: pd.Series) -> np.ndarray:
        """Tokens of each value, an int64 matrix of `len(sizes)` columns."""
        raise NotImplementedError

    def decode(self, tokens: np.ndarray, u: np.ndarray) -> pd.Series:
        """Values of token rows; `u` holds one uniform number per row (the draw inside a bin)."""
        raise NotImplementedError

    def banned(self) -> list[list[int]]:
        """Per sub-column, the tokens that sampling must never pick (the pooled rare values)."""
        return [[] for _ in self.sizes]

    def prior_counts(self) -> list[np.ndarray] | None:
        """Per sub-column, noisy token counts to start the network's outputs from (DP fits), or None."""
        return None

    def condition_tokens(self, value: Any) -> list[int]:
        """The tokens that stand for `value` in a condition (raises DataError when it cannot)."""
        raise NotImplementedError

    def report(self) -> dict[str, Any]:
        """What the encoding chose (for the fit report)."""
        return {"kind": self.kind}

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON config, arrays) of the fitted codec."""
        raise NotImplementedError


def _token_rows(tokens: np.ndarray, width: int) -> np.ndarray:
    """Tokens as an int64 matrix of one row per value (also when there are no rows)."""
    t = np.asarray(tokens, dtype=np.int64)
    if t.size == 0:
        return np.zeros((len(t), max(1, width)), dtype=np.int64)
    return t.reshape(len(t), -1)


def _is_null(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# ----------------------------------------------------------------------------- categorical
class CategoricalCodec(Codec):
    """Categories as one token: frequent values by frequency, then the rare pool, then null.

    Args:
        rare_threshold: Values held by fewer rows are pooled and never emitted (1 keeps every value).
    """

    kind = "categorical"

    def __init__(self, rare_threshold: int = 5) -> None:
        self.rare_threshold = int(rare_threshold)

    def fit(self, data: pd.Series, *, dp: DPStatistics | None = None) -> CategoricalCodec:
        """Learn the values; with `dp`, only values whose noisy count passes its threshold (and
        the null only when its noisy count does), and only noisy counts are stored."""
        self.column = str(data.name)
        self.dtype_ = str(data.dtype)
        self.dp_ = dp is not None
        vals = data.astype(object) if isinstance(data.dtype, pd.CategoricalDtype) else data
        isna = vals.isna().to_numpy()
        counts = vals[~isna].value_counts(sort=True)
        counts = counts[counts > 0]  # an unused category of a categorical dtype is schema, not a value
        if dp is not None:
            return self._fit_dp(data, counts, int(isna.sum()), dp)
        keep = counts[counts >= self.rare_threshold]
        self.categories_ = [to_jsonable(v) for v in keep.index]
        self.frequencies_ = keep.to_numpy(dtype=np.float64)
        self.rare_values_ = int(len(counts) - len(keep))
        self.rare_rows_ = int(counts.sum() - keep.sum())
        self.has_null_ = bool(isna.any())
        # the dtype's categories stay, except rare values: a declared category no row holds is schema
        rare = {str(to_jsonable(v)) for v in counts.index[counts < self.rare_threshold]}
        self.dtype_categories_ = (
            [to_jsonable(v) for v in data.dtype.categories if str(to_jsonable(v)) not in rare]
            if isinstance(data.dtype, pd.CategoricalDtype) else None)
        self.dtype_ordered_ = bool(isinstance(data.dtype, pd.CategoricalDtype) and data.dtype.ordered)
        self.formats_ = None
        present = vals[~isna]
        from pyspark_synth.transformers.rare import all_strings

        if not len(keep) and self.dtype_categories_ is None and all_strings(present):
            # no value held by k rows (names in a small table): the pooled token stands for text
            # of the column's common formats (as `transformers.rare` gives the other backends)
            from pyspark_synth.models.text import FormatModel

            self.formats_ = FormatModel(self.column, min_rows=self.rare_threshold).fit(present.astype(str)).to_dict()
        self._build()
        return self

    def _fit_dp(self, data: pd.Series, counts: pd.Series, nulls: int, dp: DPStatistics) -> CategoricalCodec:
        kept, noisy = select_keys(counts.to_numpy(dtype=np.float64), dp, dp.rng(self.column, "keys"))
        null_kept, _ = select_keys(np.array([nulls]), dp, dp.rng(self.column, "null"))
        order = np.argsort(-np.where(kept, noisy, -np.inf), kind="stable")[: int(kept.sum())]
        self.categories_ = [to_jsonable(counts.index[i]) for i in order]
        self.frequencies_ = noisy[order].astype(np.float64)
        # the pooled token always exists under DP: whether any value was left out is not said
        self.rare_values_, self.rare_rows_ = 1, 0
        self.has_null_ = bool(null_kept[0])
        chosen = {str(v) for v in self.categories_}
        self.dtype_categories_ = (
            [to_jsonable(v) for v in data.dtype.categories if str(to_jsonable(v)) in chosen]
            if isinstance(data.dtype, pd.CategoricalDtype) else None)
        self.dtype_ordered_ = bool(isinstance(data.dtype, pd.CategoricalDtype) and data.dtype.ordered)
        self._build()
        return self

    def prior_counts(self) -> list[np.ndarray] | None:
        """Noisy counts of the tokens (DP fits): the network's output starts there. None otherwise."""
        if not getattr(self, "dp_", False):
            return None
        out = np.zeros(self.sizes[0])
        out[: self.n_frequent] = np.maximum(self.frequencies_, 0.0)
        return [out]

    def _build(self) -> None:
        self.n_frequent = len(self.categories_)
        self.rare_token = self.n_frequent if self.rare_values_ else -1
        self.null_token = self.n_frequent + int(self.rare_values_ > 0) if self.has_null_ else -1
        self.sizes = [self.n_frequent + int(self.rare_values_ > 0) + int(self.has_null_)]
        self._index = pd.Index(pd.Series(self.categories_, dtype=object))
        self._str_index = pd.Index(pd.Series(self.categories_, dtype=object).astype(str))

    def _codes(self, data: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(code per value with -1 for values that are not frequent, null mask)."""
        vals = data.astype(object) if isinstance(data.dtype, pd.CategoricalDtype) else data
        isna = vals.isna().to_numpy()
        codes = self._index.get_indexer(pd.Series(vals).where(~isna, None).astype(object))
        missing = (codes < 0) & ~isna
        if missing.any() and self.n_frequent:  # a JSON number may come back as another type
            codes[missing] = self._str_index.get_indexer(pd.Series(vals[missing]).astype(str))
        return codes.astype(np.int64), isna

    def encode(self, data: pd.Series) -> np.ndarray:
        codes, isna = self._codes(data.reset_index(drop=True))
        other = self.rare_token if self.rare_token >= 0 else 0  # unseen values (context only)
        codes = np.where(codes < 0, other, codes)
        if self.has_null_:
            codes = np.where(isna, self.null_token, codes)
        return codes.reshape(-1, 1)

    def decode(self, tokens: np.ndarray, u: np.ndarray) -> pd.Series:
        table = np.array([*self.categories_, None, None], dtype=object)  # rare token (only sampled when
        # nothing else is possible) and null both come back as null
        t = _token_rows(tokens, 1)[:, 0]
        values = table[np.minimum(t, self.n_frequent)]
        formats = getattr(self, "formats_", None)
        if formats is not None and self.rare_token >= 0 and (t == self.rare_token).any():
            from pyspark_synth.models.text import text_model

            rows = np.flatnonzero(t == self.rare_token)
            ids = np.floor(np.asarray(u, dtype=np.float64).reshape(-1)[rows] * 2.0**52).astype(np.int64)
            values = values.copy()
            values[rows] = text_model(formats).sample(ids, seed=0, label=self.column).to_numpy()
        return restore_values(values, self.dtype_, self.dtype_categories_, self.dtype_ordered_)

    def banned(self) -> list[list[int]]:
        allowed_other = self.n_frequent > 0 or self.has_null_
        if getattr(self, "formats_", None) is not None:
            return [[]]  # the pooled token is the column's (format) text
        return [[self.rare_token] if self.rare_token >= 0 and allowed_other else []]

    def condition_tokens(self, value: Any) -> list[int]:
        if _is_null(value):
            if not self.has_null_:
                raise DataError(f"condition {self.column}=null: the column had no nulls in training")
            return [self.null_token]
        codes, _ = self._codes(pd.Series([value], dtype=object))
        if codes[0] >= 0:
            return [int(codes[0])]
        if self.rare_token >= 0:
            return [self.rare_token]  # a rare value (the user names it; the model only knows the pool)
        shown = self.categories_[:20]
        raise DataError(f"condition {self.column}={value!r} was never seen in training. "
                        f"Known values (first 20): {shown}")

    def report(self) -> dict[str, Any]:
        if getattr(self, "dp_", False):  # what DP left out is not counted (that count is not private)
            return {"kind": self.kind, "values": self.n_frequent, "rare_values_pooled": None, "rare_rows": None,
                    "null": self.has_null_, "differential_privacy": True}
        return {"kind": self.kind, "values": self.n_frequent, "rare_values_pooled": self.rare_values_,
                "rare_rows": self.rare_rows_, "null": self.has_null_}

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        cfg = {"kind": self.kind, "column": self.column, "dtype": self.dtype_, "rare_threshold": self.rare_threshold,
               "categories": self.categories_, "rare_values": self.rare_values_, "rare_rows": self.rare_rows_,
               "has_null": self.has_null_, "dtype_categories": self.dtype_categories_,
               "dtype_ordered": self.dtype_ordered_, "dp": bool(getattr(self, "dp_", False)),
               "formats": getattr(self, "formats_", None)}
        return cfg, {"frequencies": self.frequencies_}

    @classmethod
    def from_state(cls, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> CategoricalCodec:
        obj = cls(cfg["rare_threshold"])
        obj.column, obj.dtype_ = cfg["column"], cfg["dtype"]
        obj.categories_ = list(cfg["categories"])
        obj.rare_values_, obj.rare_rows_ = int(cfg["rare_values"]), int(cfg["rare_rows"])
        obj.has_null_ = bool(cfg["has_null"])
        obj.dtype_categories_ = cfg["dtype_categories"]
        obj.dtype_ordered_ = bool(cfg.get("dtype_ordered", False))
        obj.dp_ = bool(cfg.get("dp", False))
        obj.formats_ = cfg.get("formats")
        obj.frequencies_ = np.asarray(arrays["frequencies"], dtype=np.float64)
        obj._build()
        return obj


# ----------------------------------------------------------------------------- numeric / datetime
class NumericCodec(Codec):
    """A numerical or datetime column as (exact value or quantile bin, fine bin) tokens.

    Args:
        rare_threshold: `k`: values are clipped to [k-th smallest, k-th largest], exact values need
            `k` rows, and every fine bin holds at least `k` training values (1 disables all three).
        max_bins: Most quantile bins of the first token.
        fine_bins: Most fine bins inside each bin (the second token).
        exact_limit: A column with at most this many distinct values gets an exact token per value
            (held by at least `k` rows); otherwise only point masses do.
        spike_share: In a many-valued column, a value holding this share of rows is a point mass.
    """

    kind = "numeric"

    def __init__(self, rare_threshold: int = 5, max_bins: int = 32, fine_bins: int = 16, exact_limit: int = 100,
                 spike_share: float = 0.01) -> None:
        self.rare_threshold = int(rare_threshold)
        self.max_bins = int(max_bins)
        self.fine_bins = int(fine_bins)
        self.exact_limit = int(exact_limit)
        self.spike_share = float(spike_share)

    # -------------------------------------------------------------- value <-> float
    def _to_float(self, data: pd.Series) -> np.ndarray:
        if self.datetime_ is None:
            if getattr(self, "offset_", None) is not None:  # integers as exact differences from the minimum
                exact = integer_offsets(data, self.offset_)
                if exact is not None:
                    x = exact[2]
                    x[data.isna().to_numpy()] = np.nan
                    return x
                return pd.to_numeric(data, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan) - float(
                    self.offset_)
            return pd.to_numeric(data, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        ticks, isna = datetime_ticks(data, self.datetime_.get("text_format"))
        x = (ticks - self.datetime_["origin"]).astype(np.float64)
        x[isna] = np.nan
        return x

    def fit(self, data: pd.Series, *, datetime: bool = False, dp: DPStatistics | None = None) -> NumericCodec:
        """Learn the column; with `dp`, from noisy statistics only (see `_fit_dp`)."""
        self.column = str(data.name)
        self.dtype_ = str(data.dtype)
        self.datetime_: dict[str, Any] | None = None
        self.offset_: int | None = None
        self.span_: int | None = None
        self.value_type_ = None
        self.dp_ = dp is not None
        if dp is not None:
            return self._fit_dp(data, datetime, dp)
        if datetime:
            self.datetime_ = datetime_spec(data)
        else:
            exact = integer_offsets(data)
            if exact is not None:
                self.offset_, self.span_ = exact[0], exact[1]
            self.value_type_ = read_values(data, "numerical")[2]  # "decimal" for Decimal objects
        x = self._to_float(data)
        isna = np.isnan(x)
        self.has_posinf_ = bool(np.isposinf(x).any())  # ±inf are tokens of their own, like null
        self.has_neginf_ = bool(np.isneginf(x).any())
        present = np.sort(x[np.isfinite(x)])
        n, k = len(present), max(1, self.rare_threshold)
        self.has_null_ = bool(isna.any())
        self.is_integer_ = bool(pd.api.types.is_integer_dtype(data.dtype)) or datetime
        self.decimals_ = 0 if self.is_integer_ else decimals(present)
        self.suppressed_ = n < k  # too few values to protect: the column comes back null
        self.spikes_ = np.zeros(0)
        self.edges_ = np.zeros(0)
        self.fine_ = np.zeros((0, 0))
        self.lo_ = self.hi_ = 0.0
        self.clipped_ = [0, 0]
        if not self.suppressed_:
            lo, hi = float(present[k - 1]), float(present[n - k])
            if lo > hi:
                lo = hi = float(present[(n - 1) // 2])
            self.lo_, self.hi_ = lo, hi
            self.clipped_ = [int(np.sum(present < lo)), int(np.sum(present > hi))]
            values, counts = np.unique(present, return_counts=True)
            if len(values) <= self.exact_limit:
                spikes = values[counts >= k]
            else:
                big = (counts >= k) & (counts >= self.spike_share * n)
                top = np.argsort(-np.where(big, counts, 0), kind="stable")[: self.max_bins]
                spikes = np.sort(values[top[big[top]]])
            self.spikes_ = spikes[(spikes >= lo) & (spikes <= hi)].astype(np.float64)
            rest = np.clip(present[~np.isin(present, self.spikes_)], lo, hi)
            if len(rest):
                self._fit_bins(rest, k)
        self._build()
        return self

    def _fit_dp(self, data: pd.Series, datetime: bool, dp: DPStatistics) -> NumericCodec:
        """The DP fit: exact values (point masses), null and infinities by noisy key selection; the
        range from noisy bounds on a fixed grid (`privacy.dp_stats`); bins of equal width (or
        log-spaced) over that range, so no quantile, minimum or maximum of the data is stored.
        Integers are not stored as differences from their minimum; datetimes count from 1970."""
        if datetime:
            self.datetime_ = {**datetime_spec(data), "origin": 0}
        else:
            self.value_type_ = read_values(data, "numerical")[2]
        x = self._to_float(data)
        isna, posinf, neginf = np.isnan(x), np.isposinf(x), np.isneginf(x)
        present = x[np.isfinite(x)]
        specials, _ = select_keys(np.array([isna.sum(), posinf.sum(), neginf.sum()]), dp, dp.rng(self.column, "null"))
        self.has_null_, self.has_posinf_, self.has_neginf_ = (bool(v) for v in specials)
        self.is_integer_ = bool(pd.api.types.is_integer_dtype(data.dtype)) or datetime
        self.decimals_ = 0 if self.is_integer_ else decimals(np.sort(present))
        self.clipped_ = [0, 0]
        values, counts = np.unique(present, return_counts=True)
        kept, noisy = select_keys(counts.astype(np.float64), dp, dp.rng(self.column, "keys"))
        spikes, heavy = values[kept], noisy[kept]
        if len(spikes) > self.exact_limit:  # many values: only those holding spike_share of the rows
            big = heavy >= self.spike_share * max(1.0, float(heavy.sum()))
            top = np.argsort(-np.where(big, heavy, -np.inf), kind="stable")[: min(self.max_bins, int(big.sum()))]
            spikes = np.sort(spikes[top])
        per_day = None
        if datetime:
            from pyspark_synth.models._ar_values import _TICKS_PER_SECOND

            per_day = 86_400.0 * _TICKS_PER_SECOND.get(self.datetime_["unit"], 1)
        bounds = noisy_bounds(present, value_grid(per_day), dp, dp.rng(self.column, "bounds"))
        self.spikes_ = spikes.astype(np.float64)
        self.edges_, self.fine_ = np.zeros(0), np.zeros((0, 0))
        if bounds is not None:
            lo, hi = bounds
            if self.is_integer_:
                lo, hi = float(np.ceil(lo)), float(np.floor(hi))
            self.lo_, self.hi_ = lo, max(lo, hi)
            n_bins = max(1, self.max_bins)
            self.edges_ = spaced_edges(self.lo_, self.hi_, n_bins)
            self.fine_ = np.stack([np.linspace(a, b, self.fine_bins + 1)
                                   for a, b in zip(self.edges_[:-1], self.edges_[1:], strict=True)])
        elif len(self.spikes_):
            self.lo_, self.hi_ = float(self.spikes_.min()), float(self.spikes_.max())
        else:
            self.lo_ = self.hi_ = 0.0
        if len(self.spikes_):
            self.lo_, self.hi_ = min(self.lo_, float(self.spikes_.min())), max(self.hi_, float(self.spikes_.max()))
        self._spike_counts = heavy[np.isin(values[kept], self.spikes_)]
        self.suppressed_ = not len(self.spikes_) and bounds is None  # nothing passed the noise: null
        self._build()
        return self

    def prior_counts(self) -> list[np.ndarray] | None:
        """Noisy counts of the first token (DP fits: point masses; the bins share the rest evenly)."""
        if not getattr(self, "dp_", False) or self.suppressed_ or not hasattr(self, "_spike_counts"):
            return None
        first = np.zeros(self.sizes[0])
        first[: self.n_spikes] = np.maximum(self._spike_counts, 0.0)
        if self.n_bins:  # the bins together start as heavy as an average point mass (a start only)
            first[self.n_spikes: self.n_spikes + self.n_bins] = max(1.0, first.sum() / max(1, self.n_spikes)) / \
                self.n_bins
        return [first] + [np.ones(v) for v in self.sizes[1:]]

    def _fit_bins(self, rest: np.ndarray, k: int) -> None:
        total = max(1, min(self.max_bins * self.fine_bins, len(rest) // k))
        n_bins = max(1, min(self.max_bins, total))
        n_fine = max(1, min(self.fine_bins, total // n_bins))
        edges = np.unique(np.quantile(rest, np.linspace(0.0, 1.0, n_bins + 1)))
        if len(edges) == 1:
            edges = np.array([edges[0], edges[0]])
        n_bins = len(edges) - 1
        which = np.clip(np.searchsorted(edges[1:-1], rest, side="right"), 0, n_bins - 1)
        fine = np.zeros((n_bins, n_fine + 1))
        for b in range(n_bins):
            inside = rest[which == b]
            q = np.quantile(inside, np.linspace(0.0, 1.0, n_fine + 1)) if len(inside) else \
                np.linspace(edges[b], edges[b + 1], n_fine + 1)
            q[0], q[-1] = edges[b], edges[b + 1]
            fine[b] = np.maximum.accumulate(q)
        self.edges_, self.fine_ = edges, fine

    def _build(self) -> None:
        self.n_spikes = len(self.spikes_)
        self.n_bins = max(0, len(self.edges_) - 1)
        self.n_fine = self.fine_.shape[1] - 1 if self.n_bins else 0
        self.null_token = self.n_spikes + self.n_bins if self.has_null_ else -1
        after = self.n_spikes + self.n_bins + int(self.has_null_)
        self.posinf_token = after if self.has_posinf_ else -1
        self.neginf_token = after + int(self.has_posinf_) if self.has_neginf_ else -1
        first = after + int(self.has_posinf_) + int(self.has_neginf_)
        if self.suppressed_:
            first = 1  # one token: null
        self.sizes = [first] + ([self.n_fine] if self.n_bins and self.n_fine > 1 else [])

    def _tokens(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), len(self.sizes)), dtype=np.int64)
        if self.suppressed_:
            return out
        isna = np.isnan(x) | (np.isposinf(x) & (self.posinf_token < 0)) | (np.isneginf(x) & (self.neginf_token < 0))
        posinf, neginf = np.isposinf(x) & ~isna, np.isneginf(x) & ~isna
        isna |= posinf | neginf  # (set to their tokens below)
        xc = np.clip(np.where(isna, self.lo_, x), self.lo_, self.hi_)
        first = np.zeros(len(x), dtype=np.int64)
        spike = np.zeros(len(x), dtype=bool)
        if self.n_spikes:
            pos = np.clip(np.searchsorted(self.spikes_, xc), 0, self.n_spikes - 1)
            spike = self.spikes_[pos] == xc
            if not self.n_bins:  # only exact values: a value between them goes to the nearest one
                near = np.abs(xc[:, None] - self.spikes_[None, :]).argmin(axis=1)
                pos, spike = near, np.ones(len(x), dtype=bool)
            first[spike] = pos[spike]
        rest = ~spike
        if self.n_bins and rest.any():
            b = np.clip(np.searchsorted(self.edges_[1:-1], xc[rest], side="right"), 0, self.n_bins - 1)
            first[rest] = self.n_spikes + b
            if len(self.sizes) > 1:
                f = np.zeros(len(b), dtype=np.int64)
                for bb in np.unique(b):
                    sel = b == bb
                    f[sel] = np.clip(np.searchsorted(self.fine_[bb, 1:-1], xc[rest][sel], side="right"),
                                     0, self.n_fine - 1)
                out[rest, 1] = f
        if self.has_null_:
            first[isna] = self.null_token
        first[posinf] = self.posinf_token
        first[neginf] = self.neginf_token
        out[:, 0] = first
        return out

    def encode(self, data: pd.Series) -> np.ndarray:
        return self._tokens(self._to_float(data.reset_index(drop=True)))

    def decode_float(self, tokens: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Float values (NaN for null) of token rows, rounded and clipped, before the dtype is restored."""
        x = self._decode_relative(tokens, u)
        return x + float(self.offset_) if getattr(self, "offset_", None) is not None else x

    def _decode_relative(self, tokens: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Like `decode_float`, integers as differences from their minimum (exact)."""
        tokens = _token_rows(tokens, len(self.sizes))
        n = len(tokens)
        x = np.full(n, np.nan)
        if self.suppressed_:
            return x
        t = tokens[:, 0]
        spike = t < self.n_spikes
        x[spike] = self.spikes_[t[spike]]
        binned = (t >= self.n_spikes) & (t < self.n_spikes + self.n_bins)
        if binned.any():
            b = t[binned] - self.n_spikes
            f = tokens[binned, 1] if tokens.shape[1] > 1 else np.zeros(len(b), dtype=np.int64)
            f = np.clip(f, 0, self.fine_.shape[1] - 2)
            a, c = self.fine_[b, f], self.fine_[b, f + 1]
            v = a + np.asarray(u, dtype=np.float64)[binned] * (c - a)
            if self.datetime_ is not None:
                step = self.datetime_["step"]
                v = np.round(v / step) * step
            elif self.is_integer_:
                v = np.round(v)
            elif self.decimals_ is not None:
                v = np.round(v, self.decimals_)
            x[binned] = np.clip(v, self.lo_, self.hi_)
        x[t == self.posinf_token] = np.inf
        x[t == self.neginf_token] = -np.inf
        return x

    def decode(self, tokens: np.ndarray, u: np.ndarray) -> pd.Series:
        x = self._decode_relative(tokens, u)
        if self.datetime_ is not None:
            return restore_datetime(x, self.datetime_, self.dtype_)
        return restore_number(x, self.dtype_, offset=self.offset_, span=self.span_, value_type=self.value_type_,
                              decimals_=self.decimals_)

    def condition_tokens(self, value: Any) -> list[int]:
        if _is_null(value):
            if not self.has_null_:
                raise DataError(f"condition {self.column}=null: the column had no nulls in training")
            return [self.null_token] + [0] * (len(self.sizes) - 1)
        try:
            x = self._to_float(pd.Series([value]))
        except (TypeError, ValueError) as exc:
            raise DataError(f"condition {self.column}={value!r}: not a value of this column ({exc})") from None
        if np.isnan(x[0]) or (np.isposinf(x[0]) and self.posinf_token < 0) or (
                np.isneginf(x[0]) and self.neginf_token < 0):
            raise DataError(f"condition {self.column}={value!r}: not a value of this column")
        return [int(t) for t in self._tokens(x)[0]]

    def report(self) -> dict[str, Any]:
        dp = bool(getattr(self, "dp_", False))
        return {"kind": "datetime" if self.datetime_ is not None else self.kind, "exact_values": self.n_spikes,
                "bins": self.n_bins, "fine_bins": self.n_fine, "null": self.has_null_,
                "clipped_rows": None if dp else {"low": self.clipped_[0], "high": self.clipped_[1]},
                "suppressed": self.suppressed_, **({"differential_privacy": True} if dp else {})}

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        cfg = {"kind": self.kind, "column": self.column, "dtype": self.dtype_, "rare_threshold": self.rare_threshold,
               "max_bins": self.max_bins, "fine_bins": self.fine_bins, "exact_limit": self.exact_limit,
               "spike_share": self.spike_share, "datetime": self.datetime_, "has_null": self.has_null_,
               "is_integer": self.is_integer_, "decimals": self.decimals_, "suppressed": self.suppressed_,
               "lo": self.lo_, "hi": self.hi_, "clipped": self.clipped_, "offset": self.offset_, "span": self.span_,
               "value_type": self.value_type_, "has_posinf": self.has_posinf_, "has_neginf": self.has_neginf_,
               "dp": bool(getattr(self, "dp_", False))}
        return cfg, {"spikes": self.spikes_, "edges": self.edges_, "fine": self.fine_}

    @classmethod
    def from_state(cls, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> NumericCodec:
        obj = cls(cfg["rare_threshold"], cfg["max_bins"], cfg["fine_bins"], cfg["exact_limit"], cfg["spike_share"])
        obj.column, obj.dtype_, obj.datetime_ = cfg["column"], cfg["dtype"], cfg["datetime"]
        obj.has_null_, obj.is_integer_ = bool(cfg["has_null"]), bool(cfg["is_integer"])
        obj.decimals_, obj.suppressed_ = cfg["decimals"], bool(cfg["suppressed"])
        obj.lo_, obj.hi_, obj.clipped_ = float(cfg["lo"]), float(cfg["hi"]), list(cfg["clipped"])
        obj.offset_, obj.span_, obj.value_type_ = cfg.get("offset"), cfg.get("span"), cfg.get("value_type")
        obj.has_posinf_, obj.has_neginf_ = bool(cfg.get("has_posinf")), bool(cfg.get("has_neginf"))
        obj.dp_ = bool(cfg.get("dp", False))
        obj.spikes_ = np.asarray(arrays["spikes"], dtype=np.float64)
        obj.edges_ = np.asarray(arrays["edges"], dtype=np.float64)
        obj.fine_ = np.asarray(arrays["fine"], dtype=np.float64)
        obj._build()
        return obj


# ----------------------------------------------------------------------------- fixed columns
class FixedCodec(Codec):
    """A column the model does not learn: a constant, or an id/text/key column (all nulls). No tokens."""

    kind = "fixed"

    def __init__(self, transformer: ColumnTransformer) -> None:
        self.transformer = transformer
        self.column = transformer.column_
        self.sizes = []

    def encode(self, data: pd.Series) -> np.ndarray:
        return np.zeros((len(data), 0), dtype=np.int64)

    def decode(self, tokens: np.ndarray, u: np.ndarray) -> pd.Series:
        return self.transformer.inverse_transform(np.zeros((len(tokens), 0), dtype=np.float32))

    def condition_tokens(self, value: Any) -> list[int]:
        return []

    def report(self) -> dict[str, Any]:
        return {"kind": "constant" if isinstance(self.transformer, ConstantTransformer) else "not_learned"}

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        cfg, arrays = self.transformer.to_dict()
        return {"kind": self.kind, "transformer": cfg}, arrays


# ----------------------------------------------------------------------------- factory
def codec_kind(data: pd.Series, declared: str | None) -> str:
    """"fixed", "categorical" or "numeric": the codec a DP fit gives the column (its type only: the
    declared one, else inferred from the values, `transformers.table.infer_semantic_type`)."""
    stype = infer_semantic_type(data.reset_index(drop=True), declared)
    if stype in ("id", "text"):
        return "fixed"
    return "numeric" if stype in ("numerical", "datetime") else "categorical"


def make_codec(data: pd.Series, declared: str | None, *, rare_threshold: int, max_bins: int, fine_bins: int,
               exact_limit: int, protect: bool = True, dp: DPStatistics | None = None) -> Codec:
    """Choose and fit the codec of one column.

    Args:
        data: The column (its name is the column name).
        declared: The metadata's semantic type, or None to infer it from the dtype.
        rare_threshold: `k` of the rare-value protection.
        max_bins: Most quantile bins of a numerical column's first token.
        fine_bins: Most fine bins inside each bin.
        exact_limit: Distinct values up to which every value of a numerical column is exact.
        protect: False turns rare-value protection off (as rare_threshold=1 does).
        dp: The fit's DP statistics (`privacy.dp_stats`): every learned column is then fitted from
            noisy counts only (no constant-column shortcut: whether a column has one value is a
            fact about the rows). None: the exact fit.
    """
    data = data.reset_index(drop=True)
    stype = infer_semantic_type(data, declared)
    k = max(1, int(rare_threshold)) if protect else 1
    if stype in ("id", "text"):
        return FixedCodec(ExcludedTransformer().fit(data))
    if dp is not None:
        if stype in ("numerical", "datetime"):
            return NumericCodec(k, max_bins, fine_bins, exact_limit).fit(data, datetime=stype == "datetime", dp=dp)
        return CategoricalCodec(k).fit(data, dp=dp)
    if data.nunique(dropna=False) <= 1:
        non_null = int(data.notna().sum())
        if 0 < non_null < k:  # one value held by fewer than k rows: rare, not emitted
            return FixedCodec(ExcludedTransformer().fit(data))
        return FixedCodec(ConstantTransformer().fit(data))
    if stype in ("numerical", "datetime"):
        return NumericCodec(k, max_bins, fine_bins, exact_limit).fit(data, datetime=stype == "datetime")
    if stype == "boolean":
        return CategoricalCodec(1).fit(data)  # the values of a boolean are public: nothing to protect
    return CategoricalCodec(k).fit(data)


def codec_from_state(cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> Codec:
    """Rebuild any codec from its `state()`."""
    kind = cfg.get("kind")
    if kind == "categorical":
        return CategoricalCodec.from_state(cfg, arrays)
    if kind == "numeric":
        return NumericCodec.from_state(cfg, arrays)
    if kind == "fixed":
        return FixedCodec(transformer_from_state(cfg["transformer"], arrays))
    raise SerializationError(f"Autoregressive model archive: unknown column codec {kind!r} "
                             "(written by a newer pyspark_synth?)")
