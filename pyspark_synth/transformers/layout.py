"""Index arithmetic over a span layout: data <-> activation layout, and CTGAN's training-by-sampling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pyspark_synth.transformers.base import Span

__all__ = ["Layout", "ConditionalSampler"]


class Layout:
    """Offsets of each span in the encoded data matrix and in the network's activation matrix.

    The data matrix stores an embedding span as one index column; the activation matrix stores
    it as `dim` columns (one-hot or probabilities). All other spans have the same width in both.

    Args:
        spans: The layout from `TableTransformer.spans`.
    """

    def __init__(self, spans: Sequence[Span]) -> None:
        self.spans = list(spans)
        self.act_offsets: list[int] = []
        self.data_offsets: list[int] = []
        a = d = 0
        src, dst = [], []
        for s in self.spans:
            self.act_offsets.append(a)
            self.data_offsets.append(d)
            if s.kind != "embedding":
                src.extend(range(d, d + s.dim))
                dst.extend(range(a, a + s.dim))
            a += s.dim
            d += s.data_dim
        self.act_dim, self.data_dim = a, d
        self._src = np.asarray(src, dtype=np.int64)
        self._dst = np.asarray(dst, dtype=np.int64)
        self.discrete = [i for i, s in enumerate(self.spans) if s.is_discrete]
        self.softmax = [i for i, s in enumerate(self.spans) if s.activation == "softmax"]

    def to_activation(self, data: np.ndarray) -> np.ndarray:
        """Data-layout rows to activation layout (embedding indexes become one-hots)."""
        out = np.zeros((len(data), self.act_dim), dtype=np.float32)
        out[:, self._dst] = data[:, self._src]
        rows = np.arange(len(data))
        for i, s in enumerate(self.spans):
            if s.kind == "embedding":
                idx = data[:, self.data_offsets[i]].astype(np.int64)
                out[rows, self.act_offsets[i] + idx] = 1.0
        return out

    def codes(self, data: np.ndarray) -> np.ndarray:
        """Category index of every discrete span for each data row, shape (rows, n_discrete)."""
        out = np.zeros((len(data), len(self.discrete)), dtype=np.int64)
        for j, i in enumerate(self.discrete):
            s, off = self.spans[i], self.data_offsets[i]
            out[:, j] = data[:, off].astype(np.int64) if s.kind == "embedding" else np.argmax(
                data[:, off:off + s.dim], axis=1)
        return out

    def from_choices(self, scalars: np.ndarray, choices: np.ndarray) -> np.ndarray:
        """Build data-layout rows from tanh values (per tanh span) and chosen indexes (per softmax span).

        Args:
            scalars: (rows, n_tanh_spans) values in [-1, 1], in span order.
            choices: (rows, n_softmax_spans) category indexes, in span order.
        """
        n = len(choices) if choices.size else len(scalars)
        out = np.zeros((n, self.data_dim), dtype=np.float32)
        rows = np.arange(n)
        t = c = 0
        for i, s in enumerate(self.spans):
            off = self.data_offsets[i]
            if s.activation == "tanh":
                out[:, off] = scalars[:, t]
                t += 1
            else:
                if s.kind == "embedding":
                    out[:, off] = choices[:, c]
                else:
                    out[rows, off + choices[:, c]] = 1.0
                c += 1
        return out


class ConditionalSampler:
    """CTGAN's conditional vector and training-by-sampling, vectorised with NumPy.

    A training row is drawn by picking a discrete column uniformly, a category of it with
    probability proportional to log(1 + frequency), and then a real row holding that category.

    Args:
        layout: The table's layout.
        codes: `layout.codes(data)` of the training rows, or None when only `counts` are known
            (a loaded model: it can build conditional vectors but not draw training rows).
        counts: Per discrete column, the count of each category (padded), used when `codes` is None.
    """

    def __init__(self, layout: Layout, codes: np.ndarray | None, counts: np.ndarray | None = None) -> None:
        self.layout = layout
        self._codes = codes
        self.n_rows = len(codes) if codes is not None else 0
        dims = [layout.spans[i].dim for i in layout.discrete]
        self.n_cats = np.asarray(dims, dtype=np.int64)
        self.cond_offsets = np.concatenate([[0], np.cumsum(dims)])[:-1].astype(np.int64) if dims else np.zeros(0, np.int64)
        self.cond_dim = int(sum(dims))
        k = len(dims)
        width = max(dims) if dims else 1
        if codes is not None:
            counts = np.zeros((k, width), dtype=np.float64)
            for j in range(k):
                counts[j, : dims[j]] = np.bincount(codes[:, j], minlength=dims[j])[: dims[j]]
        self.counts = np.asarray(counts, dtype=np.float64).reshape(k, width)
        logf = np.log1p(counts)
        self._log_cum = np.cumsum(logf / np.maximum(logf.sum(1, keepdims=True), 1e-12), axis=1)
        self._freq_cum = np.cumsum(counts / np.maximum(counts.sum(1, keepdims=True), 1e-12), axis=1)
        self._starts = np.concatenate([np.zeros((k, 1)), np.cumsum(counts, axis=1)[:, :-1]], axis=1).astype(np.int64)
        idx_dtype = np.int32 if self.n_rows < 2**31 else np.int64
        self._order = (np.stack([np.argsort(codes[:, j], kind="stable").astype(idx_dtype) for j in range(k)])
                       if k and codes is not None else None)

    @property
    def n_discrete(self) -> int:
        """Number of discrete columns the conditional vector covers."""
        return len(self.n_cats)

    def _pick(self, cum: np.ndarray, col: np.ndarray, u: np.ndarray) -> np.ndarray:
        cat = (cum[col] < u[:, None]).sum(axis=1)
        return np.minimum(cat, self.n_cats[col] - 1)

    def cond_vector(self, col: np.ndarray, cat: np.ndarray) -> np.ndarray:
        """One-hot conditional vectors; rows with col < 0 get an all-zero vector."""
        out = np.zeros((len(col), self.cond_dim), dtype=np.float32)
        on = col >= 0
        out[np.flatnonzero(on), self.cond_offsets[col[on]] + cat[on]] = 1.0
        return out

    def sample_train(self, batch: int, rng: np.random.Generator, drop_rate: float = 0.0,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Draw (cond vectors, column, category, real row index) for one training batch.

        With `drop_rate` > 0 that share of rows gets no condition (a zero vector) and a uniformly
        drawn real row; for those rows the returned category is the real row's own category in the
        drawn column, so the generator's cross-entropy teaches it to follow the context alone.
        """
        if self.n_discrete == 0:
            col = np.full(batch, -1, dtype=np.int64)
            return np.zeros((batch, 0), np.float32), col, col.copy(), rng.integers(self.n_rows, size=batch)
        col = rng.integers(self.n_discrete, size=batch)
        cat = self._pick(self._log_cum, col, rng.random(batch))
        count = self.counts[col, cat].astype(np.int64)
        pos = self._starts[col, cat] + np.minimum((rng.random(batch) * count).astype(np.int64), count - 1)
        rows = self._order[col, pos].astype(np.int64)
        if drop_rate > 0:
            drop = rng.random(batch) < drop_rate
            rows = np.where(drop, rng.integers(self.n_rows, size=batch), rows)
            cat = np.where(drop, self._codes[rows, col], cat)
            return self.cond_vector(np.where(drop, -1, col), cat), col, cat, rows
        return self.cond_vector(col, cat), col, cat, rows

    def sample_original(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(column, category) drawn with the data's own frequencies, for unconditional sampling."""
        if self.n_discrete == 0:
            col = np.full(n, -1, dtype=np.int64)
            return col, col.copy()
        col = rng.integers(self.n_discrete, size=n)
        return col, self._pick(self._freq_cum, col, rng.random(n))
