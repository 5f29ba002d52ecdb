"""Differential privacy accounting for DP-SGD: the RDP of the Poisson-subsampled Gaussian mechanism.

Pure numpy/scipy (no torch, no Spark). DP-SGD (Abadi et al. 2016) trains a network on batches
drawn by Poisson sampling (each row joins a step's batch independently with probability `q`),
clips each row's gradient to norm `C` and adds Gaussian noise of standard deviation `sigma * C`
to their sum. Each step is the sampled Gaussian mechanism; its Renyi-DP at integer order `a` is

    RDP(a) = log( sum_i binom(a, i) (1 - q)^(a - i) q^i exp((i^2 - i) / (2 sigma^2)) ) / (a - 1)

(Mironov, Talwar and Zhang 2019, "Renyi Differential Privacy of the Sampled Gaussian Mechanism",
the integer-order formula; opacus's `RDPAccountant` uses the same one). `steps` steps compose by
adding their RDP, and (epsilon, delta)-DP follows from the conversion of Balle et al. 2020 (the
one opacus uses), minimised over the orders. Only integer orders are used: the epsilon is an upper
bound, at most a little above one computed with fractional orders as well.

`noise_for_epsilon` finds the smallest noise multiplier whose epsilon is within a target
(bisection; the epsilon falls as the noise rises).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import gammaln, logsumexp

from pyspark_synth.errors import PrivacyError

__all__ = ["DEFAULT_ORDERS", "NOT_COVERED", "check_dp_settings", "default_delta", "epsilon_spent",
           "noise_for_epsilon", "rdp_gaussian", "rdp_sampled_gaussian", "rdp_to_epsilon"]

DEFAULT_ORDERS: tuple[int, ...] = (*range(2, 64), 64, 80, 96, 128, 160, 192, 256, 384, 512)
# What a DP fit's budget does not cover (the autoregressive backend: its network is trained with
# DP-SGD and its encoders from the DP statistics of `privacy.dp_stats`, both in one account).
NOT_COVERED: tuple[str, ...] = (
    "row counts (a table's size sets the sampling rate, the batch size and the default delta)",
    "column types inferred from the values where the metadata does not declare them, and value formats "
    "(decimal places, a datetime column's text format and step)",
    "child-count laws, linkage models and null rates of foreign keys, and the choice of a child's driving "
    "parent and context columns (learned exactly by the relational fit)",
    "the privacy step's choices: which columns PII detection marks (declare rules to avoid it) and the null "
    "rate of faked columns",
    "the shapes of generated keys (prefix, width, the minimum of number keys)",
    "a child's parent-context values: the guarantee is per row of the fitted table, not per parent row",
)


def rdp_sampled_gaussian(q: float, noise_multiplier: float, orders: Sequence[int] = DEFAULT_ORDERS) -> np.ndarray:
    """The RDP of one step of the sampled Gaussian mechanism at each integer order.

    Args:
        q: Sampling rate (a row's probability of joining a step's batch), in (0, 1].
        noise_multiplier: Noise standard deviation over the clipping norm (> 0).
        orders: Integer Renyi orders >= 2.
    """
    sigma = float(noise_multiplier)
    out = np.empty(len(orders))
    for j, a in enumerate(orders):
        a = int(a)
        if q >= 1.0:
            out[j] = a / (2 * sigma**2)
            continue
        i = np.arange(a + 1, dtype=np.float64)
        log_binom = gammaln(a + 1) - gammaln(i + 1) - gammaln(a - i + 1)
        terms = log_binom + i * math.log(q) + (a - i) * math.log1p(-q) + (i * i - i) / (2 * sigma**2)
        out[j] = float(logsumexp(terms)) / (a - 1)
    return out


def rdp_to_epsilon(rdp: np.ndarray, delta: float, orders: Sequence[int] = DEFAULT_ORDERS) -> tuple[float, int]:
    """(epsilon, best order) of a mechanism whose RDP at each order is `rdp`, for `delta` (Balle et al.)."""
    a = np.asarray(orders, dtype=np.float64)
    eps = np.asarray(rdp, dtype=np.float64) + np.log1p(-1.0 / a) - (math.log(delta) + np.log(a)) / (a - 1)
    best = int(np.nanargmin(eps))
    return float(max(0.0, eps[best])), int(orders[best])


def rdp_gaussian(noise_multiplier: float, releases: int = 1, orders: Sequence[int] = DEFAULT_ORDERS) -> np.ndarray:
    """The RDP of the Gaussian mechanism: counts of L2 sensitivity sqrt(`releases`) (one row changes
    `releases` counts by one each), each with noise of standard deviation `noise_multiplier`."""
    return np.asarray(orders, dtype=np.float64) * float(releases) / (2.0 * float(noise_multiplier) ** 2)


def epsilon_spent(q: float, noise_multiplier: float, steps: int, delta: float,
                  orders: Sequence[int] = DEFAULT_ORDERS, extra_rdp: np.ndarray | None = None) -> tuple[float, int]:
    """(epsilon, best order) of `steps` DP-SGD steps at sampling rate `q` for `delta`.

    `extra_rdp` (one value per order) is the RDP of what else the fit released from the same rows
    (the encoders' DP statistics, `privacy.dp_stats`); RDP composes by addition. Zero steps and no
    extra spend nothing (epsilon 0).
    """
    if steps <= 0 and extra_rdp is None:
        return 0.0, int(orders[0])
    rdp = rdp_sampled_gaussian(q, noise_multiplier, orders) * int(steps) if steps > 0 else np.zeros(len(orders))
    if extra_rdp is not None:
        rdp = rdp + np.asarray(extra_rdp, dtype=np.float64)
    return rdp_to_epsilon(rdp, delta, orders)


def noise_for_epsilon(epsilon: float, q: float, steps: int, delta: float, *, tolerance: float = 0.01,
                      extra_rdp: np.ndarray | None = None) -> float:
    """The smallest noise multiplier whose epsilon after `steps` steps is at most `epsilon` (bisection).

    `extra_rdp`: the RDP already spent on the same rows (see `epsilon_spent`).

    Raises:
        PrivacyError: No noise multiplier below 10,000 reaches it (an epsilon that small is useless).
    """
    lo, hi = 0.0, 1.0
    while epsilon_spent(q, hi, steps, delta, extra_rdp=extra_rdp)[0] > epsilon:
        lo, hi = hi, hi * 2
        if hi > 1e4:
            raise PrivacyError(f"epsilon={epsilon} cannot be reached with {steps} steps at sampling rate {q:.3g} "
                               f"and delta={delta:.3g}: raise epsilon, or train fewer epochs.")
    while hi - lo > tolerance * max(hi, 1e-3):
        mid = (lo + hi) / 2
        if mid > 0 and epsilon_spent(q, mid, steps, delta, extra_rdp=extra_rdp)[0] <= epsilon:
            hi = mid
        else:
            lo = mid
    return hi


def default_delta(rows: int) -> float:
    """The delta used when none is given: 1 / (10 * rows), well below one row's share."""
    return 1.0 / (10.0 * max(1, int(rows)))


def check_dp_settings(settings: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The DP settings (`epsilon`, `delta`, `noise_multiplier`, `max_grad_norm`, `statistics_share`) checked.

    `statistics_share` (None: `privacy.dp_stats.DEFAULT_SHARE`) is the part of `epsilon` the
    encoders' DP statistics (category and exact-value selection, numeric bounds) get on their own.

    Raises:
        PrivacyError: An unknown key or a value out of range (says which and what is allowed).
    """
    known = {"epsilon", "delta", "noise_multiplier", "max_grad_norm", "statistics_share"}
    if not isinstance(settings, Mapping):
        raise PrivacyError(f"{where}: differential_privacy must be a mapping with keys {sorted(known)}, got "
                           f"{type(settings).__name__}")
    unknown = sorted(set(settings) - known)
    if unknown:
        raise PrivacyError(f"{where}: unknown differential-privacy settings {unknown}; known: {sorted(known)}")

    def number(name: str, *, optional: bool, upper: float | None = None) -> float | None:
        v = settings.get(name)
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0 or (
                upper is not None and v >= upper):
            bound = f" and below {upper}" if upper is not None else ""
            raise PrivacyError(f"{where}: {name} must be a number above 0{bound}, got {v!r}")
        return float(v)

    return {"epsilon": number("epsilon", optional=False), "delta": number("delta", optional=True, upper=1.0),
            "noise_multiplier": number("noise_multiplier", optional=True),
            "max_grad_norm": number("max_grad_norm", optional=False),
            "statistics_share": number("statistics_share", optional=True, upper=1.0)}
