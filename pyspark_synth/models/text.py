"""Free-text columns: words that many rows share, strung together with the column's own length law.

The table models do not learn free text (names, titles, descriptions: nearly every value is
unique). A `TextModel` keeps, per text column, only the words that occur in at least `min_rows`
distinct rows (so no rare word, and no value unique to a person, can reach the output), their
frequencies, the law of the number of words per value and the null rate. Generated values draw
their length and each word from keyed hashes of the row id, so they do not depend on partitioning.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.models.laws import CountLaw
from pyspark_synth.seeds import hash_uniform

__all__ = ["TextModel", "text_specs"]


class TextModel:
    """Word-level model of one free-text column.

    Args:
        column: The column's name.
        min_rows: A word is kept only when at least this many distinct rows contain it.
        max_words: Largest vocabulary kept (the most frequent words).
    """

    def __init__(self, column: str, *, min_rows: int = 5, max_words: int = 5000) -> None:
        self.column = column
        self.min_rows = min_rows
        self.max_words = max_words

    def fit(self, values: pd.Series) -> TextModel:
        """Learn the vocabulary, word frequencies, words-per-value law and null rate of `values`."""
        s = pd.Series(values)
        present = s[s.notna()].astype(str)
        self.null_rate_ = float(1.0 - len(present) / len(s)) if len(s) else 1.0
        tokens = present.str.split()
        lengths = tokens.str.len().to_numpy(dtype=np.int64)
        exploded = tokens.explode().dropna()
        per_row = exploded.groupby(level=0).unique().explode() if len(exploded) else exploded
        doc_freq = per_row.value_counts()
        counts = exploded.value_counts()
        keep = doc_freq[doc_freq >= self.min_rows].index
        counts = counts[counts.index.isin(keep)].sort_values(ascending=False, kind="stable")[: self.max_words]
        self.words_ = [str(w) for w in counts.index]
        freq = counts.to_numpy(dtype=np.float64)
        self.cumprobs_ = np.cumsum(freq) / freq.sum() if len(freq) else np.zeros(0)
        self.lengths_ = CountLaw.fit(np.maximum(lengths, 1)) if len(lengths) else CountLaw.fit(np.ones(1))
        return self

    @property
    def empty(self) -> bool:
        """True when no word is shared by enough rows (the column is generated as nulls)."""
        return not self.words_

    def sample(self, ids: np.ndarray, *, seed: int, label: str) -> pd.Series:
        """One value per row id (object dtype, None for nulls), fixed by (seed, label, id)."""
        ids = np.asarray(ids, dtype=np.int64)
        n = len(ids)
        out = np.full(n, None, dtype=object)
        if n == 0 or self.empty:
            return pd.Series(out, dtype=object)
        key = pd.Series(ids)
        present = hash_uniform(seed, f"{label}/null", key) >= self.null_rate_
        rows = np.flatnonzero(present)
        if len(rows) == 0:
            return pd.Series(out, dtype=object)
        lengths = np.maximum(self.lengths_.draw(hash_uniform(seed, f"{label}/length", key.iloc[rows])), 1)
        owner = np.repeat(ids[rows], lengths)
        position = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        u = hash_uniform(seed, f"{label}/word", pd.DataFrame({"id": owner, "pos": position}))
        pick = np.minimum(np.searchsorted(self.cumprobs_, u, side="right"), len(self.words_) - 1)
        words = np.asarray(self.words_, dtype=object)[pick]
        ends = np.cumsum(lengths)
        starts = ends - lengths
        out[rows] = [" ".join(words[a:b]) for a, b in zip(starts, ends, strict=True)]
        return pd.Series(out, dtype=object)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state."""
        return {"column": self.column, "min_rows": self.min_rows, "max_words": self.max_words,
                "null_rate": self.null_rate_, "words": self.words_, "cumprobs": self.cumprobs_.tolist(),
                "lengths": self.lengths_.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextModel:
        """Inverse of to_dict."""
        m = cls(d["column"], min_rows=d["min_rows"], max_words=d["max_words"])
        m.null_rate_ = float(d["null_rate"])
        m.words_ = list(d["words"])
        m.cumprobs_ = np.asarray(d["cumprobs"], dtype=np.float64)
        m.lengths_ = CountLaw.from_dict(d["lengths"])
        return m


def text_specs(table: Any, data: pd.DataFrame) -> list[dict[str, Any]]:
    """Fitted TextModel states for the table's free-text columns (type `text`, no PII rule) in `data`."""
    return [TextModel(c.name).fit(data[c.name]).to_dict() for c in table.columns
            if c.type == "text" and c.pii is None and c.name in data.columns]
