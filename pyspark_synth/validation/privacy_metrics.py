"""Privacy metrics: exact copies (Spark, full tables), distances to closest records and membership inference (bounded samples).

Exact copies: every synthetic (and holdout) row is hashed over the compared columns (two
independent 64- and 32-bit hashes, with a null flag per column so (null, 1) and (1, null)
differ) and left-semi-joined to the hashes of the real rows; key columns are left out, so a copy
with a fresh id still counts. The holdout's rate is the baseline of how often real rows repeat.

Distance to closest record (DCR): on at most `sample_rows` rows of each side (one sampling job),
numerical columns standardised with the real mean and std (nulls at 0 plus a null flag) and
categorical columns one-hot over their top categories (scaled so a mismatch counts like one
standard deviation); Euclidean nearest neighbours with scikit-learn on the driver. Synthetic
rows should be no closer to the real rows than unseen real rows (the holdout) are.

With a holdout (real rows not used for training), two more checks on equal-sized samples of the
training rows T and the holdout rows H (the larger one subsampled to the smaller's size, so a
generator that learned nothing about individual rows scores one half on both):

- DCR share: the share of synthetic rows whose closest record in T is closer than their closest
  record in H (ties count one half). A generator that memorises training rows pushes it to 1.
- Membership inference: an attacker who holds the synthetic data calls a candidate row a
  training member when it is close to a synthetic row. The score is the ROC AUC of that guess
  (minus the distance to the closest synthetic row as the score) over the candidates T (members)
  and H (non-members): 0.5 means membership cannot be told, 1.0 means every member is exposed.
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

__all__ = [
    "closer_share",
    "dcr_summary",
    "exact_copy_counts",
    "features",
    "membership_auc",
    "privacy_sample",
]


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


def privacy_sample(stacked: DataFrame, counts: list[int], sample_rows: int, seed: int, *,
                   side: str = SIDE) -> pd.DataFrame:
    """At most `sample_rows` rows of each side (the `side` column: 0, 1, ...), drawn in one job.

    Each side is kept by a Bernoulli draw a little above `sample_rows / count`, then trimmed to
    exactly `sample_rows` on the driver; rows are sorted first, so the trim does not depend on the
    order in which the partitions arrived.
    """
    import pandas as pd
    from pyspark.sql import functions as F

    frac = F.lit(0.0)
    for s, n in enumerate(counts):
        f = 1.0 if n <= sample_rows else min(1.0, 1.2 * sample_rows / n + 100.0 / n)
        frac = F.when(F.col(side) == s, F.lit(f)).otherwise(frac)
    pdf = stacked.where(F.rand(seed) < frac).toPandas()
    if len(pdf.columns) > 1:
        pdf = pdf.sort_values(list(pdf.columns), kind="mergesort", na_position="first").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    parts = []
    for s in range(len(counts)):
        part = pdf[pdf[side] == s]
        if len(part) > sample_rows:
            part = part.iloc[np.sort(rng.choice(len(part), sample_rows, replace=False))]
        parts.append(part)
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


def closer_share(d_train: np.ndarray, d_holdout: np.ndarray) -> float | None:
    """Share of rows closer to their closest training record than to their closest holdout record
    (ties count one half); None without rows."""
    if len(d_train) == 0:
        return None
    return float(np.mean(d_train < d_holdout) + 0.5 * np.mean(d_train == d_holdout))


def membership_auc(d_members: np.ndarray, d_non_members: np.ndarray) -> float | None:
    """ROC AUC of telling members from non-members by a smaller distance to the synthetic data:
    P(member closer) + P(tie) / 2 (the Mann-Whitney statistic); None when a side is empty."""
    from scipy.stats import rankdata

    n1, n2 = len(d_members), len(d_non_members)
    if n1 == 0 or n2 == 0:
        return None
    ranks = rankdata(-np.concatenate([d_members, d_non_members]))  # closer = higher score = higher rank
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n2))


def _nearest(reference: np.ndarray, queries: np.ndarray) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    if len(queries) == 0:
        return np.zeros(0)
    return NearestNeighbors(n_neighbors=1).fit(reference).kneighbors(queries, return_distance=True)[0][:, 0]


def dcr_summary(
    sample: pd.DataFrame,
    cols: list[ColumnKind],
    profile: dict[str, Any],
    freqs: list[dict[str, Any]],
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Distances to closest records of the sample rows, summarised, and with a holdout in the
    sample the DCR share and the membership-inference AUC (see the module docstring).

    Raises:
        MissingDependencyError: scikit-learn is not installed.
    """
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:  # pragma: no cover - scikit-learn is a dependency
        from pyspark_synth.errors import MissingDependencyError

        raise MissingDependencyError("scikit-learn", "The distance-to-closest-record metric") from exc
    x = features(sample, cols, profile, freqs)
    side = sample[SIDE].to_numpy()
    real = x[side == 0]
    out: dict[str, Any] = {"sample_real": int((side == 0).sum())}
    if len(real) == 0:
        return out
    dists = {}
    for s, name in ((1, "synthetic"), (2, "holdout")):
        rows = x[side == s]
        if len(rows) == 0:
            continue
        d = _nearest(real, rows)
        dists[name] = d
        out[f"dcr_{name}"] = _stats(d)
    if dists:
        hist_max = float(max(np.quantile(d, 0.99) for d in dists.values())) or 1.0
        edges = np.linspace(0.0, hist_max, 31)
        out["hist_edges"] = edges.tolist()
        for name, d in dists.items():
            counts, _ = np.histogram(np.minimum(d, hist_max), bins=edges)
            out[f"hist_{name}"] = counts.tolist()
    synth, hold = x[side == 1], x[side == 2]
    if len(hold) and len(synth):
        rng = np.random.default_rng(seed)
        m = min(len(real), len(hold))
        train_eq = real[np.sort(rng.choice(len(real), m, replace=False))] if len(real) > m else real
        hold_eq = hold[np.sort(rng.choice(len(hold), m, replace=False))] if len(hold) > m else hold
        d_train, d_hold = _nearest(train_eq, synth), _nearest(hold_eq, synth)
        out["dcr_share"] = {"share": closer_share(d_train, d_hold), "n_synthetic": int(len(synth)), "n_each": m}
        out["membership"] = {
            "auc": membership_auc(_nearest(synth, train_eq), _nearest(synth, hold_eq)),
            "n_members": m,
            "n_non_members": m,
        }
    return out
