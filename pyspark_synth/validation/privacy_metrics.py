"""Privacy metrics: exact copies of real rows (Spark, full tables) and distance to closest record (bounded sample).

Exact copies: every synthetic (and holdout) row is hashed over the compared columns (two
independent 64- and 32-bit hashes, with a null flag per column so (null, 1) and (1, null)
differ) and left-semi-joined to the hashes of the real rows; key columns are left out, so a copy
with a fresh id still counts. The holdout's rate is the baseline of how often real rows repeat.

Distance to closest record (DCR): on at most `sample_rows` rows of each side (one sampling job),
numerical columns standardised with the real mean and std (nulls at 0 plus a null flag) and
categorical columns one-hot over their top categories (scaled so a mismatch counts like one
standard deviation); Euclidean nearest real neighbour with scikit-learn on the driver. Synthetic
rows should be no closer to the real rows than unseen real rows (the holdout) are.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from pyspark_synth.validation.kinds import ColumnKind
from pyspark_synth.validation.metrics import SIDE, ref

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

__all__ = ["dcr_summary", "exact_copy_counts", "features", "privacy_sample"]


def exact_copy_counts(stacked: DataFrame, ncols: int) -> dict[int, int]:
    """{side: rows of that side (1 synthetic, 2 holdout) equal to some real row}, over full tables."""
    from pyspark.sql import functions as F

    cols = [F.col(ref(i)) for i in range(ncols)]
    flags = [F.col(ref(i)).isNull() for i in range(ncols)]
    hashed = stacked.select(
        F.col(SIDE), F.xxhash64(*cols, *flags).alias("h1"), F.hash(*flags, *cols).alias("h2")
    )
    real = hashed.where(F.col(SIDE) == 0).select("h1", "h2")
    rows = (
        hashed.where(F.col(SIDE) > 0)
        .join(real, on=["h1", "h2"], how="left_semi")
        .groupBy(SIDE)
        .count()
        .collect()
    )
    return {int(r[SIDE]): int(r["count"]) for r in rows}


def privacy_sample(stacked: DataFrame, counts: list[int], sample_rows: int, seed: int) -> pd.DataFrame:
    """At most `sample_rows` rows of each side, drawn in one job (Bernoulli, then trimmed)."""
    from pyspark.sql import functions as F

    frac = F.lit(0.0)
    for side, n in enumerate(counts):
        f = 1.0 if n <= sample_rows else min(1.0, 1.2 * sample_rows / n + 100.0 / n)
        frac = F.when(F.col(SIDE) == side, F.lit(f)).otherwise(frac)
    pdf = stacked.where(F.rand(seed) < frac).toPandas()
    rng = np.random.default_rng(seed)
    parts = []
    for side in range(len(counts)):
        part = pdf[pdf[SIDE] == side]
        if len(part) > sample_rows:
            part = part.iloc[np.sort(rng.choice(len(part), sample_rows, replace=False))]
        parts.append(part)
    import pandas as pd

    return pd.concat(parts, ignore_index=True)


def features(
    sample: pd.DataFrame, cols: list[ColumnKind], profile: dict[str, Any], freqs: list[dict[str, Any]], *, top_k: int = 20
) -> np.ndarray:
    """The sample as a numeric matrix: standardised numbers (+ null flags), scaled one-hot categories."""
    blocks = []
    for i, c in enumerate(cols):
        x = sample[ref(i)]
        if c.is_numeric:
            prof = profile["columns"][i]
            mean = prof["mean"][0] or 0.0
            std = prof["std"][0] or 0.0
            std = std if std and math.isfinite(std) and std > 0 else 1.0
            v = (x.astype("float64").to_numpy() - mean) / std
            isnull = np.isnan(v)
            blocks.append(np.where(isnull, 0.0, v)[:, None])
            if isnull.any():
                blocks.append(isnull.astype("float64")[:, None])
        else:
            top = [v for v, nr, _ in freqs[i].get("categories", []) if v is not None and nr > 0][:top_k]
            index = {v: n for n, v in enumerate(top)}
            codes = np.array(
                [len(top) + 1 if v is None or (isinstance(v, float) and math.isnan(v)) else index.get(v, len(top)) for v in x]
            )
            onehot = np.zeros((len(x), len(top) + 2))
            onehot[np.arange(len(x)), codes] = 1.0 / math.sqrt(2.0)
            blocks.append(onehot)
    if not blocks:
        return np.zeros((len(sample), 0))
    return np.hstack(blocks)


def _stats(d: np.ndarray) -> dict[str, Any]:
    if len(d) == 0:
        return {"n": 0, "median": None, "p05": None, "mean": None, "zero_share": None}
    return {
        "n": int(len(d)),
        "median": float(np.median(d)),
        "p05": float(np.quantile(d, 0.05)),
        "mean": float(np.mean(d)),
        "zero_share": float(np.mean(d <= 1e-12)),
    }


def dcr_summary(
    sample: pd.DataFrame, cols: list[ColumnKind], profile: dict[str, Any], freqs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Distances to the closest real record of the synthetic and holdout sample rows, summarised.

    Raises:
        MissingDependencyError: scikit-learn is not installed.
    """
    try:
        from sklearn.neighbors import NearestNeighbors
    except ImportError as exc:  # pragma: no cover - scikit-learn is a dependency
        from pyspark_synth.errors import MissingDependencyError

        raise MissingDependencyError("scikit-learn", "The distance-to-closest-record metric") from exc
    x = features(sample, cols, profile, freqs)
    side = sample[SIDE].to_numpy()
    real = x[side == 0]
    out: dict[str, Any] = {"sample_real": int((side == 0).sum())}
    if len(real) == 0:
        return out
    nn = NearestNeighbors(n_neighbors=1).fit(real)
    hist_max = None
    dists = {}
    for s, name in ((1, "synthetic"), (2, "holdout")):
        rows = x[side == s]
        if len(rows) == 0:
            continue
        d = nn.kneighbors(rows, return_distance=True)[0][:, 0]
        dists[name] = d
        out[f"dcr_{name}"] = _stats(d)
    if dists:
        hist_max = float(max(np.quantile(d, 0.99) for d in dists.values())) or 1.0
        edges = np.linspace(0.0, hist_max, 31)
        out["hist_edges"] = edges.tolist()
        for name, d in dists.items():
            counts, _ = np.histogram(np.minimum(d, hist_max), bins=edges)
            out[f"hist_{name}"] = counts.tolist()
    return out
