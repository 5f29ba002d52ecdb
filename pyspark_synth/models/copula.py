"""A Gaussian copula backend: empirical marginals joined by one correlation matrix of normal scores.

Every modelled column becomes one copula variable (its value) plus, when it has some nulls, a
hidden null indicator, so nulls correlate with the other columns. Numerical and datetime columns
use an empirical quantile function (any shape: skewed, multi-modal, discrete); categorical and
boolean columns map their categories to intervals of the uniform by frequency (the idea of RDT's
FrequencyEncoder). The correlation is that of the latent normal scores: categories, ties and
nulls only bound their latent score to an interval, and a few Gibbs sweeps (Hoff's extended rank
likelihood) place it there given the other variables, so strong dependences are not washed out.
Parent context columns are extra variables (categories as standardised one-hot indicators):
sampling with a context draws the table's variables from the conditional normal given the
context's scores. Pure numpy/pandas/scipy.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from pyspark_synth.errors import DataError, MetadataError, SerializationError
from pyspark_synth.metadata import Table
from pyspark_synth.models import constraints as _constraints
from pyspark_synth.models._archive import pack, unpack
from pyspark_synth.models.base import SynthModel, register_backend
from pyspark_synth.seeds import derive_seed
from pyspark_synth.transformers.dateformats import parse_dates
from pyspark_synth.transformers.dtypes import (
    SPECIAL_VALUES,
    datetime_format,
    integer_offsets,
    read_values,
    restore_datetimes,
    restore_numbers,
    restore_values,
    special_codes,
    text_format,
)
from pyspark_synth.transformers.rare import (
    DEFAULT_RARE_THRESHOLD,
    check_rare_threshold,
    protect_rare_values,
)
from pyspark_synth.transformers.table import check_unique_columns, infer_semantic_type

__all__ = ["GaussianCopula"]

_EPS = 1e-9
_MAX_CONTEXT_CATEGORIES = 30
_MAX_CONTEXT_OTHERS = 10_000
_DT_STEPS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3)


@register_backend("gaussian_copula")
@register_backend("copula")
class GaussianCopula(SynthModel):
    """Gaussian copula over empirical marginals, optionally conditioned on parent context columns.

    Args:
        metadata: The table's metadata (column types, keys, constraints) or None to infer types.
            Columns of type 'id' or 'text' and key columns are not modelled: they are emitted as
            nulls of their dtype (nullable Int/boolean for int/bool columns) for the caller to fill.
        seed: Seed of the row sample used for fitting and of the tie-breaking in the encoders.
        max_fit_rows: Most rows used to fit (a uniform sample of them beyond that).
        n_quantiles: Resolution of the numerical and datetime marginals.
        latent_sweeps: Gibbs sweeps that estimate the latent correlation of categories, ties and
            nulls (0: the pairwise correlation of interval-uniform scores, as SDV's GaussianCopula).
        latent_rows: Rows those sweeps run on.
        context_ridge: Added to the context variables' variances when conditioning, so parent
            contexts unlike the training ones are not extrapolated.
        rare_threshold: `k` of the rare-value protection (`transformers.rare`): categorical values
            of fewer than k training rows are redrawn among the frequent values and numerical and
            datetime values are clipped to [k-th smallest, k-th largest] before the marginals are
            learned, so the stored categories and quantiles hold no rare value and no single
            record's extreme. 1 (or 0) turns it off.

        epochs: Deprecated and ignored (the copula does not train in epochs).
        batch_size: Deprecated and ignored (nor in batches).
    """

    name = "copula"
    trains_in_epochs = False
    uses_torch = False

    def __init__(self, metadata: Table | None = None, *, seed: int | None = None, max_fit_rows: int = 100_000,
                 n_quantiles: int = 1000, latent_sweeps: int = 10, latent_rows: int = 5_000,
                 context_ridge: float = 0.05, rare_threshold: int = DEFAULT_RARE_THRESHOLD,
                 epochs: int | None = None, batch_size: int | None = None) -> None:
        if epochs is not None or batch_size is not None:
            import warnings

            warnings.warn("GaussianCopula ignores epochs and batch_size (it does not train in epochs); the "
                          "arguments will be removed", DeprecationWarning, stacklevel=2)
        self.metadata = metadata
        self.seed = seed
        self.max_fit_rows = max_fit_rows
        self.n_quantiles = n_quantiles
        self.latent_sweeps = latent_sweeps
        self.latent_rows = latent_rows
        self.context_ridge = context_ridge
        self.rare_threshold = rare_threshold

    _PARAMS = ("seed", "max_fit_rows", "n_quantiles", "latent_sweeps", "latent_rows", "context_ridge",
               "rare_threshold")

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (except metadata)."""
        return {k: getattr(self, k) for k in self._PARAMS}

    # ------------------------------------------------------------------------------ fitting
    def fit(self, data: pd.DataFrame, context: pd.DataFrame | None = None, **kwargs: Any) -> GaussianCopula:
        """Learn the marginals and the correlation of normal scores of `data` (and `context`).

        Args:
            data: One row per table row.
            context: Parent context columns aligned row-wise with `data`, or None.

        Raises:
            DataError: `data` has no rows, or `context` does not have one row per data row.
        """
        if not isinstance(data, pd.DataFrame) or len(data) == 0:
            raise DataError(f"{self._where()}: fit() needs a non-empty pandas DataFrame, got "
                            f"{type(data).__name__} with {len(data) if hasattr(data, '__len__') else '?'} rows")
        check_unique_columns(data, f"{self._where()}.fit")
        if context is not None:
            check_unique_columns(context, f"{self._where()}.fit (context)")
        if context is not None and len(context) != len(data):
            raise DataError(f"{self._where()}: context has {len(context)} rows but data has {len(data)}; "
                            "context must be aligned row-wise with data (one parent row per table row)")
        rng = np.random.default_rng(self.seed)
        max_rows = int(self.max_fit_rows)
        if len(data) > max_rows:
            take = np.sort(rng.choice(len(data), size=max_rows, replace=False))
            data = data.iloc[take]
            context = context.iloc[take] if context is not None else None
        k = check_rare_threshold(self.rare_threshold, f"{self._where()}: rare_threshold")
        data, rare = protect_rare_values(data, self.metadata if isinstance(self.metadata, Table) else None,
                                         threshold=k, seed=derive_seed(self.seed or 0, "rare"))
        self.fit_report_ = {"backend": "copula", "rare_threshold": k,
                            "rare_values": {r.column: r.to_dict() for r in rare}}
        n_q = int(self.n_quantiles)
        self.vars_: list[dict[str, Any]] = []
        self.var_arrays_: list[np.ndarray] = []
        scores: list[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]] = []
        skip = self._skipped_columns()
        guides = _guides(data, {c: self._semantic(c) for c in data.columns}, skip)
        self.columns_ = [self._fit_column(data[c], self._semantic(c), c in skip, n_q, rng, scores, "table", guides)
                         for c in data.columns]
        self.n_table_vars_ = len(self.vars_)
        self.context_ = []
        if context is not None:
            self.context_ = [self._fit_column(context[c], None, False, n_q, rng, scores, "context")
                             for c in context.columns]
        self.corr_ = _latent_correlation(
            scores, self.vars_, rng, sweeps=int(self.latent_sweeps), max_rows=int(self.latent_rows))
        self.n_fit_rows_ = len(data)
        self.fitted_ = True
        return self

    def _where(self) -> str:
        name = self.metadata.name if isinstance(self.metadata, Table) else None
        return f"GaussianCopula(table '{name}')" if name else "GaussianCopula"

    def _semantic(self, col: str) -> str | None:
        if isinstance(self.metadata, Table):
            for c in self.metadata.columns:
                if c.name == col:
                    return c.type
        return None

    def _skipped_columns(self) -> set[str]:
        if not isinstance(self.metadata, Table):
            return set()
        return {c.name for c in self.metadata.columns if c.type in ("id", "text")} | self.metadata.unlearned_key_columns

    def _add_var(self, kind: str, array: np.ndarray, col: str, role: str, z: np.ndarray,
                 scores: list, bounds: tuple[np.ndarray, np.ndarray] | None = None) -> int:
        """Record a copula variable: its encoder array, its training scores (NaN = missing) and,
        for interval-censored scores (categories, ties), the bounds the latent score lies in."""
        self.vars_.append({"kind": kind, "column": col, "role": role})
        self.var_arrays_.append(np.asarray(array, dtype=np.float64))
        scores.append((z, *(bounds or (None, None))))
        return len(self.vars_) - 1

    def _fit_column(self, s: pd.Series, semantic: str | None, skip: bool, n_q: int,
                    rng: np.random.Generator, scores: list[np.ndarray], owner: str,
                    guides: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        name = str(s.name)
        key = f"{owner}.{name}"
        spec: dict[str, Any] = {"name": name, "dtype": str(s.dtype), "value_var": None, "null_var": None}
        if isinstance(s.dtype, pd.CategoricalDtype):
            spec["categories"] = [_tag(v) for v in s.dtype.categories]
            spec["ordered"] = bool(s.dtype.ordered)
        kind = infer_semantic_type(s, semantic)
        if skip or kind in ("id", "text"):
            return {**spec, "kind": "skip", "null_rate": 1.0}
        fmt = datetime_format(s) if kind == "datetime" else None  # dates as text or integers: their format
        x, null, value_type = read_values(s, kind, fmt)
        # a numerical value is finite, null, +inf or -inf: the special states keep their shares
        states = special_codes(x, null & ~np.isinf(x)) if kind == "numerical" else null.astype(np.int64)
        specials = [k for k in (1, 2, 3) if (states == k).any()]
        spec.update(kind=kind, value_type=value_type, null_rate=float((states == 1).mean()))
        if any(k > 1 for k in specials):
            spec["specials"] = [SPECIAL_VALUES[k - 1] for k in specials]
        if fmt is not None:
            spec["text_format"] = fmt
        n_present = int((states == 0).sum())
        if n_present == 0 and len(specials) <= 1:
            spec["kind"] = "empty"
            return spec
        if specials:
            if owner == "context":
                spec["null_var"] = self._add_binary(null, key, "null", scores)
            else:
                slots = np.searchsorted(np.array([0, *specials]), states)  # 0: present, i: the i-th special
                cum = np.cumsum(np.bincount(slots, minlength=1 + len(specials)) / len(slots))
                cum[-1] = 1.0
                spec["null_var"] = self._add_var("freq", cum, key, "null", _freq_scores(slots, cum, rng), scores,
                                                 _freq_bounds(slots, cum))
        if n_present == 0:
            spec["kind"] = "empty"
            return spec
        null = states != 0
        if kind in ("categorical", "boolean") and owner == "context":
            return self._fit_context_categories(spec, x, null, key, scores)
        if kind in ("categorical", "boolean"):
            present = x[~null]
            counts = present.value_counts(sort=False, dropna=True)
            order = _category_order(present, counts, ~null, guides or {}, name)
            values = list(counts.index[order])
            if len(values) == 1:
                return {**spec, "kind": "constant", "constant": _tag(values[0])}
            cum = np.cumsum(counts.to_numpy()[order]) / n_present
            cum[-1] = 1.0
            codes = np.zeros(len(null), dtype=np.int64)
            codes[~null] = pd.Index(values).get_indexer(present)
            z = _freq_scores(codes, cum, rng)
            lo, hi = _freq_bounds(codes, cum)
            z[null], lo[null], hi[null] = np.nan, -np.inf, np.inf
            spec["values"] = [_tag(v) for v in values]
            spec["value_var"] = self._add_var("freq", cum, key, "value", z, scores, (lo, hi))
            return spec
        xs = x[~null]
        if kind == "datetime":
            ints = xs
            offset = int(ints.min())
            xs = (ints - offset).astype(np.float64)
            spec["offset"] = offset
            spec["step"] = next((st for st in _DT_STEPS if not np.any(ints % st)), 1)
            if value_type in ("string", "int"):
                spec["format"] = fmt or text_format(spec["step"])
        else:
            spec["is_int"] = bool(pd.api.types.is_integer_dtype(s.dtype))
            exact = integer_offsets(s)
            if exact is not None:  # integers as exact differences from their minimum (no loss near 2**63)
                spec["int_offset"], spec["int_span"] = exact[0], exact[1]
                xs = exact[2][~null]
            spec["decimals"] = None if spec["is_int"] else _decimals(xs, rng)
        if np.all(xs == xs[0]):
            return {**spec, "kind": "constant", "constant_raw": float(xs[0])}
        q = np.quantile(xs, np.linspace(0.0, 1.0, max(2, min(n_q, len(xs)))))
        z = np.full(len(null), np.nan)
        z[~null] = _rank_scores(xs, rng)
        bounds = None
        ties = _tie_bounds(xs)
        if ties is not None:
            lo, hi = np.full(len(null), -np.inf), np.full(len(null), np.inf)
            lo[~null], hi[~null] = ties
            bounds = (lo, hi)
        spec["value_var"] = self._add_var("quantile", q, key, "value", z, scores, bounds)
        return spec

    def _add_binary(self, indicator: np.ndarray, key: str, role: str, scores: list[np.ndarray]) -> int:
        """A standardised 0/1 indicator as a variable (context only: conditioned on, never decoded)."""
        p = float(indicator.mean())
        sd = float(np.sqrt(p * (1 - p))) or 1.0
        return self._add_var("binary", np.array([p, sd]), key, role, (indicator - p) / sd, scores)

    def _fit_context_categories(self, spec: dict[str, Any], x: pd.Series, null: np.ndarray, key: str,
                                scores: list[np.ndarray]) -> dict[str, Any]:
        """Context categories as standardised one-hot indicators of the most frequent values.

        Conditioning a Gaussian on indicators is a regression on the category, so each category
        keeps its own mean of every table variable (a single interval-coded score would blur them).
        The least frequent value (and any beyond the first `_MAX_CONTEXT_CATEGORIES`) is the reference.
        """
        counts = x[~null].value_counts(sort=False)
        order = np.lexsort((np.arange(len(counts)), -counts.to_numpy()))
        ranked = list(counts.index[order])
        values = ranked[: min(_MAX_CONTEXT_CATEGORIES, len(counts) - 1)]
        rest = ranked[len(values):]
        spec["others"] = [_tag(v) for v in rest] if len(rest) <= _MAX_CONTEXT_OTHERS else None
        codes = pd.Index(values).get_indexer(x.where(~null, None)) if values else np.zeros(len(x), dtype=np.int64)
        spec["kind"] = "categorical"
        spec["values"] = [_tag(v) for v in values]
        spec["value_vars"] = [self._add_binary((codes == i).astype(np.float64), key, "category", scores)
                              for i in range(len(values))]
        return spec

    # ----------------------------------------------------------------------------- sampling
    def sample(self, num_rows: int, context: pd.DataFrame | None = None, *, seed: int | None = None,
               conditions: dict[str, Any] | None = None, enforce_constraints: bool = True,
               **kwargs: Any) -> pd.DataFrame:
        """Generate `num_rows` rows with the training columns and dtypes.

        Args:
            num_rows: Rows to generate; with `context` it must equal `len(context)`.
            context: Parent context columns, one row per output row; the rows are drawn
                conditionally on them. Unseen categories and nulls are treated as unknown.
            seed: Seed of `np.random.default_rng`; the same (num_rows, context, seed) gives the
                same rows.
            conditions: `{column: value}`: every row takes exactly that value (None means null);
                the other columns are drawn conditionally on it.
            enforce_constraints: Repair rows that break the table's constraints (when it has any).

        Raises:
            NotFittedError: The model is not fitted.
            DataError: num_rows does not match the context, a context column is missing, or a
                condition names an unknown column or a value never seen in training.
        """
        self._check_fitted()
        num_rows = int(num_rows)
        if num_rows < 0:
            raise DataError(f"{self._where()}: num_rows must be >= 0, got {num_rows}")
        if context is not None and len(context) != num_rows:
            raise DataError(f"{self._where()}: num_rows={num_rows} but context has {len(context)} rows; "
                            "with a context, sample one row per context row (num_rows=len(context))")
        rng = np.random.default_rng(seed)
        n_vars = len(self.vars_)
        known = np.zeros((num_rows, n_vars), dtype=bool)
        zk = np.zeros((num_rows, n_vars))
        fixed = self._condition_scores(conditions or {}, num_rows, rng, known, zk)
        if context is not None and self.context_:
            self._context_scores(context, rng, known, zk)
        z = self._draw(known, zk, rng)
        out = {}
        for spec in self.columns_:
            out[spec["name"]] = self._decode(spec, z)
        by_name = {spec["name"]: spec for spec in self.columns_}
        for col, value in fixed.items():
            spec = by_name[col]
            if _is_null(value):
                out[col] = _restore(np.full(num_rows, None, dtype=object), np.ones(num_rows, dtype=bool), spec)
            elif spec["kind"] == "datetime" or "constant_raw" in spec or (
                    spec["kind"] == "numerical" and spec.get("value_type") != "decimal"):
                raw = np.full(num_rows, _raw_number(spec, value, self._where()))
                out[col] = _restore_number(raw, np.zeros(num_rows, dtype=bool), spec, exact=True)
            elif spec.get("value_type") == "decimal" and not isinstance(value, decimal.Decimal):
                out[col] = _fill_like(out[col], decimal.Decimal(str(value)))
            else:
                out[col] = _fill_like(out[col], value)
        frame = pd.DataFrame(out, index=pd.RangeIndex(num_rows))
        table = self.metadata if isinstance(self.metadata, Table) else None
        if enforce_constraints and table is not None and table.constraints:
            frame = _constraints.enforce(frame, table, rng=rng)
        return frame

    def _condition_scores(self, conditions: dict[str, Any], n: int, rng: np.random.Generator,
                          known: np.ndarray, zk: np.ndarray) -> dict[str, Any]:
        by_name = {spec["name"]: spec for spec in self.columns_}
        fixed: dict[str, Any] = {}
        for col, value in conditions.items():
            spec = by_name.get(col)
            if spec is None:
                raise DataError(f"{self._where()}: condition on unknown column '{col}'. Known columns: {list(by_name)}")
            fixed[col] = value
            is_null = _is_null(value)
            nv, vv = spec.get("null_var"), spec.get("value_var")
            specials = spec.get("specials", ["null"])
            special = "null" if is_null else _special_name(value)
            if special is not None:
                if special not in specials or (special == "null" and spec["null_rate"] == 0.0):
                    what = "null" if special == "null" else special
                    raise DataError(f"{self._where()}: condition {col}={value!r}, but '{col}' was never {what} "
                                    "in training")
                if nv is not None:
                    slot = np.full(n, 1 + specials.index(special), dtype=np.int64)
                    known[:, nv], zk[:, nv] = True, _freq_scores(slot, self.var_arrays_[nv], rng)
                continue
            if spec["null_rate"] == 1.0 and spec["kind"] != "skip":
                raise DataError(f"{self._where()}: condition on '{col}', which was always null in training")
            if nv is not None:
                known[:, nv], zk[:, nv] = True, _freq_scores(np.zeros(n, dtype=np.int64), self.var_arrays_[nv], rng)
            if vv is None:
                continue
            if spec["kind"] in ("categorical", "boolean"):
                values = [_untag(v) for v in spec["values"]]
                code = pd.Index(values).get_indexer([value])[0]
                if code < 0:
                    raise DataError(f"{self._where()}: condition {col}={value!r} was never seen in training. "
                                    f"Known values: {values[:20]}{' ...' if len(values) > 20 else ''}")
                known[:, vv], zk[:, vv] = True, _freq_scores(np.full(n, code), self.var_arrays_[vv], rng)
            else:
                x = _raw_number(spec, value, self._where())
                known[:, vv] = True
                zk[:, vv] = _quantile_scores(np.full(n, x), self.var_arrays_[vv], rng)
        return fixed

    def _context_scores(self, context: pd.DataFrame, rng: np.random.Generator, known: np.ndarray,
                        zk: np.ndarray) -> None:
        missing = [c["name"] for c in self.context_ if c["name"] not in context.columns]
        if missing:
            raise DataError(f"{self._where()}: the context lacks column(s) {missing} the model was fitted with. "
                            f"Context columns given: {list(context.columns)}")
        for spec in self.context_:
            col = context[spec["name"]]
            kind = infer_semantic_type(col, "categorical" if spec["kind"] == "categorical" else None)
            x, null, _ = read_values(col, kind, spec.get("text_format") if kind == "datetime" else None)
            nv, vv = spec.get("null_var"), spec.get("value_var")
            if nv is not None:
                known[:, nv], zk[:, nv] = True, _binary_scores(null, self.var_arrays_[nv])
            if spec["kind"] == "categorical":
                values = [_untag(v) for v in spec["values"]]
                codes = pd.Index(values).get_indexer(x.where(~null, None)) if values else np.zeros(len(x), dtype=np.int64)
                # a value never seen in training is unknown: its indicators are left out (marginalised)
                others = spec["others"]
                seen = null | (codes >= 0) | (x.isin([_untag(v) for v in others]).to_numpy() if others is not None else True)
                for i, var in enumerate(spec["value_vars"]):
                    known[:, var] = seen
                    zk[seen, var] = _binary_scores(codes[seen] == i, self.var_arrays_[var])
                continue
            if vv is None:
                continue
            if kind == spec["kind"]:
                ok = ~null
                raw = (x - spec["offset"]).astype(np.float64) if kind == "datetime" else _relative(spec, col, x)
                zk[ok, vv] = _quantile_scores(raw[ok], self.var_arrays_[vv], rng)
            else:
                raise DataError(f"{self._where()}: context column '{spec['name']}' holds {context[spec['name']].dtype} "
                                f"values but the model was fitted with {spec['kind']} values ({spec['dtype']})")
            known[:, vv] = ok

    def _draw(self, known: np.ndarray, zk: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Normal scores of the table's variables, conditional on the known ones row by row."""
        n, n_vars = known.shape
        t = self.n_table_vars_
        z = np.zeros((n, n_vars))
        if n == 0 or n_vars == 0:
            return z
        if not known.any():
            patterns, inverse = np.zeros((1, n_vars), dtype=bool), np.zeros(n, dtype=np.int64)
        else:
            patterns, inverse = np.unique(known, axis=0, return_inverse=True)
            inverse = inverse.ravel()
        for p, pattern in enumerate(patterns):
            rows = np.flatnonzero(inverse == p)
            kidx = np.flatnonzero(pattern)
            tidx = np.array([i for i in range(t) if not pattern[i]], dtype=np.int64)
            z[np.ix_(rows, kidx)] = zk[np.ix_(rows, kidx)]
            if tidx.size == 0:
                continue
            s_tt = self.corr_[np.ix_(tidx, tidx)]
            noise = rng.standard_normal((rows.size, tidx.size))
            if kidx.size == 0:
                z[np.ix_(rows, tidx)] = _times(noise, _chol(s_tt))
                continue
            # Ridge on the context variables: contexts unlike any training parent (a combination of
            # parent attributes never seen together, as when a table has only a few distinct parents)
            # would otherwise be extrapolated through near-singular directions to extreme values.
            ridge = np.where(kidx >= t, float(self.context_ridge), 1e-9)
            s_kk = self.corr_[np.ix_(kidx, kidx)] + np.diag(ridge)
            s_tk = self.corr_[np.ix_(tidx, kidx)]
            a = np.linalg.solve(s_kk, s_tk.T).T
            cov = s_tt - a @ s_tk.T
            z[np.ix_(rows, tidx)] = _times(zk[np.ix_(rows, kidx)], a) + _times(noise, _chol(cov))
        return z

    def _decode(self, spec: dict[str, Any], z: np.ndarray) -> Any:
        n = z.shape[0]
        kind, nv, vv = spec["kind"], spec.get("null_var"), spec.get("value_var")
        if kind == "skip" or (kind == "empty" and "specials" not in spec):
            return _restore(np.full(n, None, dtype=object), np.ones(n, dtype=bool), spec)
        specials = spec.get("specials", ["null"])
        slot = np.zeros(n, dtype=np.int64)  # 0: a value, i: the i-th special state
        if nv is not None:
            cum = self.var_arrays_[nv]
            slot = np.minimum(np.searchsorted(cum, ndtr(z[:, nv]), side="right"), len(cum) - 1)
        elif kind == "empty":
            slot[:] = 1
        null = slot == 1 + specials.index("null") if "null" in specials else np.zeros(n, dtype=bool)
        infinite = {name: slot == 1 + specials.index(name) for name in ("inf", "-inf") if name in specials}
        if kind == "empty":
            return _restore_number(_with_infinities(np.zeros(n), infinite), null, spec)
        if kind == "constant":
            if "constant_raw" in spec:
                return _restore_number(_with_infinities(np.full(n, spec["constant_raw"]), infinite), null, spec)
            values = np.empty(n, dtype=object)
            values[:] = [_untag(spec["constant"])] * n
            return _restore(values, null, spec)
        u = np.clip(ndtr(z[:, vv]), _EPS, 1 - _EPS)
        arr = self.var_arrays_[vv]
        if kind in ("categorical", "boolean"):
            codes = np.minimum(np.searchsorted(arr, u, side="right"), len(arr) - 1)
            values = np.empty(len(spec["values"]), dtype=object)
            values[:] = [_untag(v) for v in spec["values"]]
            return _restore(values[codes], null, spec)
        x = np.interp(u, np.linspace(0.0, 1.0, len(arr)), arr)
        return _restore_number(_with_infinities(x, infinite), null, spec)

    # ------------------------------------------------------------------------- persistence
    def to_bytes(self) -> bytes:
        """The fitted model as a pickle-free archive (JSON config and float arrays)."""
        self._check_fitted()
        config = {
            "params": self.get_params(),
            "metadata": self.metadata.model_dump(mode="json") if isinstance(self.metadata, Table) else None,
            "columns": self.columns_,
            "context": self.context_,
            "vars": self.vars_,
            "n_table_vars": self.n_table_vars_,
            "n_fit_rows": self.n_fit_rows_,
        }
        arrays = {"corr": self.corr_, **{f"var{i}": a for i, a in enumerate(self.var_arrays_)}}
        return pack("copula", config, arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> GaussianCopula:
        """Rebuild a fitted model from `to_bytes()` output."""
        header, arrays = unpack(data, expected_kind="copula")
        cfg = header["config"]
        table = None
        if cfg.get("metadata") is not None:
            try:
                table = Table.model_validate(cfg["metadata"])
            except ValueError as exc:
                raise MetadataError(f"The copula archive holds invalid table metadata: {exc}") from exc
        params = dict(cfg["params"])
        # archives written before the hyper-parameters were explicit keep them in "kwargs" (and
        # carry the unused epochs / batch_size)
        params.update(params.pop("kwargs", None) or {})
        params.pop("epochs", None)
        params.pop("batch_size", None)
        unknown = sorted(set(params) - set(cls._PARAMS))
        if unknown:
            raise SerializationError(f"The copula archive holds unknown hyper-parameters {unknown}; it was written by "
                                     "another version of pyspark_synth. Refit the model.")
        model = cls(table, **params)
        model.columns_, model.context_, model.vars_ = cfg["columns"], cfg["context"], cfg["vars"]
        model.n_table_vars_, model.n_fit_rows_ = cfg["n_table_vars"], cfg["n_fit_rows"]
        model.corr_ = arrays["corr"]
        model.var_arrays_ = [arrays[f"var{i}"] for i in range(len(model.vars_))]
        model.fitted_ = True
        return model


# ---------------------------------------------------------------------------------- marginals
# a category order follows a numerical column only when the column's means per category explain
# at least this share of its variance (the correlation ratio); else categories go by frequency
_MIN_GUIDE_ETA2 = 0.02


def _guides(data: pd.DataFrame, semantics: dict[str, str | None], skip: set[str]) -> dict[str, np.ndarray]:
    """Normal scores by rank of the table's numerical and datetime columns (NaN where missing):
    what a categorical column's order of categories may follow (`_category_order`)."""
    out: dict[str, np.ndarray] = {}
    for c in data.columns:
        if c in skip:
            continue
        s = data[c]
        kind = infer_semantic_type(s, semantics.get(c))
        if kind not in ("numerical", "datetime") or isinstance(s.dtype, pd.CategoricalDtype):
            continue
        if pd.api.types.is_datetime64_any_dtype(s):
            t = s.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
            v = pd.Series(np.where(t.isna(), np.nan, t.to_numpy().astype("datetime64[ns]").astype("int64")),
                          dtype="float64")
        else:
            try:
                v = pd.to_numeric(s, errors="coerce").astype("float64")
            except (TypeError, ValueError):
                continue
        v = v.where(np.isfinite(v))
        if v.notna().sum() < 2 or v.nunique() < 2:
            continue
        r = v.rank(method="average").to_numpy()
        out[str(c)] = ndtri((r - 0.5) / v.notna().sum())
    return out


def _category_order(present: pd.Series, counts: pd.Series, mask: np.ndarray, guides: dict[str, np.ndarray],
                    name: str) -> np.ndarray:
    """The order of a categorical column's categories on the uniform (their intervals).

    A Gaussian copula keeps monotone dependence only, so categories ordered by frequency lose a
    relation such as a track's genre and its length (genre codes in no order of length). Here the
    categories follow the mean of the numerical column they explain best (the highest correlation
    ratio, at least `_MIN_GUIDE_ETA2`): that relation becomes monotone and the latent correlation
    keeps it. Without such a column (or with two categories), by frequency. Ties by frequency,
    then first appearance.
    """
    freq = -counts.to_numpy()
    first = np.arange(len(counts))
    if len(counts) <= 2 or not guides:
        return np.lexsort((first, freq))
    codes = pd.Index(counts.index).get_indexer(present)
    best, best_eta, best_means = None, _MIN_GUIDE_ETA2, None
    for col, g in guides.items():
        if col == name:
            continue
        gp = g[mask]
        ok = ~np.isnan(gp)
        if ok.sum() < 2 * len(counts):
            continue
        gv, cv = gp[ok], codes[ok]
        n_c = np.bincount(cv, minlength=len(counts)).astype(np.float64)
        sums = np.bincount(cv, weights=gv, minlength=len(counts))
        mean = gv.mean()
        means = np.where(n_c > 0, sums / np.maximum(n_c, 1), mean)
        total = float(((gv - mean) ** 2).sum())
        eta = float((n_c * (means - mean) ** 2).sum()) / total if total > 0 else 0.0
        if eta > best_eta:
            best, best_eta, best_means = col, eta, means
    if best is None:
        return np.lexsort((first, freq))
    return np.lexsort((first, freq, np.round(best_means, 12)))


def _rank_scores(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normal scores of values by rank, ties broken at random (a discrete value fills its band)."""
    order = np.lexsort((rng.random(len(x)), x))
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    return ndtri((ranks + 0.5) / len(x))


def _quantile_scores(x: np.ndarray, q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normal scores of values through a stored quantile function (values at a tie get a random band point).

    Values outside the fitted range count as the nearest fitted extreme (so a value above a tied
    maximum lands in that maximum's band, not in the far tail).
    """
    p = np.linspace(0.0, 1.0, len(q))
    x = np.clip(x, q[0], q[-1])
    lo = np.searchsorted(q, x, side="left")
    hi = np.searchsorted(q, x, side="right")
    i = np.clip(lo, 1, len(q) - 1)
    width = q[i] - q[i - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(width > 0, (x - q[i - 1]) / width, 0.5)
    u = p[i - 1] + np.clip(frac, 0.0, 1.0) * (p[i] - p[i - 1])
    tie = hi - lo > 1
    if tie.any():
        a, b = p[lo[tie]], p[hi[tie] - 1]
        u[tie] = a + rng.random(int(tie.sum())) * (b - a)
    return ndtri(np.clip(u, 1e-6, 1 - 1e-6))


def _binary_scores(indicator: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """A 0/1 indicator standardised with its training mean and standard deviation."""
    return (np.asarray(indicator, dtype=np.float64) - stats[0]) / stats[1]


def _freq_bounds(codes: np.ndarray, cum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The latent-score interval of each category code."""
    upper = cum[codes]
    lower = np.where(codes > 0, cum[np.maximum(codes - 1, 0)], 0.0)
    return ndtri(np.clip(lower, 0.0, 1.0)), ndtri(np.clip(upper, 0.0, 1.0))


def _tie_bounds(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Latent-score intervals of tied values (None when ties are too rare to matter)."""
    uniq, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    if counts.max() < max(2, 0.001 * len(x)):
        return None
    start = np.cumsum(counts) - counts
    inverse = inverse.ravel()
    return ndtri(start[inverse] / len(x)), ndtri((start + counts)[inverse] / len(x))


def _freq_scores(codes: np.ndarray, cum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normal scores of category codes: a uniform point of the category's interval."""
    codes = np.asarray(codes, dtype=np.int64)
    upper = cum[codes]
    lower = np.where(codes > 0, cum[np.maximum(codes - 1, 0)], 0.0)
    u = lower + rng.random(len(codes)) * (upper - lower)
    return ndtri(np.clip(u, 1e-6, 1 - 1e-6))


def _latent_correlation(scores: list, vars_: list[dict[str, Any]], rng: np.random.Generator, *,
                        sweeps: int, max_rows: int) -> np.ndarray:
    """The correlation of the latent normal scores (Hoff's extended rank likelihood, by Gibbs sweeps).

    A category (or a run of tied values) only tells that its latent score lies in an interval;
    drawing it uniformly there hides its dependence on the other variables and weakens every
    correlation with it. Each sweep redraws these scores (and missing ones) from their normal
    distribution given all the others, truncated to their interval, then re-estimates the
    correlation, so strongly dependent categories keep their dependence (missing scores are
    imputed the same way to draw the others, but the correlation uses observed pairs). Runs on at most
    `max_rows` rows; `sweeps=0` keeps the pairwise correlation of the initial scores.
    """
    n = len(scores[0][0]) if scores else 0
    z = np.column_stack([s[0] for s in scores]) if scores else np.zeros((n, 0))
    corr = _nearest_correlation(_pairwise_correlation(z), vars_)
    free = [j for j, s in enumerate(scores) if s[1] is not None or np.isnan(s[0]).any()]
    if sweeps <= 0 or not free or z.shape[1] < 2:
        return corr
    rows = np.sort(rng.choice(n, max_rows, replace=False)) if n > max_rows else np.arange(n)
    z = z[rows]
    lo, hi = z.copy(), z.copy()
    for j, (_, lo_j, hi_j) in enumerate(scores):
        if lo_j is not None:
            lo[:, j], hi[:, j] = lo_j[rows], hi_j[rows]
    missing = np.isnan(z)
    lo[missing], hi[missing] = -np.inf, np.inf
    z[missing] = rng.standard_normal(int(missing.sum()))
    k = z.shape[1]
    for _ in range(sweeps):
        for j in free:
            others = np.r_[0:j, j + 1:k]
            beta = np.linalg.solve(corr[np.ix_(others, others)], corr[others, j])
            sd = float(np.sqrt(max(1.0 - corr[j, others] @ beta, 1e-6)))
            mu = np.einsum("ni,i->n", z[:, others], beta)
            z[:, j] = _truncated_normal(mu, sd, lo[:, j], hi[:, j], rng)
        # imputed missing scores only help draw the others; the correlation uses observed rows
        corr = _nearest_correlation(_pairwise_correlation(np.where(missing, np.nan, z)), vars_)
    return corr


def _truncated_normal(mu: np.ndarray, sd: float, lo: np.ndarray, hi: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """Draws of N(mu, sd^2) truncated to [lo, hi] by inversion (upper tails mirrored for precision)."""
    a, b = (lo - mu) / sd, (hi - mu) / sd
    flip = a > 0
    a, b = np.where(flip, -b, a), np.where(flip, -a, b)
    pa, pb = ndtr(a), ndtr(b)
    x = ndtri(np.clip(pa + rng.random(len(mu)) * (pb - pa), 1e-300, 1 - 1e-16))
    return np.clip(mu + sd * np.where(flip, -x, x), lo, hi)


def _pairwise_correlation(z: np.ndarray) -> np.ndarray:
    """Pairwise-complete Pearson correlation of the columns of `z` (NaN = missing)."""
    k = z.shape[1]
    if k == 0:
        return np.zeros((0, 0))
    m = (~np.isnan(z)).astype(np.float64)
    z0 = np.nan_to_num(z)
    n = _gram(m, m)
    sxy = _gram(z0, z0)
    sx = _gram(z0, m)  # sx[i, j]: sum of z_i over rows where j is observed
    sxx = _gram(z0 * z0, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        nn = np.maximum(n, 1.0)
        cov = sxy / nn - (sx / nn) * (sx.T / nn)
        var_i = sxx / nn - (sx / nn) ** 2
        corr = cov / np.sqrt(var_i * var_i.T)
    return np.where(np.isfinite(corr) & (n >= 3), corr, 0.0)


def _nearest_correlation(corr: np.ndarray, vars_: list[dict[str, Any]]) -> np.ndarray:
    """A symmetric positive-definite correlation matrix close to `corr`."""
    if len(corr) == 0:
        return corr
    corr = np.clip((corr + corr.T) / 2, -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    # A column's value is unobserved exactly where its null indicator is set, so the data say
    # nothing about their correlation. Missing at random: the value and its null indicator are
    # independent given all other variables (a zero partial correlation).
    nulls = {v["column"]: i for i, v in enumerate(vars_) if v["role"] == "null"}
    pairs = [(i, nulls[v["column"]]) for i, v in enumerate(vars_) if v["role"] == "value" and v["column"] in nulls]
    if pairs:
        corr = _positive_definite(corr)
        for i, j in pairs:
            rest = np.array([k for k in range(len(corr)) if k not in (i, j)], dtype=np.int64)
            rho = 0.0
            if rest.size:
                rho = float(corr[i, rest] @ np.linalg.solve(corr[np.ix_(rest, rest)], corr[rest, j]))
            corr[i, j] = corr[j, i] = rho
    return _positive_definite(corr)


def _positive_definite(corr: np.ndarray) -> np.ndarray:
    """Raise the eigenvalues of a correlation matrix to at least 1e-4 and restore the unit diagonal."""
    w, v = np.linalg.eigh(corr)
    if w.min() >= 1e-4:
        return corr
    corr = (v * np.maximum(w, 1e-4)) @ v.T
    d = np.sqrt(np.diag(corr))
    corr = corr / np.outer(d, d)
    np.fill_diagonal(corr, 1.0)
    return corr


# Tall-matrix products use einsum's single-threaded loops: a multi-threaded BLAS call on a busy
# executor (several tasks per core) can be a hundred times slower than this.
def _gram(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a.T @ b for tall a and b."""
    return np.einsum("ni,nj->ij", a, b)


def _times(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """x @ m.T for a tall x and a small m."""
    return np.einsum("ni,ji->nj", x, m)


def _chol(cov: np.ndarray) -> np.ndarray:
    cov = (cov + cov.T) / 2
    jitter = 1e-10
    for _ in range(8):
        try:
            return np.linalg.cholesky(cov + jitter * np.eye(len(cov)))
        except np.linalg.LinAlgError:
            jitter *= 100
    w, v = np.linalg.eigh(cov)
    return v * np.sqrt(np.maximum(w, 0.0))


def _decimals(x: np.ndarray, rng: np.random.Generator) -> int | None:
    """The number of decimals (0 to 6) every value is written with, or None."""
    sample = x if len(x) <= 2000 else x[rng.choice(len(x), 2000, replace=False)]
    scale = np.maximum(np.abs(sample), 1.0)
    for d in range(7):
        if np.all(np.abs(sample - np.round(sample, d)) <= 1e-9 * scale):
            return d
    return None


def _tag(v: Any) -> list[Any]:
    """A value as a JSON-able [type, value] pair."""
    if isinstance(v, (bool, np.bool_)):
        return ["bool", bool(v)]
    if isinstance(v, (int, np.integer)):
        return ["int", int(v)]
    if isinstance(v, (float, np.floating)):
        return ["float", float(v)]
    if isinstance(v, str):
        return ["str", v]
    if isinstance(v, (pd.Timestamp, _dt.datetime, np.datetime64)):
        return ["datetime", pd.Timestamp(v).isoformat()]
    if isinstance(v, _dt.date):
        return ["date", v.isoformat()]
    if isinstance(v, decimal.Decimal):
        return ["decimal", str(v)]
    return ["str", str(v)]


def _untag(pair: list[Any]) -> Any:
    kind, v = pair
    if kind == "datetime":
        return pd.Timestamp(v)
    if kind == "date":
        return _dt.date.fromisoformat(v)
    if kind == "decimal":
        return decimal.Decimal(v)
    return v


def _is_null(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, bytes)) and np.ndim(value) == 0 and bool(pd.isna(value)))


def _raw_number(spec: dict[str, Any], value: Any, where: str) -> float:
    """A numerical or datetime condition value on the scale of the column's quantiles."""
    try:
        if "offset" in spec and spec.get("text_format"):  # dates written in the column's own format
            ts = parse_dates(pd.Series([value]), spec["text_format"]).iloc[0]
            if pd.isna(ts):
                raise ValueError(value)
            return float(ts.value - spec["offset"])
        if "offset" in spec:  # a datetime column (or a constant one)
            ts = pd.Timestamp(value)
            ts = ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
            return float(ts.as_unit("ns").value - spec["offset"])
        if spec.get("int_offset") is not None and float(value) == int(value):
            return float(int(value) - int(spec["int_offset"]))
        return float(value) - float(spec.get("int_offset") or 0)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{where}: condition {spec['name']}={value!r} does not fit the column's type "
                        f"({spec['dtype']})") from None


# ------------------------------------------------------------------------------ restoring dtypes
def _categories(spec: dict[str, Any]) -> list[Any] | None:
    return [_untag(v) for v in spec.get("categories", [])] if spec["dtype"] == "category" else None


def _restore_number(x: np.ndarray, null: np.ndarray, spec: dict[str, Any], *, exact: bool = False) -> Any:
    """Decoded float values back to the column's dtype (ints rounded, datetimes snapped to their step).

    `exact` keeps the values as given (no rounding to the column's decimals or datetime step).
    """
    if spec["kind"] == "datetime" or (spec["kind"] == "constant" and "offset" in spec):
        step = 1 if exact else spec.get("step", 1)
        ns = spec["offset"] + (np.rint(x / step) * step).astype(np.int64)
        return restore_datetimes(ns, null, spec["dtype"], value_type=spec.get("value_type"), fmt=spec.get("format"))
    return restore_numbers(x, null, spec["dtype"], is_int=bool(spec.get("is_int")),
                           decimals=None if exact else spec.get("decimals"), value_type=spec.get("value_type"),
                           offset=spec.get("int_offset"), span=spec.get("int_span"))


def _with_infinities(x: np.ndarray, infinite: dict[str, np.ndarray]) -> np.ndarray:
    """`x` with the rows drawn as +inf or -inf set to them."""
    for name, rows in infinite.items():
        x = np.where(rows, np.inf if name == "inf" else -np.inf, x)
    return x


def _special_name(value: Any) -> str | None:
    """"inf" or "-inf" for an infinite condition value, else None."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return ("inf" if v > 0 else "-inf") if np.isinf(v) else None


def _relative(spec: dict[str, Any], col: pd.Series, x: np.ndarray) -> np.ndarray:
    """Numerical values on the scale of the column's quantiles (integers as exact differences)."""
    offset = spec.get("int_offset")
    if offset is None:
        return x
    exact = integer_offsets(col.reset_index(drop=True), offset)
    return exact[2] if exact is not None else x - float(offset)


def _restore(values: np.ndarray, null: np.ndarray, spec: dict[str, Any]) -> Any:
    """Decoded object values (categories, constants, all-null columns) back to the column's dtype."""
    return restore_values(values, null, spec["dtype"], _categories(spec), bool(spec.get("ordered", False)))


def _fill_like(current: Any, value: Any) -> Any:
    """Set every row to the exact condition value, keeping the column's dtype."""
    s = pd.Series(current)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return pd.Categorical([value] * len(s), dtype=s.dtype)
    try:
        return pd.Series([value] * len(s), dtype=object).astype(s.dtype).array
    except (TypeError, ValueError):
        out = np.empty(len(s), dtype=object)
        out[:] = [value] * len(s)
        return out
