"""Mode-specific normalisation of a numeric column (CTGAN): a Bayesian GMM's mode one-hot plus a scalar.

Point masses get modes of their own: a value that holds a large share of the rows (capital gains
of exactly 0, a 40-hour week) or every value of a column with few distinct values (years of
education) is an exact mode with no spread, so it comes back exactly and with its own frequency
instead of being blurred by a Gaussian of the mixture.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.transformers.base import ColumnTransformer, Span
from pyspark_synth.transformers.dtypes import integer_offsets, restore_numbers

__all__ = ["ContinuousTransformer", "ModeNormalizer"]

_STD_MULT = 4.0


class ModeNormalizer:
    """The variational Gaussian mixture part of mode-specific normalisation, on float arrays.

    Values are standardised, a `BayesianGaussianMixture` is fitted on a bounded random sample and
    only its state (means, stds, weights of the modes above `weight_threshold`) is kept, so the
    sklearn object is never stored.

    Args:
        max_modes: Upper bound on the number of Gaussian modes.
        weight_threshold: Modes with a smaller mixture weight are dropped.
        max_fit_rows: The mixture is fitted on at most this many randomly chosen values.
        seed: Seed of the fit sample, of the mixture and of the mode assignment in `encode`.
        spike_share: A value holding at least this share of the fit sample becomes an exact
            mode (at most `max_modes` of them); a column with at most `2 * max_modes` distinct
            values gets an exact mode per value. None disables exact modes.
    """

    def __init__(self, max_modes: int = 10, weight_threshold: float = 0.005, max_fit_rows: int = 5_000,
                 seed: int = 0, spike_share: float | None = 0.05) -> None:
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.max_fit_rows = max_fit_rows
        self.seed = seed
        self.spike_share = spike_share

    def _find_spikes(self, x: np.ndarray) -> np.ndarray:
        if self.spike_share is None or len(x) == 0:
            return np.zeros(0)
        values, counts = np.unique(x, return_counts=True)
        if len(values) <= 2 * self.max_modes:
            return values
        top = np.argsort(-counts, kind="stable")[: self.max_modes]
        top = top[counts[top] >= self.spike_share * len(x)]
        return np.sort(values[top])

    def fit(self, values: np.ndarray) -> ModeNormalizer:
        """Fit the mixture on finite float `values`; returns self."""
        from sklearn.mixture import BayesianGaussianMixture

        x = np.asarray(values, dtype=np.float64)
        self.loc_ = float(np.mean(x)) if len(x) else 0.0
        std = float(np.std(x)) if len(x) else 0.0
        self.scale_ = std if std > 0 and np.isfinite(std) else 1.0
        rng = np.random.default_rng(self.seed)
        if len(x) > self.max_fit_rows:
            x = x[rng.choice(len(x), self.max_fit_rows, replace=False)]
        self.spikes_ = self._find_spikes(x)
        rest = x[~np.isin(x, self.spikes_)]
        z = (rest - self.loc_) / self.scale_
        n_unique = len(np.unique(z)) if len(z) else 0
        n_comp = min(self.max_modes, n_unique)
        if n_comp == 0 and len(self.spikes_):
            self.means_, self.stds_, self.weights_ = np.zeros(0), np.zeros(0), np.zeros(0)
            return self
        if n_comp <= 1:
            self.means_ = np.array([float(np.mean(z)) if len(z) else 0.0])
            self.stds_ = np.array([1e-3])
            self.weights_ = np.array([1.0])
            return self
        bgm = BayesianGaussianMixture(
            n_components=n_comp,
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001,
            max_iter=100,
            n_init=1,
            random_state=int(rng.integers(2**31 - 1)),
        )
        from threadpoolctl import threadpool_limits

        with warnings.catch_warnings(), threadpool_limits(1):  # tiny 1-D problem: threads only add overhead
            warnings.simplefilter("ignore")
            bgm.fit(z.reshape(-1, 1))
        keep = bgm.weights_ > self.weight_threshold
        if not keep.any():
            keep = bgm.weights_ == bgm.weights_.max()
        self.means_ = bgm.means_.reshape(-1)[keep].astype(np.float64)
        self.stds_ = np.sqrt(bgm.covariances_.reshape(-1)[keep]).astype(np.float64)
        w = bgm.weights_[keep]
        self.weights_ = (w / w.sum()).astype(np.float64)
        return self

    @property
    def n_modes(self) -> int:
        """Number of modes: the Gaussian ones, then the exact ones."""
        return len(self.means_) + len(self.spikes_)

    def encode(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (alpha in [-1, 1], mode index) with the mode drawn from its posterior (seeded).

        A value equal to an exact mode gets that mode and alpha 0.
        """
        x = np.asarray(values, dtype=np.float64)
        n_gauss = len(self.means_)
        mode = np.zeros(len(x), dtype=np.int64)
        alpha = np.zeros(len(x), dtype=np.float64)
        spike = np.isin(x, self.spikes_) if len(self.spikes_) else np.zeros(len(x), dtype=bool)
        if spike.any():
            mode[spike] = n_gauss + np.searchsorted(self.spikes_, x[spike])
        rest = np.flatnonzero(~spike)
        if n_gauss == 0:  # only exact modes: a value between them goes to the nearest one
            if len(rest):
                near = np.abs(x[rest, None] - self.spikes_[None, :]).argmin(axis=1)
                mode[rest] = near
            return alpha, mode
        z = (x[rest] - self.loc_) / self.scale_
        d = (z[:, None] - self.means_[None, :]) / self.stds_[None, :]
        logp = np.log(self.weights_)[None, :] - 0.5 * d * d - np.log(self.stds_)[None, :]
        rng = np.random.default_rng(self.seed)
        gumbel = -np.log(-np.log(rng.uniform(1e-12, 1.0, size=logp.shape)))
        m = np.argmax(logp + gumbel, axis=1)
        mode[rest] = m
        alpha[rest] = np.clip(d[np.arange(len(rest)), m] / _STD_MULT, -1.0, 1.0)
        return alpha, mode

    def decode(self, alpha: np.ndarray, mode: np.ndarray) -> np.ndarray:
        """Invert `encode`: an exact mode's value, or a Gaussian mode's mean plus alpha times 4 of its std."""
        a = np.clip(np.asarray(alpha, dtype=np.float64), -1.0, 1.0)
        mode = np.asarray(mode, dtype=np.int64)
        n_gauss = len(self.means_)
        g = np.minimum(mode, max(n_gauss - 1, 0))
        if n_gauss:
            out = (a * _STD_MULT * self.stds_[g] + self.means_[g]) * self.scale_ + self.loc_
        else:
            out = np.zeros(len(a))
        spike = mode >= n_gauss
        if spike.any():
            out[spike] = self.spikes_[mode[spike] - n_gauss]
        return out

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON config, arrays) of the fitted mixture."""
        cfg = {"max_modes": self.max_modes, "weight_threshold": self.weight_threshold,
               "max_fit_rows": self.max_fit_rows, "seed": self.seed, "loc": self.loc_, "scale": self.scale_,
               "spike_share": self.spike_share}
        return cfg, {"means": self.means_, "stds": self.stds_, "weights": self.weights_, "spikes": self.spikes_}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> ModeNormalizer:
        """Rebuild from `get_state()` output."""
        obj = cls(config["max_modes"], config["weight_threshold"], config["max_fit_rows"], config["seed"],
                  config.get("spike_share"))
        obj.loc_, obj.scale_ = float(config["loc"]), float(config["scale"])
        obj.means_ = np.asarray(arrays["means"], dtype=np.float64)
        obj.stds_ = np.asarray(arrays["stds"], dtype=np.float64)
        obj.weights_ = np.asarray(arrays["weights"], dtype=np.float64)
        obj.spikes_ = np.asarray(arrays.get("spikes", np.zeros(0)), dtype=np.float64)
        return obj


def _decimals(values: np.ndarray, max_decimals: int = 8) -> int | None:
    """The fewest decimals that represent every value exactly, or None if more than `max_decimals`."""
    sample = values[:5000]
    for d in range(max_decimals + 1):
        if np.allclose(np.round(sample, d), sample, rtol=0, atol=1e-9 * max(1.0, float(np.max(np.abs(sample))))):
            return d
    return None


class ContinuousTransformer(ColumnTransformer):
    """A numeric column (float or integer) as [alpha (tanh), mode one-hot (softmax)].

    Generated values are clipped to the observed [min, max], rounded to the observed number of
    decimals, and integers come back as integers of the original dtype: they are learned as
    differences from their minimum, so values near 2**63 keep every digit and stay in range. Nulls are handled by
    wrapping this transformer in `NullIndicator`; this one sees non-null values only.

    Args:
        max_modes: Upper bound on the mixture's modes.
        weight_threshold: Modes with less weight are dropped.
        max_fit_rows: Bound on the rows used to fit the mixture.
        seed: Seed of the fit sample and of the mode assignment.
        spike_share: Share of rows from which a single value gets an exact mode (see ModeNormalizer).
    """

    kind = "continuous"

    def __init__(self, max_modes: int = 10, weight_threshold: float = 0.005, max_fit_rows: int = 5_000,
                 seed: int = 0, spike_share: float | None = 0.05) -> None:
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.max_fit_rows = max_fit_rows
        self.seed = seed
        self.spike_share = spike_share

    def _values(self, data: pd.Series) -> np.ndarray:
        if getattr(self, "offset_", None) is not None:
            exact = integer_offsets(data, self.offset_)
            if exact is not None:
                x = exact[2]
                x[data.isna().to_numpy()] = np.nan
                return x
            x = pd.to_numeric(data, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            return x - float(self.offset_)
        return pd.to_numeric(data, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)

    def _fit(self, data: pd.Series) -> None:
        # integers are learned as exact differences from their minimum (no precision lost near 2**63)
        exact = integer_offsets(data)
        self.offset_, self.span_ = (exact[0], exact[1]) if exact is not None else (None, None)
        x = self._values(data)
        x = x[np.isfinite(x)]
        self.normalizer_ = ModeNormalizer(self.max_modes, self.weight_threshold, self.max_fit_rows, self.seed,
                                          self.spike_share).fit(x)
        self.min_ = float(x.min()) if len(x) else 0.0
        self.max_ = float(x.max()) if len(x) else 0.0
        self.is_integer_ = bool(pd.api.types.is_integer_dtype(data.dtype))
        self.decimals_ = 0 if self.is_integer_ else (_decimals(x) if len(x) else None)

    def _transform(self, data: pd.Series) -> np.ndarray:
        x = self._values(data)
        x = np.where(np.isfinite(x), x, self.normalizer_.loc_)
        alpha, mode = self.normalizer_.encode(x)
        out = np.zeros((len(x), 1 + self.normalizer_.n_modes), dtype=np.float32)
        out[:, 0] = alpha
        out[np.arange(len(x)), 1 + mode] = 1.0
        return out

    def decode_values(self, data: np.ndarray) -> np.ndarray:
        """Decode a block to float values (clipped and rounded), before any dtype is restored."""
        mode = np.argmax(data[:, 1:], axis=1) if data.shape[1] > 2 else np.zeros(len(data), dtype=np.int64)
        x = np.clip(self.normalizer_.decode(data[:, 0], mode), self.min_, self.max_)
        if self.decimals_ is not None:
            x = np.round(x, self.decimals_)
        return x

    def _inverse(self, data: np.ndarray) -> pd.Series:
        x = self.decode_values(data)
        if self.offset_ is not None:
            return restore_numbers(x, None, self.dtype_, is_int=True, offset=self.offset_, span=self.span_)
        dtype = pd.api.types.pandas_dtype(self.dtype_)
        if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
            return pd.Series(x).astype(dtype)
        return pd.Series(x)

    def _spans(self) -> list[Span]:
        return [Span(1, "tanh", self.column_, "continuous"),
                Span(self.normalizer_.n_modes, "softmax", self.column_, "mode")]

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        cfg, arrays = self.normalizer_.get_state()
        return {"normalizer": cfg, "min": self.min_, "max": self.max_, "is_integer": self.is_integer_,
                "decimals": self.decimals_, "offset": self.offset_, "span": self.span_}, arrays

    def _set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        n = config["normalizer"]
        self.max_modes, self.weight_threshold = n["max_modes"], n["weight_threshold"]
        self.max_fit_rows, self.seed = n["max_fit_rows"], n["seed"]
        self.spike_share = n.get("spike_share")
        self.normalizer_ = ModeNormalizer.from_state(n, arrays)
        self.min_, self.max_ = float(config["min"]), float(config["max"])
        self.is_integer_, self.decimals_ = bool(config["is_integer"]), config["decimals"]
        self.offset_, self.span_ = config.get("offset"), config.get("span")
