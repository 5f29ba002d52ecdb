"""Choosing a child table's parent context by measured dependence (mutual information).

A child's rows are generated conditioned on some of its driving parent's columns (the context),
and the parent's number of children is drawn given the same columns. Which columns matter is a
property of the data, not of their types: a parent's signup date may decide its orders' amounts,
while five of its categorical columns decide nothing. `rank_context` scores every usable parent
column by its normalised mutual information with each child column (on child rows joined to their
parent) and with the number of children (on parents), corrected for the bias of a finite sample
by the same score after shuffling the parent column, and keeps those that carry information.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pyspark_synth.seeds import derive_seed

__all__ = ["COUNT_TARGET", "PARENT", "ContextScore", "discretise", "normalised_mi", "rank_context"]

COUNT_TARGET = "__count"  # the children per parent, as a target of the parent-level sample
PARENT = "__parent"  # which parent a child row belongs to (its key, or a hash of it)
_BINS = 10  # quantile bins of a numeric or datetime column
_TOP = 30  # most frequent categories kept (the rest are one bin)
_MIN_SCORE = 0.02  # bias-corrected normalised MI below which a column is not context
_REDUNDANT = 0.9  # normalised MI with a chosen parent column at which a grandparent's column adds nothing


@dataclass(frozen=True)
class ContextScore:
    """How much a parent column tells about the child.

    Attributes:
        column: The parent column.
        score: The largest bias-corrected normalised mutual information over the targets (the
            value less the largest of five with the parent column shuffled over parents).
        target: The child column (or `COUNT_TARGET`) that score is with.
    """

    column: str
    score: float
    target: str


def discretise(values: pd.Series) -> np.ndarray:
    """Integer codes of a column for mutual information: quantile bins of numbers and datetimes,
    the most frequent categories of others; nulls are a code of their own."""
    s = pd.Series(values).reset_index(drop=True)
    null = s.isna().to_numpy()
    out = np.full(len(s), -1, dtype=np.int64)
    if null.all():
        return out
    present = s[~null]
    if pd.api.types.is_datetime64_any_dtype(present.dtype):
        present = present.astype("int64")
    if pd.api.types.is_bool_dtype(present.dtype):
        present = present.astype(np.int64)
    if pd.api.types.is_numeric_dtype(present.dtype) and present.nunique() > _BINS:
        ranks = present.rank(method="average", pct=True).to_numpy()
        out[~null] = np.minimum((ranks * _BINS).astype(np.int64), _BINS - 1)
        return out
    text = present.astype(str)
    top = text.value_counts().index[:_TOP]
    codes = pd.Categorical(text, categories=top).codes.astype(np.int64)
    out[~null] = np.where(codes < 0, len(top), codes)
    return out


def normalised_mi(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information of two code arrays over the smaller of their entropies (0..1)."""
    if len(a) == 0:
        return 0.0
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    joint = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(joint, (ai, bi), 1.0)
    joint /= joint.sum()
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    ha = -np.sum(pa[pa > 0] * np.log(pa[pa > 0]))
    hb = -np.sum(pb[pb > 0] * np.log(pb[pb > 0]))
    if min(ha, hb) <= 0:
        return 0.0
    nz = joint > 0
    mi = float(np.sum(joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])))
    return max(0.0, mi / min(ha, hb))


_SHUFFLES = 5


def _corrected(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, groups: np.ndarray | None = None) -> float:
    """normalised_mi(x, y) less the largest of its values with `x` shuffled (the finite-sample
    bias and its spread). With `groups` (each row's parent), whole parents are shuffled: a parent
    column is constant over a parent's children, so shuffling rows would understate the bias."""
    if groups is None:
        shuffled = [rng.permutation(x) for _ in range(_SHUFFLES)]
    else:
        first = np.unique(groups, return_index=True, return_inverse=True)
        index, inverse = first[1], first[2]
        per_parent = x[index]
        shuffled = [rng.permutation(per_parent)[inverse] for _ in range(_SHUFFLES)]
    return normalised_mi(x, y) - max(normalised_mi(s, y) for s in shuffled)


def rank_context(rows: pd.DataFrame, parents: pd.DataFrame | None, candidates: Sequence[str],
                 targets: Sequence[str], *, limit: int = 8, min_score: float = _MIN_SCORE,
                 seed: int = 0, inherited: Sequence[str] = (),
                 redundant: float = _REDUNDANT) -> tuple[tuple[str, ...], list[ContextScore]]:
    """The parent columns that carry information about the child, best first.

    A grandparent's column (one of `inherited`) enters like a parent's, by its own score, unless
    the parent already carries it: a normalised mutual information of at least `redundant` with a
    parent column chosen before it (a copy, or a function of it) leaves it out.

    Args:
        rows: Child rows joined to their parent: the `targets` and the `candidates` columns, and
            `PARENT` (which parent each row belongs to) where known.
        parents: One row per parent: the `candidates` and `COUNT_TARGET` (its number of
            children), or None.
        candidates: Usable parent columns.
        targets: The child's modelled columns.
        limit: Most columns chosen.
        min_score: Smallest bias-corrected normalised mutual information that counts.
        seed: Seed of the shuffles that measure the bias.
        inherited: The candidates that are the grandparent's columns (joined onto the parents).
        redundant: Normalised mutual information with a chosen parent column above which an
            inherited column adds nothing.

    Returns:
        (chosen columns, every candidate's score, best first).
    """
    rng = np.random.default_rng(derive_seed(seed, "context"))
    coded_rows = {c: discretise(rows[c]) for c in [*candidates, *targets] if c in rows.columns}
    groups = pd.factorize(rows[PARENT])[0] if PARENT in rows.columns else None
    coded_parents = ({c: discretise(parents[c]) for c in [*candidates, COUNT_TARGET] if c in parents.columns}
                     if parents is not None and len(parents) else {})
    scores = []
    for c in candidates:
        best = ContextScore(c, 0.0, "")
        for t in targets:
            if c in coded_rows and t in coded_rows and t != c:
                s = _corrected(coded_rows[c], coded_rows[t], rng, groups)
                if s > best.score:
                    best = ContextScore(c, s, t)
        if c in coded_parents and COUNT_TARGET in coded_parents:
            s = _corrected(coded_parents[c], coded_parents[COUNT_TARGET], rng)
            if s > best.score:
                best = ContextScore(c, s, COUNT_TARGET)
        scores.append(best)
    scores.sort(key=lambda s: (-s.score, list(candidates).index(s.column)))
    inherited_set = set(inherited)
    chosen: list[str] = []
    for s in scores:
        if s.score < min_score or len(chosen) >= limit:
            continue
        if s.column in inherited_set and s.column in coded_rows and any(
                normalised_mi(coded_rows[s.column], coded_rows[c]) >= redundant
                for c in chosen if c not in inherited_set and c in coded_rows):
            continue
        chosen.append(s.column)
    return tuple(chosen), scores
