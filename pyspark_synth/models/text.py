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

__all__ = ["FormatModel", "TextModel", "text_model", "text_specs"]


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
                "lengths": self.lengths_.to_dict(), "kind": "words"}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextModel:
        """Inverse of to_dict."""
        m = cls(d["column"], min_rows=d["min_rows"], max_words=d["max_words"])
        m.null_rate_ = float(d["null_rate"])
        m.words_ = list(d["words"])
        m.cumprobs_ = np.asarray(d["cumprobs"], dtype=np.float64)
        m.lengths_ = CountLaw.from_dict(d["lengths"])
        return m


# Character classes of a format: each stands for any character of its class in generated values.
_CLASSES = {"x": "0123456789abcdef", "9": "0123456789", "a": "abcdefghijklmnopqrstuvwxyz",
            "A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_CLASS_OF = {**{c: "a" for c in _CLASSES["a"]}, **{c: "A" for c in _CLASSES["A"]}, **{c: "9" for c in _CLASSES["9"]}}
_ESCAPE = "\\"


class FormatModel(TextModel):
    """Format model of a scrubbed free-text column (a hash, a mask, a custom rule's output).

    Such a column is nearly unique per row, and its values stand for a person (a hashed e-mail
    joins to the same person's rows elsewhere), so neither its values nor its words may be
    replayed. The model keeps only the values' formats: each character becomes its class (a hex
    digit when every value is lower-case hex, else a digit, a lower- or upper-case letter), other
    characters (a mask's `*`, a dash) stay as they are; formats held by fewer than `min_rows`
    rows are dropped. Generated values pick a format and fill each class with a character drawn
    from a keyed hash of (row id, position): `4ddc4ce2...` for a hash, `************4821` for a
    masked card number, never a real value.
    """

    def fit(self, values: pd.Series) -> FormatModel:
        s = pd.Series(values)
        present = s[s.notna()].astype(str)
        self.null_rate_ = float(1.0 - len(present) / len(s)) if len(s) else 1.0
        hexed = len(present) > 0 and bool(present.str.fullmatch(r"[0-9a-f]+").all())

        def shape(v: str) -> str:
            if hexed:
                return "x" * len(v)
            return "".join(_CLASS_OF.get(ch, _ESCAPE + ch if ch in _CLASSES or ch == _ESCAPE else ch) for ch in v)

        counts = present.map(shape).value_counts()
        kept = counts[counts >= self.min_rows].sort_values(ascending=False, kind="stable")[: self.max_words]
        if kept.empty and len(counts):  # every format is rare: classes only, at the most common length
            length = int(present.str.len().mode().iloc[0])
            kept = pd.Series({("x" if hexed else "a") * length: 1})
        self.words_ = [str(w) for w in kept.index]
        freq = kept.to_numpy(dtype=np.float64)
        self.cumprobs_ = np.cumsum(freq) / freq.sum() if len(freq) else np.zeros(0)
        self.lengths_ = CountLaw.fit(np.ones(1, dtype=np.int64))
        return self

    def sample(self, ids: np.ndarray, *, seed: int, label: str) -> pd.Series:
        ids = np.asarray(ids, dtype=np.int64)
        out = np.full(len(ids), None, dtype=object)
        if len(ids) == 0 or self.empty:
            return pd.Series(out, dtype=object)
        key = pd.Series(ids)
        present = np.flatnonzero(hash_uniform(seed, f"{label}/null", key) >= self.null_rate_)
        if len(present) == 0:
            return pd.Series(out, dtype=object)
        u = hash_uniform(seed, f"{label}/format", key.iloc[present])
        pick = np.minimum(np.searchsorted(self.cumprobs_, u, side="right"), len(self.words_) - 1)
        for f in np.unique(pick):
            rows = present[pick == f]
            parts = _parse_format(self.words_[f])
            grid = hash_uniform(seed, f"{label}/char", pd.DataFrame({
                "id": np.repeat(ids[rows], len(parts)), "pos": np.tile(np.arange(len(parts)), len(rows))}))
            grid = np.asarray(grid).reshape(len(rows), len(parts))
            cols = []
            for j, (literal, chars) in enumerate(parts):
                if chars is None:
                    cols.append(np.full(len(rows), literal, dtype=object))
                else:
                    cols.append(np.asarray(list(chars), dtype=object)[np.minimum((grid[:, j] * len(chars)).astype(int),
                                                                              len(chars) - 1)])
            out[rows] = ["".join(t) for t in zip(*cols, strict=True)] if cols else ""
        return pd.Series(out, dtype=object)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "kind": "format"}


def _parse_format(fmt: str) -> list[tuple[str, str | None]]:
    """A format as (literal, None) and (class, its characters) parts."""
    parts, i = [], 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == _ESCAPE and i + 1 < len(fmt):
            parts.append((fmt[i + 1], None))
            i += 2
            continue
        parts.append((ch, _CLASSES[ch]) if ch in _CLASSES else (ch, None))
        i += 1
    return parts


def text_model(state: dict[str, Any]) -> TextModel:
    """The free-text or format model of a stored state (`TextModel.to_dict`)."""
    cls = FormatModel if state.get("kind") == "format" else TextModel
    return cls.from_dict(state)


def text_specs(table: Any, data: pd.DataFrame) -> list[dict[str, Any]]:
    """Fitted models of the table's free-text columns (type `text`) in `data`: a `TextModel` of the
    shared words, or, for a column the privacy step scrubbed (hash, mask, custom), a `FormatModel`
    of its values' formats (a faked or dropped column is not in `data`)."""
    out = []
    for c in table.columns:
        if c.type != "text" or c.name not in data.columns:
            continue
        scrubbed = c.pii is not None and c.pii.action in ("hash", "mask", "custom")
        if c.pii is not None and not scrubbed:
            continue
        out.append((FormatModel if scrubbed else TextModel)(c.name).fit(data[c.name]).to_dict())
    return out
