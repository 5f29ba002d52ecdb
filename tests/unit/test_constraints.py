"""Constraint repair and counting: min/max, greater_than/greater_or_equal, allowed_values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.errors import ConstraintError
from pyspark_synth.metadata import Constraint, Table
from pyspark_synth.models.constraints import check, enforce


def _table(**constraints: dict) -> Table:
    return Table(name="t", constraints={k: Constraint(**v) for k, v in constraints.items()})


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_no_constraints_returns_frame_unchanged():
    df = pd.DataFrame({"a": [1, 2]})
    assert enforce(df, None, rng=_rng()) is df
    assert enforce(df, Table(name="t"), rng=_rng()) is df
    assert check(df, None) == {}


def test_min_max_ints_stay_ints_and_nulls_stay():
    df = pd.DataFrame({"a": np.array([-5, 0, 3, 12], dtype=np.int32),
                       "b": pd.array([-1, None, 7, 20], dtype="Int64"),
                       "c": [-0.5, np.nan, 0.2, 9.9]})
    t = _table(a={"min": 0.5, "max": 10.0}, b={"min": "0", "max": "10"}, c={"min": 0.0, "max": 1.0})
    assert check(df, t) == {"a.min": 2, "a.max": 1, "b.min": 1, "b.max": 1, "c.min": 1, "c.max": 1}
    out = enforce(df, t, rng=_rng())
    assert out["a"].dtype == np.int32 and out["a"].tolist() == [1, 1, 3, 10]
    assert str(out["b"].dtype) == "Int64" and out["b"].isna().tolist() == [False, True, False, False]
    assert out["b"].dropna().tolist() == [0, 7, 10]
    assert out["c"].isna().sum() == 1 and out["c"].dropna().tolist() == [0.0, 0.2, 1.0]
    assert set(check(out, t).values()) == {0}
    assert df["a"].tolist() == [-5, 0, 3, 12]  # input untouched


@pytest.mark.parametrize("tz", [None, "Europe/Paris"])
def test_min_max_datetimes_with_iso_bounds(tz):
    s = pd.Series(pd.to_datetime(["2019-06-01", "2020-03-01", None, "2023-01-01"]))
    if tz:
        s = s.dt.tz_localize(tz)
    df = pd.DataFrame({"d": s})
    t = _table(d={"min": "2020-01-01", "max": "2021-12-31T00:00:00"})
    assert check(df, t) == {"d.min": 1, "d.max": 1}
    out = enforce(df, t, rng=_rng())
    assert out["d"].dtype == df["d"].dtype
    assert out["d"].isna().tolist() == [False, False, True, False]
    lo, hi = pd.Timestamp("2020-01-01", tz=tz), pd.Timestamp("2021-12-31", tz=tz)
    assert out["d"].iloc[0] == lo and out["d"].iloc[3] == hi and out["d"].iloc[1] == df["d"].iloc[1]


def test_min_on_datetime_with_epoch_seconds_and_python_dates():
    df = pd.DataFrame({"d": [dt.date(1969, 1, 1), dt.date(2000, 5, 5), None]})
    t = _table(d={"min": 0})
    out = enforce(df, t, rng=_rng())
    assert out["d"].tolist() == [dt.date(1970, 1, 1), dt.date(2000, 5, 5), None]
    assert check(out, t) == {"d.min": 0}


def test_greater_than_ints_strict_and_marginal_kept():
    rng = np.random.default_rng(1)
    start = rng.integers(0, 100, 2000)
    end = start + rng.integers(1, 10, 2000)
    flip = rng.random(2000) < 0.2
    end[flip] = start[flip] - rng.integers(0, 5, flip.sum())
    df = pd.DataFrame({"start": start, "end": end})
    t = _table(end={"greater_than": "start"})
    assert check(df, t)["end.greater_than.start"] == int(flip.sum())
    out = enforce(df, t, rng=_rng())
    assert out["end"].dtype == np.int64
    assert check(out, t) == {"end.greater_than.start": 0}
    gaps = out["end"] - out["start"]
    assert gaps.min() >= 1 and gaps.max() <= 9  # gaps drawn from the valid rows
    assert (out["start"] == df["start"]).all()


def test_greater_or_equal_floats_with_nulls_and_max():
    df = pd.DataFrame({"lo": [1.0, 5.0, np.nan, 2.0, 9.5], "hi": [2.0, 4.0, 1.0, np.nan, 3.0]})
    t = _table(hi={"greater_or_equal": "lo", "max": 9.0})
    assert check(df, t) == {"hi.max": 0, "hi.greater_or_equal.lo": 2}
    out = enforce(df, t, rng=_rng())
    assert check(out, t) == {"hi.max": 0, "hi.greater_or_equal.lo": 0}
    assert np.isnan(out["lo"][2]) and out["hi"][2] == 1.0  # nulls left alone
    assert np.isnan(out["hi"][3])
    assert out["hi"][4] <= 9.0 and out["lo"][4] <= out["hi"][4]  # capped at max, reference lowered


def test_greater_than_strict_without_valid_rows_ints():
    df = pd.DataFrame({"a": [3, 3, 5], "b": [3, 4, 5]})
    t = _table(b={"greater_than": "a"})
    out = enforce(df, t, rng=_rng())
    assert (out["b"] > out["a"]).all() and out["b"].dtype == np.int64


def test_greater_than_datetimes_gap_from_valid_rows():
    start = pd.Series(pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC"))
    end = start + pd.Timedelta(hours=2)
    end.iloc[[1, 4]] = start.iloc[[1, 4]] - pd.Timedelta(hours=1)
    end.iloc[5] = pd.NaT
    df = pd.DataFrame({"start": start, "end": end})
    t = _table(end={"greater_than": "start"})
    out = enforce(df, t, rng=_rng())
    assert out["end"].dtype == df["end"].dtype
    assert check(out, t) == {"end.greater_than.start": 0}
    assert (out["end"] - out["start"]).dropna().eq(pd.Timedelta(hours=2)).all()
    assert pd.isna(out["end"].iloc[5])


def test_chained_relations_repaired_in_order():
    df = pd.DataFrame({"a": [5, 1, 1], "b": [1, 2, 0], "c": [0, 3, 9]})
    t = _table(c={"greater_than": "b"}, b={"greater_than": "a"})
    out = enforce(df, t, rng=_rng())
    assert (out["b"] > out["a"]).all() and (out["c"] > out["b"]).all()


def test_allowed_values_drawn_from_in_set_frequencies():
    s = pd.Series(["a"] * 900 + ["b"] * 100 + ["zzz"] * 1000 + [None] * 10)
    df = pd.DataFrame({"s": s})
    t = _table(s={"allowed_values": ["a", "b", "c"]})
    assert check(df, t) == {"s.allowed_values": 1000}
    out = enforce(df, t, rng=_rng())
    assert check(out, t) == {"s.allowed_values": 0}
    assert out["s"].isna().sum() == 10
    share_a = (out["s"] == "a").sum() / out["s"].notna().sum()
    assert 0.85 < share_a < 0.95 and (out["s"] == "c").sum() == 0


def test_allowed_values_uniform_when_none_in_set_and_types_coerced():
    df = pd.DataFrame({"n": np.array([7, 8, 9, 7] * 50, dtype=np.int64),
                       "k": pd.Categorical(["x", "y"] * 100)})
    t = _table(n={"allowed_values": ["1", 2]}, k={"allowed_values": ["z"]})
    out = enforce(df, t, rng=_rng())
    assert out["n"].dtype == np.int64 and set(out["n"]) == {1, 2}
    assert isinstance(out["k"].dtype, pd.CategoricalDtype) and set(out["k"]) == {"z"}
    assert set(check(out, t).values()) == {0}


def test_allowed_values_booleans():
    df = pd.DataFrame({"f": [True, False, True]})
    t = _table(f={"allowed_values": [True]})
    out = enforce(df, t, rng=_rng())
    assert out["f"].dtype == bool and out["f"].all()


def test_missing_column_is_a_constraint_error():
    df = pd.DataFrame({"a": [1], "b": [2]})
    with pytest.raises(ConstraintError, match=r"'t\.a'.*\['zz'\].*Known columns: \['a', 'b'\]"):
        enforce(df, _table(a={"greater_than": "zz"}), rng=_rng())
    with pytest.raises(ConstraintError, match=r"\['c'\] are not in the data of table 't'"):
        check(df, _table(c={"min": 0}))


def test_bad_bound_and_incomparable_columns():
    df = pd.DataFrame({"a": [1, 2], "d": pd.to_datetime(["2020-01-01", "2020-01-02"])})
    with pytest.raises(ConstraintError, match="min='abc' is not a number"):
        enforce(df, _table(a={"min": "abc"}), rng=_rng())
    with pytest.raises(ConstraintError, match="is not a timestamp"):
        enforce(df, _table(d={"max": "not a date"}), rng=_rng())
    with pytest.raises(ConstraintError, match="cannot compare column 'a'"):
        enforce(df, _table(a={"greater_than": "d"}), rng=_rng())


def test_deterministic_for_the_same_rng_seed():
    df = pd.DataFrame({"s": ["a", "q", "b", "q", "q"], "x": [1.0, 0.0, 3.0, 2.0, 1.0], "y": [0.5, 1.0, 4.0, 1.0, 1.5]})
    t = _table(s={"allowed_values": ["a", "b"]}, y={"greater_than": "x"})
    a = enforce(df, t, rng=np.random.default_rng(3))
    b = enforce(df, t, rng=np.random.default_rng(3))
    pd.testing.assert_frame_equal(a, b)
