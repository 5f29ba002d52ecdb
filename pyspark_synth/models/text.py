"""Free-text columns: words that many rows share, strung together with the column's own length law.

The table models do not learn free text (names, titles, descriptions: nearly every value is
unique). A `TextModel` keeps, per text column, only the words that occur in at least `min_rows`
distinct rows (so no rare word, and no value unique to a person, can reach the output), their
frequencies, the law of the number of words per value and the null rate. Generated values draw
their length and each word from keyed hashes of the row id, so they do not depend on partitioning.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.models.laws import CountLaw, kth_bounds
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
# The letter classes are of any script: lower-case (`a`), upper-case (`A`), and letters without case
# (`L`: CJK, Arabic, Hebrew, Thai, ...); a column whose shared letters are not ASCII draws them from
# its own alphabet (`FormatModel.alphabets_`), the defaults here are for ASCII columns.
_CLASSES = {"x": "0123456789abcdef", "9": "0123456789", "a": "abcdefghijklmnopqrstuvwxyz",
            "A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "L": ""}
_LETTERS = ("a", "A", "L")
_MOST_USED = 64  # letters without case where none is shared by enough rows: the column's most used
_ESCAPE = "\\"
_RUN = "\x00"  # a run mark of a shape's parts (no character of a value)


class FormatModel(TextModel):
    """Format model of a scrubbed free-text column (a hash, a mask, a custom rule's output).

    Such a column is nearly unique per row, and its values stand for a person (a hashed e-mail
    joins to the same person's rows elsewhere), so neither its values nor its words may be
    replayed. The model keeps only the values' formats: each character becomes its class (a hex
    digit when every value is lower-case hex, else a digit, a lower- or upper-case letter), other
    characters (a mask's `*`, a dash) stay as they are; formats held by fewer than `min_rows`
    rows are dropped (letters are classes in any script; a column whose shared letters are not
    ASCII's draws from its own, `alphabets_`). Generated values pick a format and fill each class with a character drawn
    from a keyed hash of (row id, position): `4ddc4ce2...` for a hash, `************4821` for a
    masked card number, never a real value.

    Where every exact format is rare (names of a table of 60: `Aaaaaa Aaaaaaaa` with each length
    its own), the formats are coarsened to their shapes, each run of one class a single mark
    (`Aa+ Aa+`, `(9+) 9+-9+`), and the shapes of at least `min_rows` rows kept; each run's length
    is then drawn from that class's run lengths in the column, winsorised to the `min_rows`-th
    smallest and largest (no single value's length is kept). Only where no shape is shared by
    enough rows does the model fall back to one class at the most common length.
    """

    def fit(self, values: pd.Series) -> FormatModel:
        s = pd.Series(values)
        present = s[s.notna()].astype(str)
        self.null_rate_ = float(1.0 - len(present) / len(s)) if len(s) else 1.0
        hexed = len(present) > 0 and bool(present.str.fullmatch(r"[0-9a-f]+").all())

        counts = present.map(_hex_format if hexed else _format_of).value_counts()
        kept = counts[counts >= self.min_rows].sort_values(ascending=False, kind="stable")[: self.max_words]
        self.alphabets_: dict[str, str] | None = None if hexed else _alphabets(present, self.min_rows)
        self.runs_: dict[str, CountLaw] | None = None
        self.words_per_value_: CountLaw | None = None
        if kept.empty and len(counts) and not hexed:  # every format is rare: their shapes, runs as one mark
            shapes = present.map(_shape_of).value_counts()
            kept = shapes[shapes >= self.min_rows].sort_values(ascending=False, kind="stable")[: self.max_words]
            if kept.empty:  # every value's shape is rare too: its words' shapes, strung together
                tokens = present.str.split()
                words = tokens.explode().dropna().map(_shape_of)
                rows = words.groupby(level=0).unique().explode() if len(words) else words
                shared = rows.value_counts()
                keep = shared[shared >= self.min_rows].index
                kept = words[words.isin(keep)].value_counts().sort_values(ascending=False, kind="stable")[: self.max_words]
                if not kept.empty:
                    self.words_per_value_ = CountLaw.fit(_winsorised(tokens.str.len().to_numpy(dtype=np.int64),
                                                                     self.min_rows))
            if not kept.empty:
                self.runs_ = _run_laws(present, self.min_rows)
        if kept.empty and len(counts):  # no shape shared either: the commonest class, at the most common length
            length = int(present.str.len().mode().iloc[0])
            kept = pd.Series({("x" if hexed else _commonest_class(present)) * length: 1})
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
        words = np.asarray(self.words_, dtype=object)
        if self.words_per_value_ is None:  # one format (or shape) a value
            u = hash_uniform(seed, f"{label}/format", key.iloc[present])
            pick = np.minimum(np.searchsorted(self.cumprobs_, u, side="right"), len(words) - 1)
            for f in np.unique(pick):
                rows = present[pick == f]
                out[rows] = self._render(words[f], pd.DataFrame({"id": ids[rows]}), seed=seed, label=label)
            return pd.Series(out, dtype=object)
        # words' shapes: as many as each value's drawn number of words, each rendered, joined by spaces
        n = np.maximum(self.words_per_value_.draw(hash_uniform(seed, f"{label}/length", key.iloc[present])), 1)
        owner = np.repeat(ids[present], n)
        position = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        occurrences = pd.DataFrame({"id": owner, "word": position})
        u = hash_uniform(seed, f"{label}/word", occurrences)
        pick = np.minimum(np.searchsorted(self.cumprobs_, u, side="right"), len(words) - 1)
        text = np.empty(len(pick), dtype=object)
        for f in np.unique(pick):
            at = np.flatnonzero(pick == f)
            text[at] = self._render(words[f], occurrences.iloc[at].reset_index(drop=True), seed=seed, label=label)
        ends = np.cumsum(n)
        out[present] = [" ".join(text[a:b]) for a, b in zip(ends - n, ends, strict=True)]
        return pd.Series(out, dtype=object)

    def _render(self, fmt: str, key: pd.DataFrame, *, seed: int, label: str) -> np.ndarray:
        """Values of format (or shape) `fmt`, one per row of `key` (the rows' key columns): each
        class filled with a character of a keyed hash of (key, position), each run mark with as
        many as its length drawn from the class's run law."""
        parts = _parse_format(fmt, runs=self.runs_ is not None, alphabets=self.alphabets_)
        keep: list[np.ndarray | None] = [None] * len(parts)
        if self.runs_ is not None:
            parts, keep = self._spread(parts, key, seed=seed, label=label)
        n = len(key)
        if self.runs_ is None:  # one keyed hash per (row, position), as formats always drew
            grid = hash_uniform(seed, f"{label}/char", pd.DataFrame(
                {**{c: np.repeat(key[c].to_numpy(), len(parts)) for c in key.columns},
                 "pos": np.tile(np.arange(len(parts)), n)}))
            grid = np.asarray(grid).reshape(n, len(parts))
        else:  # a shape's many characters: one keyed hash per row, its positions mixed from it
            grid = _positions(np.asarray(hash_uniform(seed, f"{label}/chars", key)), len(parts))
        cols = []
        for j, (literal, chars) in enumerate(parts):
            if chars is None:
                col = np.full(n, literal, dtype=object)
            else:
                col = np.asarray(list(chars), dtype=object)[np.minimum((grid[:, j] * len(chars)).astype(int),
                                                                       len(chars) - 1)]
            if keep[j] is not None:
                col = np.where(keep[j], col, "")
            cols.append(col)
        out = np.empty(n, dtype=object)
        out[:] = ["".join(t) for t in zip(*cols, strict=True)] if cols else ""
        return out

    def _spread(self, parts: list[tuple[str, str | None]], key: pd.DataFrame, *, seed: int,
                label: str) -> tuple[list[tuple[str, str | None]], list[np.ndarray | None]]:
        """A shape's parts with each run mark spread into the most characters any row draws for
        it, and per part the rows that keep it (None: every row)."""
        out: list[tuple[str, str | None]] = []
        keep: list[np.ndarray | None] = []
        for j, (literal, chars) in enumerate(parts):
            if literal != _RUN:
                out.append((literal, chars))
                keep.append(None)
                continue
            cls = out[-1][0]  # the run's class: its first character is the part before the mark
            extra = np.maximum(self.runs_[cls].draw(hash_uniform(seed, f"{label}/run{j}", key)), 2) - 1
            for i in range(int(extra.max()) if len(extra) else 0):
                out.append((cls, (self.alphabets_ or {}).get(cls) or _CLASSES[cls]))
                keep.append(extra > i)
        return out, keep

    def to_dict(self) -> dict[str, Any]:
        out = {**super().to_dict(), "kind": "format"}
        if self.runs_ is not None:
            out["runs"] = {c: law.to_dict() for c, law in self.runs_.items()}
        if self.words_per_value_ is not None:
            out["words_per_value"] = self.words_per_value_.to_dict()
        if self.alphabets_:
            out["alphabets"] = dict(self.alphabets_)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FormatModel:
        m = super().from_dict(d)
        m.runs_ = {c: CountLaw.from_dict(v) for c, v in d["runs"].items()} if d.get("runs") else None
        m.words_per_value_ = CountLaw.from_dict(d["words_per_value"]) if d.get("words_per_value") else None
        m.alphabets_ = dict(d["alphabets"]) if d.get("alphabets") else None
        return m


def _parse_format(fmt: str, *, runs: bool = False, alphabets: dict[str, str] | None = None
                  ) -> list[tuple[str, str | None]]:
    """A format as (literal, None) and (class, its characters) parts (the column's `alphabets`
    where it has its own); with `runs` (a shape), a `+` after a class is a run mark, `(_RUN, None)`."""
    parts: list[tuple[str, str | None]] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == _ESCAPE and i + 1 < len(fmt):
            parts.append((fmt[i + 1], None))
            i += 2
            continue
        if runs and ch == "+" and parts and parts[-1][1] is not None:
            parts.append((_RUN, None))
        else:
            parts.append((ch, (alphabets or {}).get(ch) or _CLASSES[ch]) if ch in _CLASSES else (ch, None))
        i += 1
    return parts


_ASCII_TOKEN = re.compile(r"[a-z]+|[A-Z]+|[0-9]+|.", re.DOTALL)
_ASCII_CLASS = {**{c: "a" for c in _CLASSES["a"]}, **{c: "A" for c in _CLASSES["A"]}, **{c: "9" for c in _CLASSES["9"]}}

_ASCII_FORMAT = str.maketrans({**_ASCII_CLASS, _ESCAPE: _ESCAPE + _ESCAPE})


def _class_of(ch: str) -> str | None:
    """A character's class: `9` for an ASCII digit, `a` / `A` for a lower- / upper-case letter and
    `L` for a letter without case, of any script; None for any other character (a literal)."""
    if "0" <= ch <= "9":
        return "9"
    if not ch.isalpha():
        return None
    return "a" if ch.islower() else "A" if ch.isupper() else "L"


def _tokens(v: str) -> list[tuple[str | None, str]]:
    """A value as (class, run) for each longest run of one character class (`_class_of`) and
    (None, character) for each other character: the one reading that formats, shapes and run
    laws are made from."""
    if v.isascii():  # the classes of ASCII characters, by one regex (the same reading, faster)
        return [(_ASCII_CLASS.get(m.group()[0]), m.group()) for m in _ASCII_TOKEN.finditer(v)]
    out: list[tuple[str | None, str]] = []
    for cls, chars in itertools.groupby(v, _class_of):
        run = "".join(chars)
        if cls is None:
            out.extend((None, ch) for ch in run)
        else:
            out.append((cls, run))
    return out


def _alphabets(present: pd.Series, k: int) -> dict[str, str] | None:
    """The letters a column's classes are drawn from, where its own are not ASCII's: per letter
    class, its letters found in at least `k` rows, when one of them is not an ASCII letter (a
    German column keeps its umlauts, a Cyrillic or Greek one its script); letters without case
    (CJK, Arabic) where none is in `k` rows: the column's most used ones. None: an ASCII column
    (the default alphabets)."""
    wide = present[~present.map(str.isascii)]
    if not len(wide):
        return None
    rows = present.map(set).explode().dropna()
    rows = rows[rows.map(lambda ch: _class_of(ch) in _LETTERS)].value_counts()
    if rows.empty or all(ch.isascii() for ch in rows.index):
        return None
    out: dict[str, str] = {}
    for cls in _LETTERS:
        mine = rows[rows.index.map(_class_of) == cls]
        shared = sorted(mine[mine >= k].index)
        if cls == "L" and not shared and len(mine):
            shared = sorted(mine.sort_values(ascending=False, kind="stable").index[:_MOST_USED])
        if shared and (cls == "L" or not all(ch.isascii() for ch in shared)):
            out[cls] = "".join(shared)
    return out or None


def _literal(ch: str, special: str = "") -> str:
    """A character that stands for itself in a format, escaped where it would read as a class
    (or as one of `special`)."""
    return _ESCAPE + ch if ch in _CLASSES or ch == _ESCAPE or ch in special else ch


def _hex_format(v: str) -> str:
    """The exact format of a value of a lower-case hex column: one hex digit per character."""
    return "x" * len(v)


def _format_of(v: str) -> str:
    """A value's exact format: each character's class, other characters as they are."""
    if v.isascii():
        return v.translate(_ASCII_FORMAT)
    return "".join(cls * len(t) if cls else _literal(t) for cls, t in _tokens(v))


def _shape_of(v: str) -> str:
    """A value's shape: each character's class (`FormatModel`), a run of two or more of one class
    written as the class and `+`; other characters as they are (`+` and the class letters escaped)."""
    return "".join((cls + "+" if len(t) > 1 else cls) if cls else _literal(t, "+") for cls, t in _tokens(v))


def _run_laws(present: pd.Series, k: int) -> dict[str, CountLaw]:
    """Per character class, the law of its runs' lengths in `present`, winsorised to the k-th
    smallest and largest run (no single value's run length is kept)."""
    lengths: dict[str, list[int]] = {c: [] for c in ("a", "A", "L", "9")}
    for v in present:
        for cls, t in _tokens(v):
            if cls and len(t) > 1:  # a run mark stands for two or more
                lengths[cls].append(len(t))
    return {cls: CountLaw.fit(_winsorised(np.asarray(values, dtype=np.int64), k))
            for cls, values in lengths.items() if values}


def _positions(u: np.ndarray, width: int) -> np.ndarray:
    """`width` uniforms in [0, 1) per uniform of `u` (rows x width), each a splitmix64 mix of the
    row's and the position's bits: as fixed by the row's keyed hash as the hash itself."""
    with np.errstate(over="ignore"):
        x = (u * float(1 << 53)).astype(np.uint64)[:, None] + \
            (np.arange(1, width + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))[None, :]
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _commonest_class(present: pd.Series) -> str:
    """The character class most characters of `present` are in (lower-case letters on a tie or
    where none is)."""
    chars = pd.Series(list("".join(present))).map(_class_of).value_counts()
    return str(chars.index[0]) if len(chars) and chars.iloc[0] > chars.get("a", 0) else "a"


def _winsorised(x: np.ndarray, k: int) -> np.ndarray:
    """`x` clipped to its k-th smallest and k-th largest value (its median where it has fewer than
    2k - 1 values), as rare-value protection clips a numerical column."""
    if not len(x):
        return x
    order = np.sort(x)
    lo, hi = kth_bounds(len(x), k)
    return np.clip(x, order[lo], order[hi])


def text_model(state: dict[str, Any]) -> TextModel:
    """The free-text or format model of a stored state (`TextModel.to_dict`)."""
    cls = FormatModel if state.get("kind") == "format" else TextModel
    return cls.from_dict(state)


def text_specs(table: Any, data: pd.DataFrame) -> list[dict[str, Any]]:
    """Fitted models of the table's free-text columns (type `text`) in `data`: a `TextModel` of the
    shared words, or, for a column the privacy step scrubbed (hash, mask, custom), a `FormatModel`
    of its values' formats (a faked or dropped column is not in `data`). A column none of whose
    words is shared by enough rows (a company name on each row of a small table) gets a
    `FormatModel` too: its values' shapes, not nulls where the real column has values."""
    out = []
    for c in table.columns:
        if c.type != "text" or c.name not in data.columns:
            continue
        scrubbed = c.pii is not None and c.pii.action in ("hash", "mask", "custom")
        if c.pii is not None and not scrubbed:
            continue
        model = (FormatModel if scrubbed else TextModel)(c.name).fit(data[c.name])
        if model.empty and data[c.name].notna().any():
            model = FormatModel(c.name).fit(data[c.name])
        out.append(model.to_dict())
    return out
