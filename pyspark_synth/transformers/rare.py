"""Rare-value protection of the training rows: no category of fewer than k rows, no single record's extreme.

`protect_rare_values` rewrites a table's training rows before a backend learns them (the copula and
CTGAN call it in `fit`; the autoregressive codecs do the same inside their encoding, see
`models._ar_codecs`; `training.train_table` calls it for a user's backend that does not say it
protects rare values itself). With threshold `k`:

- Categorical columns: a value held by fewer than `k` rows is never kept. Its rows get a value
  drawn among the frequent values (those of at least `k` rows), in proportion to their counts
  (seeded), so the column keeps its dtype and its frequent values keep their shares. A text
  column without any frequent value (names in a small table) gets random text of its common
  formats (character classes, formats of fewer than `k` rows dropped, coarsened to shapes such
  as `Aa+ Aa+` where every exact format is rare: `models.text.FormatModel`);
  another column without any frequent value comes back null. A rare value is also removed from a categorical
  dtype's categories. Booleans are not touched (their two values are public).
- Numerical and datetime columns (dates written as text or integers included): values below the
  k-th smallest present value are replaced by that value, values above the k-th largest by that
  one (winsorising). The smallest and largest values a model sees are then each held by at least
  `k` rows, so no single record's extreme is stored or generated; a column with fewer than `k`
  present values comes back null. Infinite values and nulls keep their rows.
- Key columns (primary and foreign keys) and columns the models do not learn (`id`, `text`) are
  left alone: keys are made from row ids, free text has its own word model (`models.text`, which
  drops words of fewer than 5 rows).

The report says, per column, how many values and rows were changed (counts only, never values).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pyspark_synth.errors import DataError
from pyspark_synth.models.laws import kth_bounds
from pyspark_synth.seeds import derive_seed
from pyspark_synth.transformers.dtypes import datetime_format, nullable, read_values
from pyspark_synth.transformers.table import infer_semantic_type

if TYPE_CHECKING:
    from pyspark_synth.metadata import Table

__all__ = ["DEFAULT_RARE_THRESHOLD", "RareColumn", "check_rare_threshold", "protect_rare_values", "rare_notes"]

# Rows a categorical value (or the extreme of a numeric column) must have to be learned as it is:
# the free-text model's `min_rows` (models.text) and the autoregressive backend's default.
DEFAULT_RARE_THRESHOLD = 5


@dataclass(frozen=True)
class RareColumn:
    """What rare-value protection changed in one column (counts only).

    Attributes:
        column: The column.
        rare_values: Categorical values held by fewer than k rows (replaced).
        rare_rows: Rows that held them.
        clipped_low: Rows below the k-th smallest value (set to it).
        clipped_high: Rows above the k-th largest value (set to it).
        nulled: Rows set to null (no frequent value, or fewer than k present values).
    """

    column: str
    rare_values: int = 0
    rare_rows: int = 0
    clipped_low: int = 0
    clipped_high: int = 0
    nulled: int = 0
    reshaped: int = 0

    def to_dict(self) -> dict[str, int]:
        """The non-zero counts."""
        return {k: v for k, v in (("rare_values", self.rare_values), ("rare_rows", self.rare_rows),
                                  ("clipped_low", self.clipped_low), ("clipped_high", self.clipped_high),
                                  ("nulled", self.nulled), ("reshaped", self.reshaped)) if v}

    def describe(self) -> str:
        """A short readable account, e.g. "3 value(s) of fewer than k rows (4 row(s)) never generated"."""
        parts = []
        if self.rare_values:
            parts.append(f"{self.rare_values} value(s) of fewer than k rows ({self.rare_rows} row(s)) never "
                         "generated")
        if self.clipped_low or self.clipped_high:
            parts.append(f"{self.clipped_low} row(s) below the k-th smallest and {self.clipped_high} above the k-th "
                         "largest value clipped to them")
        if self.nulled:
            parts.append(f"{self.nulled} row(s) set to null (no value held by k rows)")
        if self.reshaped:
            parts.append(f"{self.reshaped} row(s) given random text of the column's common formats (no value held "
                         "by k rows)")
        return "; ".join(parts)


def check_rare_threshold(value: Any, where: str) -> int:
    """The threshold as an int >= 1 (None and 0 turn protection off, which is 1).

    Raises:
        DataError: Not a whole number of 0 or more.
    """
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise DataError(f"{where}: the rare-value threshold must be a whole number of rows (0 or None turns "
                         f"rare-value protection off), got {value!r}")
    return max(1, int(value))


def protect_rare_values(
    data: pd.DataFrame,
    metadata: Table | None = None,
    *,
    threshold: int | None = DEFAULT_RARE_THRESHOLD,
    seed: int = 0,
    skip: Collection[str] = (),
) -> tuple[pd.DataFrame, list[RareColumn]]:
    """The training rows with rare categories redrawn and numeric tails clipped (see the module).

    Args:
        data: The training rows.
        metadata: The table's metadata (declared types; its key columns are skipped).
        threshold: `k`; 0, 1 or None return `data` unchanged.
        seed: Seed of the redraws (one stream per column).
        skip: More columns to leave alone.

    Returns:
        (the protected rows, one `RareColumn` per column that changed).
    """
    k = check_rare_threshold(threshold, "protect_rare_values")
    if k <= 1 or not len(data):
        return data, []
    declared: dict[str, str | None] = {}
    leave = set(skip)
    if metadata is not None:
        declared = {c.name: c.type for c in metadata.columns}
        leave |= set(metadata.key_columns)
    out = data.copy() if isinstance(data, pd.DataFrame) else data
    found: list[RareColumn] = []
    for col in data.columns:
        name = str(col)
        if name in leave:
            continue
        series = data[col].reset_index(drop=True)
        kind = infer_semantic_type(series, declared.get(name))
        if kind == "categorical":
            new, info = _categorical(series, k, derive_seed(seed, "rare", name))
        elif kind in ("numerical", "datetime"):
            new, info = _numeric(series, kind, k)
        else:
            continue
        if info is not None:
            new.index = data.index
            out[col] = new
            found.append(RareColumn(name, **info))
    return out, found


def _categorical(s: pd.Series, k: int, seed: int) -> tuple[pd.Series, dict[str, int] | None]:
    vals = s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype) else s
    isna = vals.isna().to_numpy()
    counts = vals[~isna].value_counts(sort=True)
    counts = counts[counts > 0]
    rare = counts[counts < k]
    if not len(rare):
        return s, None
    frequent = counts[counts >= k]
    hit = (~isna) & vals.isin(rare.index).to_numpy()
    n_hit = int(hit.sum())
    out = s.copy()
    if isinstance(out.dtype, pd.CategoricalDtype):
        out = out.cat.remove_categories([v for v in rare.index if v in out.cat.categories])
    if len(frequent):
        rng = np.random.default_rng(seed)
        p = frequent.to_numpy(dtype=np.float64)
        draws = np.asarray(frequent.index)[rng.choice(len(frequent), size=n_hit, p=p / p.sum())]
        out.iloc[np.flatnonzero(hit)] = draws  # values of the column itself: its dtype is kept
        return out, {"rare_values": len(rare), "rare_rows": n_hit}
    if all_strings(vals[~isna]):
        # no value held by k rows (names in a table of 60): values of the column's common
        # formats with random characters (`models.text.FormatModel`, formats of fewer than k
        # rows dropped), so the column keeps its nulls, lengths and character classes, and no
        # real value, instead of coming back null
        from pyspark_synth.models.text import FormatModel

        model = FormatModel("rare", min_rows=k).fit(vals[~isna].astype(str))
        fakes = model.sample(np.flatnonzero(hit), seed=seed, label="rare formats").to_numpy()
        out = out.astype(object)
        out.iloc[np.flatnonzero(hit)] = fakes
        return out, {"rare_values": len(rare), "rare_rows": n_hit, "reshaped": n_hit}
    out = out.astype(nullable(out.dtype)) if isinstance(out.dtype, np.dtype) else out
    out = out.mask(pd.Series(hit))
    return out, {"rare_values": len(rare), "rare_rows": n_hit, "nulled": n_hit}


def all_strings(present: pd.Series) -> bool:
    """True when every present value is a string (a categorical dtype's fixed categories are not)."""
    if isinstance(present.dtype, pd.CategoricalDtype) or not len(present):
        return False
    return bool(present.map(lambda v: isinstance(v, str)).all())


def _sort_key(s: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(a key that orders the present values, mask of present finite values)."""
    if kind == "datetime":
        fmt = None if pd.api.types.is_datetime64_any_dtype(s.dtype) else datetime_format(s)
        x, null, _ = read_values(s, "datetime", fmt)
        return np.asarray(x), ~np.asarray(null)
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu":
        return s.to_numpy(), np.ones(len(s), dtype=bool)  # exact for integers near 2**63
    x, null, _ = read_values(s, "numerical")
    return x, ~null


def _numeric(s: pd.Series, kind: str, k: int) -> tuple[pd.Series, dict[str, int] | None]:
    key, present = _sort_key(s, kind)
    idx = np.flatnonzero(present)
    n = len(idx)
    if n == 0:
        return s, None
    if n < k:  # too few values to hide among: none is learned
        out = s.astype(nullable(s.dtype)) if isinstance(s.dtype, np.dtype) else s.copy()
        return out.mask(pd.Series(present)), {"nulled": n}
    order = idx[np.argsort(key[idx], kind="stable")]
    lo_row, hi_row = (int(order[i]) for i in kth_bounds(n, k))
    low = present & (key < key[lo_row])
    high = present & (key > key[hi_row])
    if not low.any() and not high.any():
        return s, None
    out = s.copy()
    if low.any():
        out.iloc[np.flatnonzero(low)] = s.iloc[lo_row]
    if high.any():
        out.iloc[np.flatnonzero(high)] = s.iloc[hi_row]
    return out, {"clipped_low": int(low.sum()), "clipped_high": int(high.sum())}


def rare_notes(table: str, found: list[RareColumn], k: int) -> tuple[str, ...]:
    """One fit-report note per protected column (counts, never values)."""
    return tuple(f"table '{table}': rare-value protection (k={k}) on '{r.column}': {r.describe()}" for r in found)
