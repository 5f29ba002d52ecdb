"""Column constraints on generated rows: repair violations (`enforce`) and count them (`check`).

Pure pandas/numpy. Repairs keep dtypes (ints stay ints, datetimes keep their unit and time zone)
and leave nulls alone; they change as few values as they can and draw replacement values from the
rows that already satisfy the rule, so the marginals stay realistic.

Constraint bounds (`min`, `max`) may be ints, floats or strings. For datetime columns a string is
parsed as an ISO timestamp (a naive one is read in the column's time zone) and a number is read as
Unix epoch seconds. For numeric columns a string must hold a number.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.errors import ConstraintError
from pyspark_synth.metadata import Constraint, Table

__all__ = ["enforce", "check"]

_NAT = np.iinfo(np.int64).min


# ----------------------------------------------------------------------------- public API
def enforce(df: pd.DataFrame, table: Table | None, *, rng: np.random.Generator) -> pd.DataFrame:
    """Return `df` with every constraint of `table` satisfied (a copy when something changes).

    Order of repairs: allowed values, then min/max clipping of every column, then the
    greater_than / greater_or_equal relations (a column's reference column is repaired first).
    A violating relation sets the column to its reference plus a gap drawn from the gaps of the
    rows that satisfy it (capped at the column's max); nulls on either side are left as they are.

    Args:
        df: The rows to repair.
        table: The table whose `constraints` apply; None or no constraints returns `df` unchanged.
        rng: The random generator that draws replacement values and gaps.

    Raises:
        ConstraintError: A constrained column (or its reference column) is not in `df`, a bound
            cannot be read for the column's type, or two related columns cannot be compared.
    """
    if table is None or not table.constraints:
        return df
    _validate(df, table)
    out = df.copy()
    cons = table.constraints
    for col, con in cons.items():
        if con.allowed_values is not None:
            out[col] = _enforce_allowed(out[col], con.allowed_values, rng, _where(table, col))
    for col, con in cons.items():
        if con.min is not None or con.max is not None:
            view = _View.of(out[col])
            lo, hi = _bounds(view, con, _where(table, col))
            view.clip(lo, hi)
            out[col] = view.restore()
    for col in _relation_order(cons):
        con = cons[col]
        for other, strict in ((con.greater_than, True), (con.greater_or_equal, False)):
            if other is not None:
                _enforce_relation(out, table, col, other, strict=strict, rng=rng)
    return out


def check(df: pd.DataFrame, table: Table | None) -> dict[str, int]:
    """Count the rows that violate each constraint of `table` (nulls never count).

    Returns:
        `{"<col>.min": n, "<col>.max": n, "<col>.greater_than.<other>": n,
        "<col>.greater_or_equal.<other>": n, "<col>.allowed_values": n}` for the constraints set.

    Raises:
        ConstraintError: A constrained column is missing from `df` or a bound cannot be read.
    """
    if table is None or not table.constraints:
        return {}
    _validate(df, table)
    counts: dict[str, int] = {}
    for col, con in table.constraints.items():
        where = _where(table, col)
        if con.min is not None or con.max is not None:
            view = _View.of(df[col])
            lo, hi = _bounds(view, con, where)
            ok = ~view.null
            if con.min is not None:
                counts[f"{col}.min"] = int(np.sum(ok & _lt(view.values, lo)))
            if con.max is not None:
                counts[f"{col}.max"] = int(np.sum(ok & _lt(hi, view.values)))
        for other, strict, label in ((con.greater_than, True, "greater_than"), (con.greater_or_equal, False, "greater_or_equal")):
            if other is None:
                continue
            a, b = _pair(df[col], df[other], where, other)
            both = ~a.null & ~b.null
            bad = _le(a.values, b.values) if strict else _lt(a.values, b.values)
            counts[f"{col}.{label}.{other}"] = int(np.sum(both & bad))
        if con.allowed_values is not None:
            allowed = _coerce_allowed(df[col], con.allowed_values, where)
            s = df[col]
            counts[f"{col}.allowed_values"] = int((s.notna() & ~s.isin(allowed)).sum())
    return counts


# ----------------------------------------------------------------------------- validation
def _where(table: Table, col: str) -> str:
    return f"Constraint on '{table.name}.{col}'"


def _validate(df: pd.DataFrame, table: Table) -> None:
    known = list(df.columns)
    for col, con in table.constraints.items():
        needed = [col] + [c for c in (con.greater_than, con.greater_or_equal) if c is not None]
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise ConstraintError(
                f"{_where(table, col)}: column(s) {missing} are not in the data of table '{table.name}'. "
                f"Known columns: {known}. Fix the constraint or the data."
            )


def _relation_order(cons: dict[str, Constraint]) -> list[str]:
    """Columns with relations, each after the columns it references (cycles keep the given order)."""
    deps = {
        col: [o for o in (c.greater_than, c.greater_or_equal) if o is not None and o in cons and o != col]
        for col, c in cons.items()
        if c.greater_than is not None or c.greater_or_equal is not None
    }
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(col: str) -> None:
        state[col] = 1
        for dep in deps.get(col, []):
            if dep in deps and state.get(dep) is None:
                visit(dep)
        state[col] = 2
        order.append(col)

    for col in deps:
        if col not in state:
            visit(col)
    return order


# ----------------------------------------------------------------------------- column views
@dataclass
class _View:
    """A column as comparable values plus a null mask, and a way back to the original dtype.

    kind: "int" (int64 values), "float" (float64), "datetime" (int64 ns since the epoch, UTC)
    or "other" (object values compared with Python operators).
    """

    kind: str
    values: np.ndarray
    null: np.ndarray
    _back: Callable[[np.ndarray, np.ndarray], pd.Series]
    tz: Any = None

    def restore(self) -> pd.Series:
        return self._back(self.values, self.null)

    def clip(self, lo: Any, hi: Any) -> None:
        ok = ~self.null
        if lo is not None:
            self.values = np.where(ok & _lt(self.values, lo), lo, self.values).astype(self.values.dtype)
        if hi is not None:
            self.values = np.where(ok & _lt(hi, self.values), hi, self.values).astype(self.values.dtype)

    @classmethod
    def of(cls, s: pd.Series) -> _View:
        dtype = s.dtype
        index, name = s.index, s.name
        null = s.isna().to_numpy()
        if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
            tz = getattr(dtype, "tz", None)
            naive = s.dt.tz_convert("UTC").dt.tz_localize(None) if tz is not None else s
            ints = naive.astype("datetime64[ns]").to_numpy().view(np.int64).copy()

            def back_dt(v: np.ndarray, nl: np.ndarray) -> pd.Series:
                v = np.where(nl, _NAT, v).view("datetime64[ns]")
                out = pd.Series(v, index=index, name=name)
                if tz is not None:
                    out = out.dt.tz_localize("UTC").dt.tz_convert(tz)
                return out.astype(dtype)

            return cls("datetime", ints, null, back_dt, tz)
        if pd.api.types.is_bool_dtype(dtype):
            return cls._other(s, null)
        if pd.api.types.is_integer_dtype(dtype):
            ints = s.to_numpy(dtype=np.int64, na_value=0)

            def back_int(v: np.ndarray, nl: np.ndarray) -> pd.Series:
                if isinstance(dtype, np.dtype):
                    return pd.Series(v.astype(dtype), index=index, name=name)
                arr = pd.array(v.astype(dtype.numpy_dtype), dtype=dtype)
                arr[nl] = pd.NA
                return pd.Series(arr, index=index, name=name)

            return cls("int", ints, null, back_int)
        if pd.api.types.is_float_dtype(dtype):
            floats = s.to_numpy(dtype=np.float64, na_value=np.nan)

            def back_float(v: np.ndarray, nl: np.ndarray) -> pd.Series:
                v = np.where(nl, np.nan, v)
                if isinstance(dtype, np.dtype):
                    return pd.Series(v.astype(dtype), index=index, name=name)
                out = pd.Series(v, index=index, name=name).astype(dtype)
                out[nl] = pd.NA
                return out

            return cls("float", floats, null, back_float)
        if pd.api.types.is_object_dtype(dtype):
            present = s[~null]
            if len(present) and all(isinstance(x, _dt.date) for x in present):
                return cls._object_dates(s, null)
        return cls._other(s, null)

    @classmethod
    def _other(cls, s: pd.Series, null: np.ndarray) -> _View:
        dtype, index, name = s.dtype, s.index, s.name
        vals = s.to_numpy(dtype=object).copy()

        def back(v: np.ndarray, nl: np.ndarray) -> pd.Series:
            out = pd.Series(v, index=index, name=name, dtype=object)
            try:
                return out.astype(dtype)
            except (TypeError, ValueError):
                return out

        return cls("other", vals, null, back)

    @classmethod
    def _object_dates(cls, s: pd.Series, null: np.ndarray) -> _View:
        """Python date/datetime objects (as Spark DateType arrives in pandas)."""
        index, name = s.index, s.name
        present = s[~null]
        only_dates = all(type(x) is _dt.date for x in present)
        tz = next((x.tzinfo for x in present if isinstance(x, _dt.datetime) and x.tzinfo is not None), None)
        conv = pd.to_datetime(s, utc=tz is not None)
        ints = conv.dt.tz_convert("UTC").dt.tz_localize(None) if tz is not None else conv
        ints = ints.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()

        def back(v: np.ndarray, nl: np.ndarray) -> pd.Series:
            ts = pd.Series(np.where(nl, _NAT, v).view("datetime64[ns]"), index=index, name=name)
            if tz is not None:
                ts = ts.dt.tz_localize("UTC").dt.tz_convert(tz)
            objs = ts.dt.date if only_dates else pd.Series(ts.dt.to_pydatetime(), index=index, name=name, dtype=object)
            objs = objs.astype(object)
            objs[nl] = None
            return objs

        return cls("datetime", ints, null, back, tz)


def _lt(a: Any, b: Any) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray(np.less(a, b), dtype=bool) if _numeric(a, b) else _obj_cmp(a, b, "lt")


def _le(a: Any, b: Any) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray(np.less_equal(a, b), dtype=bool) if _numeric(a, b) else _obj_cmp(a, b, "le")


def _numeric(a: Any, b: Any) -> bool:
    return all(np.asarray(x).dtype != object for x in (a, b))


def _obj_cmp(a: Any, b: Any, op: str) -> np.ndarray:
    """Element-wise comparison of object values; pairs that cannot be compared count as False."""
    a_arr, b_arr = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
    out = np.zeros(a_arr.shape, dtype=bool)
    for i, (x, y) in enumerate(zip(a_arr.ravel(), b_arr.ravel(), strict=True)):
        try:
            out.flat[i] = bool(x < y) if op == "lt" else bool(x <= y)
        except TypeError:
            out.flat[i] = False
    return out


# ----------------------------------------------------------------------------- bounds
def _bounds(view: _View, con: Constraint, where: str) -> tuple[Any, Any]:
    return _bound(view, con.min, where, "min", up=True), _bound(view, con.max, where, "max", up=False)


def _bound(view: _View, value: Any, where: str, what: str, *, up: bool) -> Any:
    if value is None:
        return None
    if view.kind == "datetime":
        return _to_ns(value, view.tz, where, what)
    if view.kind in ("int", "float"):
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise ConstraintError(
                f"{where}: {what}={value!r} is not a number, but the column is numeric. Use a number."
            ) from None
        if view.kind == "int":
            return int(math.ceil(x) if up else math.floor(x))
        return x
    return value


def _to_ns(value: Any, tz: Any, where: str, what: str) -> int:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            ts = pd.Timestamp(value, unit="s", tz="UTC")
        else:
            ts = pd.Timestamp(value)
            if ts.tzinfo is None:
                ts = ts.tz_localize(tz) if tz is not None else ts.tz_localize("UTC")
    except (TypeError, ValueError) as exc:
        raise ConstraintError(
            f"{where}: {what}={value!r} is not a timestamp ({exc}). Use an ISO string such as "
            "'2024-01-31' or '2024-01-31T12:00:00', or Unix epoch seconds."
        ) from None
    return int(ts.tz_convert("UTC").as_unit("ns").value)


# ----------------------------------------------------------------------------- allowed values
def _coerce_allowed(s: pd.Series, allowed: list[Any], where: str) -> list[Any]:
    """The allowed values converted to the column's type, so `isin` compares like with like."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    try:
        if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
            tz = getattr(dtype, "tz", None)
            return [pd.Timestamp(_to_ns(v, tz, where, "allowed_values"), tz="UTC").tz_convert(tz) if tz is not None
                    else pd.Timestamp(_to_ns(v, None, where, "allowed_values")) for v in allowed]
        if pd.api.types.is_bool_dtype(dtype):
            return [_to_bool(v) for v in allowed]
        if pd.api.types.is_integer_dtype(dtype):
            return [int(float(v)) for v in allowed if float(v) == int(float(v))]
        if pd.api.types.is_float_dtype(dtype):
            return [float(v) for v in allowed]
    except (TypeError, ValueError):
        raise ConstraintError(
            f"{where}: allowed_values {allowed!r} do not all fit the column's type {s.dtype}. "
            "Give values of the column's type."
        ) from None
    return list(allowed)


def _to_bool(v: Any) -> bool:
    if isinstance(v, str):
        if v.strip().lower() in ("true", "1", "yes"):
            return True
        if v.strip().lower() in ("false", "0", "no"):
            return False
        raise ValueError(v)
    return bool(v)


def _enforce_allowed(s: pd.Series, allowed: list[Any], rng: np.random.Generator, where: str) -> pd.Series:
    values = _coerce_allowed(s, allowed, where)
    if not values:
        raise ConstraintError(f"{where}: none of allowed_values {allowed!r} fits the column's type {s.dtype}")
    bad = (s.notna() & ~s.isin(values)).to_numpy()
    n_bad = int(bad.sum())
    if n_bad == 0:
        return s
    good = s[s.notna().to_numpy() & ~bad]
    pool = good.to_numpy(dtype=object) if len(good) else np.asarray(values + [None], dtype=object)[:-1]
    picks = pool[rng.integers(0, len(pool), size=n_bad)]
    out = s.copy()
    if isinstance(out.dtype, pd.CategoricalDtype):
        new = [v for v in pd.unique(picks) if v not in out.cat.categories]
        if new:
            out = out.cat.add_categories(new)
    else:
        try:
            picks = pd.Series(list(picks), dtype=object).astype(out.dtype).array
        except (TypeError, ValueError):
            out = out.astype(object)
    out.iloc[np.flatnonzero(bad)] = picks
    return out


# ----------------------------------------------------------------------------- relations
def _pair(a: pd.Series, b: pd.Series, where: str, other: str) -> tuple[_View, _View]:
    va, vb = _View.of(a), _View.of(b)
    numeric = {"int", "float"}
    if va.kind == vb.kind or (va.kind in numeric and vb.kind in numeric):
        return va, vb
    raise ConstraintError(
        f"{where}: cannot compare column '{a.name}' ({a.dtype}) with '{other}' ({b.dtype}). "
        "Both columns of a greater_than / greater_or_equal constraint must be numbers, or both timestamps."
    )


def _enforce_relation(df: pd.DataFrame, table: Table, col: str, other: str, *, strict: bool,
                      rng: np.random.Generator) -> None:
    where = _where(table, col)
    a, b = _pair(df[col], df[other], where, other)
    both = ~a.null & ~b.null
    bad = both & (_le(a.values, b.values) if strict else _lt(a.values, b.values))
    if not bad.any():
        return
    if a.kind == "other":
        # no arithmetic on these values: swap the pair (a tie under a strict rule cannot be repaired)
        swap = bad & _lt(a.values, b.values)
        av, bv = a.values.copy(), b.values.copy()
        a.values[swap], b.values[swap] = bv[swap], av[swap]
        df[col], df[other] = a.restore(), b.restore()
        return
    con = table.constraints[col]
    lo, hi = _bounds(a, con, where)
    exact = a.kind in ("int", "datetime") and b.kind in ("int", "datetime")
    av = a.values if exact else a.values.astype(np.float64)
    bv = b.values if exact else b.values.astype(np.float64)
    good = both & ~bad
    n_bad = int(bad.sum())
    gaps = (av[good] - bv[good]) if good.any() else None
    if gaps is not None and len(gaps):
        gap = gaps[rng.integers(0, len(gaps), size=n_bad)]
    else:
        scale = np.nanstd(np.concatenate([av[~a.null], bv[~b.null]]).astype(np.float64))
        base = 0.1 * scale if np.isfinite(scale) and scale > 0 else 1.0
        gap = rng.uniform(0.5, 1.5, size=n_bad) * base
        if exact:
            gap = np.maximum(np.round(gap).astype(np.int64), 1)
    ref = bv[bad]
    cand = ref + gap
    if a.kind == "int":
        cand = np.floor(cand)
        cand = np.maximum(cand, np.floor(ref) + 1 if strict else np.ceil(ref))
    elif a.kind == "float" and strict:
        cand = np.maximum(cand, np.nextafter(ref, np.inf))
    elif a.kind == "datetime" and strict:
        cand = np.maximum(cand, ref + 1)
    if hi is not None:
        cand = np.minimum(cand, hi)
    a.values[bad] = cand.astype(a.values.dtype)
    # the cap at the column's max may leave rows whose reference is at or above that max:
    # lower the reference just below (or to) the max
    if hi is not None:
        still = both & (_le(a.values, b.values) if strict else _lt(a.values, b.values))
        if still.any():
            top = a.values[still]
            if b.kind == "float":
                top = top.astype(np.float64)
                low = np.nextafter(top, -np.inf) if strict else top
            elif b.kind == "int":
                low = np.ceil(top) - 1 if strict else np.floor(top)
            else:
                low = top - 1 if strict else top
            b.values[still] = low.astype(b.values.dtype)
            df[other] = b.restore()
    df[col] = a.restore()
