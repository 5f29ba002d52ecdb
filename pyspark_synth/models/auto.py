"""The automatic backend: per table, the fast copula where it models the table well, else a neural model.

`choose_backend` looks at a table's training rows: a small table (a lookup table, a few hundred
rows) gets the Gaussian copula, which needs no training; otherwise a copula is fitted on 80% of
a bounded sample and scored against the held-out 20% (`probe_score`: column shapes and column pair
trends, in the spirit of SDMetrics' quality score), relative to how well the other real rows score
against them; when it reaches `match` (95% of the real rows' own agreement), the copula models the
table about as well as a neural model would, and it is kept; else the autoregressive backend
(the best of our neural models on every table benchmarked, and faster to train than CTGAN) is
used. The choice and its reason go into the fit report. Pure pandas/numpy.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations

import numpy as np
import pandas as pd

from pyspark_synth.metadata import Table
from pyspark_synth.seeds import derive_seed

__all__ = ["AUTO_BACKEND", "SMALL_TABLE_ROWS", "choose_backend", "learned_columns", "probe_score"]

AUTO_BACKEND = "auto"
SMALL_TABLE_ROWS = 500
MATCH = 0.95
_PROBE_ROWS = 50_000
_MAX_PAIRS = 45
_BINS = 10
_STRONG = 0.3  # Cramer's V above which a pair counts as dependent


def learned_columns(table: Table | None, columns: Iterable[str]) -> list[str]:
    """The `columns` a model learns (not keys, ids or free text)."""
    if table is None:
        return list(columns)
    skip = table.unlearned_key_columns | {c.name for c in table.columns if c.type in ("id", "text")}
    return [c for c in columns if c not in skip]


def _codes(real: pd.Series, synth: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as small integer codes: numbers in the real deciles, values in the top real
    categories (the rest one code), null its own code."""
    num = pd.api.types.is_numeric_dtype(real.dtype) and not pd.api.types.is_bool_dtype(real.dtype)
    dt = pd.api.types.is_datetime64_any_dtype(real.dtype)
    if num or dt:
        r = pd.to_numeric(real.astype("int64") if dt else real, errors="coerce").to_numpy(dtype=float)
        s = pd.to_numeric(synth.astype("int64") if dt else synth, errors="coerce").to_numpy(dtype=float)
        present = r[np.isfinite(r)]
        edges = np.unique(np.quantile(present, np.linspace(0, 1, _BINS + 1)[1:-1])) if len(present) else np.zeros(0)

        def code(x: np.ndarray) -> np.ndarray:
            out = np.searchsorted(edges, x, side="right").astype(np.int64)
            out[~np.isfinite(x)] = len(edges) + 1
            return out

        return code(r), code(s)
    top = real.astype(str).where(real.notna(), "\x00null").value_counts().index[: _BINS * 2]
    index = pd.Index(top)

    def cats(x: pd.Series) -> np.ndarray:
        c = index.get_indexer(x.astype(str).where(x.notna(), "\x00null"))
        return np.where(c < 0, len(index), c)

    return cats(real), cats(synth)


def _tvd(a: np.ndarray, b: np.ndarray) -> float:
    k = int(max(a.max(initial=0), b.max(initial=0))) + 1
    pa = np.bincount(a, minlength=k) / max(len(a), 1)
    pb = np.bincount(b, minlength=k) / max(len(b), 1)
    return 0.5 * float(np.abs(pa - pb).sum())


def _ks(real: pd.Series, synth: pd.Series) -> float | None:
    """1 - the Kolmogorov-Smirnov distance of two numeric columns (None for other columns)."""
    num = pd.api.types.is_numeric_dtype(real.dtype) and not pd.api.types.is_bool_dtype(real.dtype)
    dt = pd.api.types.is_datetime64_any_dtype(real.dtype)
    if not (num or dt):
        return None
    r = pd.to_numeric(real.astype("int64") if dt else real, errors="coerce").to_numpy(dtype=float)
    s = pd.to_numeric(synth.astype("int64") if dt else synth, errors="coerce").to_numpy(dtype=float)
    r, s = np.sort(r[np.isfinite(r)]), np.sort(s[np.isfinite(s)])
    if not len(r) or not len(s):
        return None
    grid = np.concatenate([r, s])
    return 1 - float(np.abs(np.searchsorted(r, grid, side="right") / len(r)
                            - np.searchsorted(s, grid, side="right") / len(s)).max())


