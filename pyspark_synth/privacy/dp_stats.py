"""Differentially private statistics of the encoders: noisy key selection and numeric bounds, accounted.

Pure numpy/scipy (no torch, no Spark). Under differential privacy the autoregressive backend's
encoders learn from the rows only through two Gaussian mechanisms of this module, both with the same
noise `sigma` on every count, and their privacy loss is added to DP-SGD's in one RDP account
(`privacy.dp.epsilon_spent(..., extra_rdp=)`):

* **Key selection** (`select_keys`): a categorical column's values, and a numerical or datetime
  column's exact values (its point masses), are kept only when their count plus Gaussian noise
  exceeds `threshold`; the kept keys' noisy counts are all that is stored. The null (and the
  infinities) are keys of a fixed universe, so whether a column has nulls is noisy too.
* **Bounds** (`noisy_bounds`): a numerical or datetime column's range is the span of the buckets
  of a fixed grid (`value_grid`: log-spaced for numbers, 365-day buckets for dates; no data decides
  it) whose noisy count exceeds a threshold; the encoder then cuts that range into equal-width (or
  log-spaced) bins, so no quantile of the data is stored, and the network learns, under DP-SGD,
  how the rows spread over the bins.

Each training row adds one to one count of each release (one release per categorical column, two
per numerical/datetime column), so the L2 sensitivity of all counts together is sqrt(`releases`)
and the Gaussian mechanism's RDP at order a is a * releases / (2 sigma^2) (`privacy.dp.rdp_gaussian`).

Selecting among the keys present in the data needs a delta of its own: a row whose value no other
row holds adds a key that the neighbouring data set lacks, and that key is released only when its
count (1) plus noise exceeds the threshold. With `selections` key selections the chance that any of
the row's own keys shows is at most `selections * P(N(0, sigma^2) > threshold - 1)`; `plan` sets the
threshold so that this is `delta_selection` (half of delta), and the RDP account uses the other
half. The whole fit is then (epsilon, delta)-DP for add/remove-one-row neighbours, the unit DP-SGD's
Poisson-sampling accountant uses. (A Laplace or Gaussian threshold over the present keys without
that delta, as some libraries do, is not DP: a value held by one row could be released.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from pyspark_synth.privacy.dp import DEFAULT_ORDERS, rdp_gaussian, rdp_to_epsilon

__all__ = ["DEFAULT_SHARE", "DPStatistics", "noisy_bounds", "plan", "select_keys", "value_grid"]

# The part of a fit's epsilon that the encoders' statistics get on their own (the rest is DP-SGD's;
# the two are accounted together, so the fit's epsilon is what the accountant reports).
DEFAULT_SHARE = 0.1
# Chance that a grid bucket holding no row passes the bounds threshold, over the whole grid.
_SPURIOUS = 1e-3
_GRID_STEPS_PER_OCTAVE = 4
_GRID_OCTAVES = (-20, 64)  # |x| from 2^-20 to 2^64
_DAY_BUCKET = 365  # days per bucket of the datetime grid (coarse: a bucket must outweigh the noise)
_DAY_SPAN = 100_000  # the datetime grid covers days -100,000 .. +100,000 around 1970 (years 1696-2243)


@dataclass(frozen=True)
class DPStatistics:
    """The noise of the encoders' DP statistics of one fit (see the module docstring).

    Attributes:
        sigma: Standard deviation of the Gaussian noise added to every count.
        threshold: A key is kept when its noisy count exceeds this.
        releases: Counts one row adds to (the squared L2 sensitivity).
        selections: Key selections (each may hold one key of a row's own).
        delta_selection: The delta the key selections spend (the chance a row's own key shows).
        epsilon: What the statistics alone spend at delta - delta_selection (for the report).
        seed: Seeds the noise (`np.random.default_rng(seed)`).
    """

    sigma: float
    threshold: float
    releases: int
    selections: int
    delta_selection: float
    epsilon: float
    seed: int

    def rdp(self) -> np.ndarray:
        """Their RDP at each of `privacy.dp.DEFAULT_ORDERS` (added to DP-SGD's)."""
        return rdp_gaussian(self.sigma, self.releases, DEFAULT_ORDERS)

    def rng(self, column: str, part: str) -> np.random.Generator:
        """The noise generator of one release of one column (independent of the column order)."""
        from pyspark_synth.seeds import derive_seed

        return np.random.default_rng(derive_seed(self.seed, "dp-stats", column, part))

    def report(self) -> dict[str, Any]:
        """What the report and the spec say about them."""
        return {"mechanism": "Gaussian (noisy key selection with a threshold, noisy bounds on a fixed grid)",
                "noise_std": self.sigma, "threshold": self.threshold, "releases_per_row": self.releases,
                "key_selections": self.selections, "delta_selection": self.delta_selection,
                "epsilon_alone": self.epsilon}


def plan(epsilon: float, delta: float, *, releases: int, selections: int, rare_threshold: int,
         seed: int) -> DPStatistics:
    """The noise and threshold that spend `epsilon` (at half of `delta`) on `releases` counts a row.

    Args:
        epsilon: The statistics' own share of the fit's epsilon.
        delta: The fit's delta; half goes to the key selections, half to the RDP conversion.
        releases: Counts each row adds to (one per categorical column, two per numerical one).
        selections: Key selections (one per categorical and per numerical column).
        rare_threshold: `k`: the threshold is never below it (no value of fewer rows is kept).
        seed: Seeds the noise.
    """
    releases, selections = max(1, int(releases)), max(1, int(selections))
    d_rdp = delta / 2.0

    def spent(sigma: float) -> float:
        return rdp_to_epsilon(rdp_gaussian(sigma, releases), d_rdp)[0]

    lo, hi = 0.0, 1.0
    while spent(hi) > epsilon:
        lo, hi = hi, hi * 2.0
    while hi - lo > 0.005 * hi:
        mid = (lo + hi) / 2.0
        lo, hi = (lo, mid) if spent(mid) <= epsilon else (mid, hi)
    d_sel = delta / 2.0
    threshold = max(float(rare_threshold), 1.0 + hi * float(norm.isf(d_sel / selections)))
    return DPStatistics(sigma=hi, threshold=threshold, releases=releases, selections=selections,
                        delta_selection=d_sel, epsilon=spent(hi), seed=int(seed))


def select_keys(counts: np.ndarray, stats: DPStatistics, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(kept mask, noisy counts) of keys with these true counts: kept where the noisy count > threshold."""
    counts = np.asarray(counts, dtype=np.float64)
    noisy = counts + rng.normal(0.0, stats.sigma, size=counts.shape)
    return noisy > stats.threshold, noisy


def value_grid(datetime_ticks_per_day: float | None = None) -> np.ndarray:
    """Edges of the fixed grid the bounds are counted on (ascending; no data decides them).

    Numbers: 0 and +-2^(j/4) for |x| in [2^-20, 2^64] (each bucket about 19 % wide). Datetimes
    (ticks, `datetime_ticks_per_day` of them a day, from 1970): 365-day buckets over years 1696-2243.
    """
    if datetime_ticks_per_day is not None:
        days = np.arange(-_DAY_SPAN, _DAY_SPAN + _DAY_BUCKET, _DAY_BUCKET, dtype=np.float64)
        return days * float(datetime_ticks_per_day)
    a, b = _GRID_OCTAVES
    pos = 2.0 ** (np.arange(a * _GRID_STEPS_PER_OCTAVE, b * _GRID_STEPS_PER_OCTAVE + 1) / _GRID_STEPS_PER_OCTAVE)
    return np.concatenate([-pos[::-1], [0.0], pos])


def noisy_bounds(values: np.ndarray, grid: np.ndarray, stats: DPStatistics,
                 rng: np.random.Generator) -> tuple[float, float] | None:
    """(low, high): the span of the grid buckets whose noisy count passes the bounds threshold.

    Values outside the grid count in its first or last bucket. The threshold is the larger of the
    selection threshold and the level that a bucket holding no row passes with chance `_SPURIOUS`
    over the whole grid (post-processing: it changes no privacy, only how far a sparse tail
    reaches). None when no bucket passes (too few rows for this noise).
    """
    n_buckets = len(grid) - 1
    x = np.asarray(values, dtype=np.float64)
    idx = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, n_buckets - 1)
    counts = np.bincount(idx, minlength=n_buckets).astype(np.float64)
    noisy = counts + rng.normal(0.0, stats.sigma, size=n_buckets)
    level = max(stats.threshold, stats.sigma * float(norm.isf(_SPURIOUS / n_buckets)))
    passed = np.flatnonzero(noisy > level)
    if not len(passed):
        return None
    return float(grid[passed[0]]), float(grid[passed[-1] + 1])


def spaced_edges(lo: float, hi: float, n: int) -> np.ndarray:
    """`n + 1` edges from lo to hi: log-spaced when both are positive and hi / lo > 100, else even."""
    if hi <= lo:
        return np.array([lo, lo])
    if lo > 0 and hi / lo > 100:
        return np.exp(np.linspace(math.log(lo), math.log(hi), n + 1))
    return np.linspace(lo, hi, n + 1)
