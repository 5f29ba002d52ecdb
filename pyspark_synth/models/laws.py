"""Empirical laws of non-negative integer counts (children per parent, words per value)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CountLaw"]


class CountLaw:
    """An empirical distribution of non-negative integer counts, drawn from by inverse CDF.

    Args:
        values: The distinct counts, ascending.
        cumprobs: The cumulative probability of each value (the last is 1).
    """

    def __init__(self, values: np.ndarray, cumprobs: np.ndarray) -> None:
        self.values = np.asarray(values, dtype=np.int64)
        self.cumprobs = np.asarray(cumprobs, dtype=np.float64)

    @classmethod
    def fit(cls, counts: np.ndarray) -> CountLaw:
        """The law of `counts` (one count per observation)."""
        vals, freq = np.unique(np.asarray(counts, dtype=np.int64), return_counts=True)
        return cls.from_histogram(vals, freq)

    @classmethod
    def from_histogram(cls, values: np.ndarray, frequencies: np.ndarray) -> CountLaw:
        """The law of a histogram: `frequencies[i]` observations of count `values[i]`.

        This is what a Spark aggregation returns (`groupBy(count).count()`), so a law over millions
        of parents is learned without bringing one row per parent to the driver.

        Raises:
            ValueError: The histogram is empty, has negative frequencies or unequal lengths.
        """
        values = np.asarray(values, dtype=np.int64)
        freq = np.asarray(frequencies, dtype=np.float64)
        if values.shape != freq.shape or values.size == 0 or (freq < 0).any() or freq.sum() <= 0:
            raise ValueError(f"a count law needs a non-empty histogram with non-negative frequencies, got "
                             f"{values.size} values and {freq.size} frequencies (total {freq.sum() if freq.size else 0})")
        order = np.argsort(values, kind="stable")
        values, freq = values[order], freq[order]
        uniq, inverse = np.unique(values, return_inverse=True)
        merged = np.bincount(inverse.ravel(), weights=freq)
        cum = np.cumsum(merged) / merged.sum()
        cum[-1] = 1.0
        return cls(uniq, cum)

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Counts for uniforms `u` by inverse CDF."""
        idx = np.minimum(np.searchsorted(self.cumprobs, u, side="right"), len(self.values) - 1)
        return self.values[idx]

    @property
    def mean(self) -> float:
        """Expected count."""
        p = np.diff(np.concatenate([[0.0], self.cumprobs]))
        return float((self.values * p).sum())

    @property
    def smallest(self) -> int:
        """The smallest count the law gives."""
        return int(self.values[0]) if len(self.values) else 0

    @property
    def largest(self) -> int:
        """The largest count the law gives."""
        return int(self.values[-1]) if len(self.values) else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"values": self.values.tolist(), "cumprobs": self.cumprobs.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CountLaw:
        """Inverse of to_dict."""
        return cls(np.array(d["values"]), np.array(d["cumprobs"]))


def kth_bounds(n: int, k: int) -> tuple[int, int]:
    """Positions, in sorted order, of the k-th smallest and the k-th largest of `n` values: the
    bounds rare-value protection clips a numerical law to (both the median's where n < 2k - 1,
    since then the two ends would cross)."""
    return (k - 1, n - k) if n >= 2 * k - 1 else ((n - 1) // 2,) * 2