def probe_score(real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str]) -> float:
    """How alike two frames are, 0..1: the mean of the column shapes score (1 - the KS distance of
    numbers, 1 - the total variation distance of the top categories; null shares count as a
    category) and the pair trends score (1 - the total variation distance of each pair's joint
    distribution over real deciles or top categories, over the pairs that depend on each other in
    the real rows)."""
    if not columns:
        return 1.0
    codes = {c: _codes(real[c], synthetic[c]) for c in columns}
    shapes = []
    for c, (r, s) in codes.items():
        ks = _ks(real[c], synthetic[c])
        tvd = 1 - _tvd(r, s)
        shapes.append(tvd if ks is None else min(ks, tvd))
    trends, strong = [], []
    for a, b in list(combinations(columns, 2))[:_MAX_PAIRS]:
        (ra, sa), (rb, sb) = codes[a], codes[b]
        width = int(max(rb.max(initial=0), sb.max(initial=0))) + 1
        score = 1 - _tvd(ra * width + rb, sa * width + sb)
        trends.append(score)
        if _cramers_v(ra, rb) > _STRONG:
            strong.append(score)
    if not trends:
        return float(np.mean(shapes))
    # the pairs that depend on each other in the real rows are where models differ (as SDMetrics'
    # default score counts only those); all pairs when none does
    return (float(np.mean(shapes)) + float(np.mean(strong or trends))) / 2


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two code columns (0: independent, 1: one determines the other)."""
    table = pd.crosstab(a, b).to_numpy(dtype=float)
    n = table.sum()
    if n == 0 or min(table.shape) < 2:
        return 0.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / np.where(expected > 0, expected, 1)).sum())
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def choose_backend(table: Table | None, data: pd.DataFrame, context: pd.DataFrame | None = None, *,
                   seed: int = 0, match: float = MATCH) -> tuple[str, str]:
    """(backend, why) for a table's training rows: "copula" or "autoregressive"."""
    columns = learned_columns(table, data.columns)
    n = len(data)
    if n < SMALL_TABLE_ROWS:
        return "copula", f"{n} rows: a small table (under {SMALL_TABLE_ROWS}) is modelled by the copula"
    if not columns:
        return "copula", "no column to learn (only keys, ids and free text)"
    from pyspark_synth.models.copula import GaussianCopula

    rng = np.random.default_rng(derive_seed(seed, "auto"))
    take = np.sort(rng.choice(n, size=min(n, _PROBE_ROWS), replace=False))
    rows = data.iloc[take].reset_index(drop=True)
    ctx = context.iloc[take].reset_index(drop=True) if context is not None else None
    cut = int(len(rows) * 0.8)
    probe = GaussianCopula(table, seed=derive_seed(seed, "auto", "probe"), latent_sweeps=3)
    probe.fit(rows.iloc[:cut], context=ctx.iloc[:cut] if ctx is not None else None)
    held = rows.iloc[cut:].reset_index(drop=True)
    held_ctx = ctx.iloc[cut:].reset_index(drop=True) if ctx is not None else None
    synth = probe.sample(len(held), context=held_ctx, seed=derive_seed(seed, "auto", "sample"))
    # as alike as real rows are to other real rows? (held-out rows of a few hundred or thousand
    # score below 1 against each other too: the baseline is that agreement)
    baseline = probe_score(held, rows.iloc[: len(held)].reset_index(drop=True), columns)
    score = probe_score(held, synth, columns) / max(baseline, 1e-9)
    found = f"a copula scores {score:.3f} of the agreement between two sets of real rows"
    if score >= match:
        return "copula", f"{found} (at least {match}): the fast model is kept"
    return "autoregressive", f"{found} (below {match}): a neural model is used"
