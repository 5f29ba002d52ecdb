"""Child-count linkage: the number of children per parent, conditioned on the parent's attributes.

A regression tree on the parent's context splits parents into groups with different child-count
laws; each leaf keeps the empirical distribution of counts of its parents (zeros included). A
generated parent falls into a leaf and draws its count from that leaf's distribution by inverse CDF
with a uniform number, which the caller derives from the parent's key so draws do not depend on
partitioning. Pure numpy/pandas; serialised as JSON plus arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.errors import NotFittedError
from pyspark_synth.models.laws import CountLaw

__all__ = ["LinkageModel", "CountLaw"]


class LinkageModel:
    """Children per parent given the parent's context columns.

    Args:
        min_leaf: Fewest parents in a leaf (bigger means smoother laws).
        max_depth: Deepest split of the tree.
    """

    def __init__(self, *, min_leaf: int = 30, max_depth: int = 6) -> None:
        self.min_leaf = min_leaf
        self.max_depth = max_depth

    # ------------------------------------------------------------- encoding
    def _encode(self, context: pd.DataFrame | None, n: int) -> np.ndarray:
        cols = self.columns_
        if not cols:
            return np.zeros((n, 1))
        X = np.zeros((n, len(cols)))
        for j, c in enumerate(cols):
            s = context[c]
            enc = self.encoders_[c]
            if enc["kind"] == "num":
                v = pd.to_numeric(s if not pd.api.types.is_datetime64_any_dtype(s) else s.astype("int64"), errors="coerce")
                X[:, j] = v.fillna(enc["fill"]).to_numpy(dtype=float)
            else:
                mapping = enc["codes"]
                X[:, j] = s.astype(str).where(s.notna(), "\x00null").map(mapping).fillna(enc["fill"]).to_numpy(dtype=float)
        return X

    def _fit_encoders(self, context: pd.DataFrame | None, counts: np.ndarray) -> None:
        self.columns_ = list(context.columns) if context is not None else []
        self.encoders_ = {}
        for c in self.columns_:
            s = context[c]
            if pd.api.types.is_bool_dtype(s) or not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)):
                keys = s.astype(str).where(s.notna(), "\x00null")
                means = pd.Series(counts).groupby(keys.to_numpy()).mean().sort_values()
                codes = {k: float(i) for i, k in enumerate(means.index)}
                self.encoders_[c] = {"kind": "cat", "codes": codes, "fill": float(len(codes)) / 2}
            else:
                v = pd.to_numeric(s if not pd.api.types.is_datetime64_any_dtype(s) else s.astype("int64"), errors="coerce")
                fill = float(v.median()) if v.notna().any() else 0.0
                self.encoders_[c] = {"kind": "num", "fill": fill}

    # ------------------------------------------------------------------ fit
    def fit(self, context: pd.DataFrame | None, counts: np.ndarray) -> LinkageModel:
        """Learn child counts (one per parent, zeros included) from the parents' context."""
        from sklearn.tree import DecisionTreeRegressor

        counts = np.asarray(counts, dtype=np.int64)
        if counts.size == 0:
            raise ValueError("LinkageModel.fit needs at least one parent")
        self._fit_encoders(context, counts)
        X = self._encode(context, len(counts))
        if self.columns_ and len(counts) >= 2 * self.min_leaf:
            tree = DecisionTreeRegressor(min_samples_leaf=self.min_leaf, max_depth=self.max_depth, random_state=0)
            tree.fit(X, counts)
            t = tree.tree_
            self.left_, self.right_ = t.children_left.astype(np.int64), t.children_right.astype(np.int64)
            self.feature_, self.threshold_ = t.feature.astype(np.int64), t.threshold.astype(np.float64)
        else:
            self.left_ = self.right_ = np.array([-1], dtype=np.int64)
            self.feature_, self.threshold_ = np.array([-2], dtype=np.int64), np.array([-2.0])
        leaves = self._apply(X)
        self.laws_ = {int(leaf): CountLaw.fit(counts[leaves == leaf]) for leaf in np.unique(leaves)}
        self.global_ = CountLaw.fit(counts)
        self.fitted_ = True
        return self

    def _apply(self, X: np.ndarray) -> np.ndarray:
        node = np.zeros(len(X), dtype=np.int64)
        for _ in range(len(self.left_) + 1):
            inner = self.left_[node] != -1
            if not inner.any():
                break
            idx = np.nonzero(inner)[0]
            go_left = X[idx, self.feature_[node[idx]]] <= self.threshold_[node[idx]]
            node[idx] = np.where(go_left, self.left_[node[idx]], self.right_[node[idx]])
        return node

    # --------------------------------------------------------------- sample
    def draw(self, context: pd.DataFrame | None, u: np.ndarray) -> np.ndarray:
        """Child counts for parents with `context`, from uniforms `u` (one row per parent; a 2-D
        `u` gives one column of counts per column of uniforms)."""
        if not getattr(self, "fitted_", False):
            raise NotFittedError("This LinkageModel is not fitted yet. Call fit() first.")
        u = np.asarray(u, dtype=np.float64)
        leaves = self._apply(self._encode(context, len(u)))
        out = np.zeros(u.shape, dtype=np.int64)
        for leaf in np.unique(leaves):
            m = leaves == leaf
            out[m] = self.laws_.get(int(leaf), self.global_).draw(u[m])
        return out

    def bounds(self, context: pd.DataFrame | None, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The fewest and the most children of real parents like these (their leaf's law), per parent."""
        if not getattr(self, "fitted_", False):
            raise NotFittedError("This LinkageModel is not fitted yet. Call fit() first.")
        leaves = self._apply(self._encode(context, n))
        lo, hi = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        for leaf in np.unique(leaves):
            m = leaves == leaf
            law = self.laws_.get(int(leaf), self.global_)
            lo[m], hi[m] = law.values[0], law.values[-1]
        return lo, hi

    @property
    def mean_count(self) -> float:
        """Average children per parent in the training data."""
        return self.global_.mean

    # -------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-able state."""
        return {
            "min_leaf": self.min_leaf, "max_depth": self.max_depth, "columns": self.columns_,
            "encoders": self.encoders_, "left": self.left_.tolist(), "right": self.right_.tolist(),
            "feature": self.feature_.tolist(), "threshold": self.threshold_.tolist(),
            "laws": {str(k): v.to_dict() for k, v in self.laws_.items()}, "global": self.global_.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinkageModel:
        """Inverse of to_dict."""
        m = cls(min_leaf=d["min_leaf"], max_depth=d["max_depth"])
        m.columns_, m.encoders_ = list(d["columns"]), d["encoders"]
        m.left_, m.right_ = np.array(d["left"], dtype=np.int64), np.array(d["right"], dtype=np.int64)
        m.feature_, m.threshold_ = np.array(d["feature"], dtype=np.int64), np.array(d["threshold"], dtype=np.float64)
        m.laws_ = {int(k): CountLaw.from_dict(v) for k, v in d["laws"].items()}
        m.global_ = CountLaw.from_dict(d["global"])
        m.fitted_ = True
        return m
