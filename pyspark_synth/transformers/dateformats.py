"""Dates written as text or as integers: the one format of a column learned from its values, and back.

A column of strings such as "2021-03-14" or "14/03/2021", or of integers such as 20210314, holds
dates in one representation. `learn_format` finds that representation from the values (every
value must match one format exactly, with valid dates), `parse_dates` reads the column with it
and `format_dates` writes generated datetimes back in it, so synthetic values look like the real
ones. Formats are strftime patterns with two additions: "%3f" (milliseconds, three digits), and
a trailing ";pivot=NN" on "%y" patterns: two-digit years at or above NN are 19xx, below are 20xx
(the pivot is learned from the data so its years form the tightest span; 100: all 20xx).

Integer formats start with "int:" ("int:%Y%m%d", "int:%y%m%d;pivot=60"). Text columns often write
their missing values as a marker (`\\N` in CSV dumps, "NA", "NULL", ""): such values are nulls, and
the format remembers the marker (";null=\\N") so generated nulls are written the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "NULL_MARKERS",
    "DateFormat",
    "INTEGER_FORMATS",
    "STRING_FORMATS",
    "format_dates",
    "is_integer_format",
    "java_pattern",
    "learn_format",
    "learn_integer_format",
    "learn_string_format",
    "null_marker",
    "parse_dates",
    "value_regex",
]

_SAMPLE = 2000  # distinct values a format is learned from (the caller checks the rest when it can)
NULL_MARKERS: tuple[str, ...] = ("\\N", "NULL", "null", "NA", "N/A", "n/a", "None", "nan", "NaN", "-", "")
_MIN_SHORT_INT_VALUES = 20  # yymmdd integers need this many distinct values (fewer could be a coincidence)


@dataclass(frozen=True)
class DateFormat:
    """One representation of dates: its strftime pattern, the exact shape of its values, and the
    Spark (Java DateTimeFormatter) pattern that parses it."""

    pattern: str
    regex: str
    java: str


_D = r"\d{2}"
_Y = r"\d{4}"
_T = r"\d{2}:\d{2}:\d{2}"
# Order matters only between patterns with the same shape (day-first before month-first).
STRING_FORMATS: tuple[DateFormat, ...] = (
    DateFormat("%Y-%m-%d", rf"{_Y}-{_D}-{_D}", "yyyy-MM-dd"),
    DateFormat("%Y-%m-%d %H:%M:%S", rf"{_Y}-{_D}-{_D} {_T}", "yyyy-MM-dd HH:mm:ss"),
    DateFormat("%Y-%m-%dT%H:%M:%S", rf"{_Y}-{_D}-{_D}T{_T}", "yyyy-MM-dd'T'HH:mm:ss"),
    DateFormat("%Y-%m-%dT%H:%M:%SZ", rf"{_Y}-{_D}-{_D}T{_T}Z", "yyyy-MM-dd'T'HH:mm:ss'Z'"),
    DateFormat("%Y-%m-%d %H:%M:%S.%3f", rf"{_Y}-{_D}-{_D} {_T}\.\d{{3}}", "yyyy-MM-dd HH:mm:ss.SSS"),
    DateFormat("%Y-%m-%dT%H:%M:%S.%3f", rf"{_Y}-{_D}-{_D}T{_T}\.\d{{3}}", "yyyy-MM-dd'T'HH:mm:ss.SSS"),
    DateFormat("%Y-%m-%dT%H:%M:%S.%3fZ", rf"{_Y}-{_D}-{_D}T{_T}\.\d{{3}}Z", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
    DateFormat("%Y-%m-%d %H:%M:%S.%f", rf"{_Y}-{_D}-{_D} {_T}\.\d{{6}}", "yyyy-MM-dd HH:mm:ss.SSSSSS"),
    DateFormat("%Y-%m-%dT%H:%M:%S.%f", rf"{_Y}-{_D}-{_D}T{_T}\.\d{{6}}", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"),
    DateFormat("%Y-%m-%d %H:%M", rf"{_Y}-{_D}-{_D} {_D}:{_D}", "yyyy-MM-dd HH:mm"),
    DateFormat("%Y/%m/%d", rf"{_Y}/{_D}/{_D}", "yyyy/MM/dd"),
    DateFormat("%Y%m%d", rf"{_Y}{_D}{_D}", "yyyyMMdd"),
    DateFormat("%d/%m/%Y", rf"{_D}/{_D}/{_Y}", "dd/MM/yyyy"),
    DateFormat("%m/%d/%Y", rf"{_D}/{_D}/{_Y}", "MM/dd/yyyy"),
    DateFormat("%d/%m/%Y %H:%M", rf"{_D}/{_D}/{_Y} {_D}:{_D}", "dd/MM/yyyy HH:mm"),
    DateFormat("%m/%d/%Y %H:%M", rf"{_D}/{_D}/{_Y} {_D}:{_D}", "MM/dd/yyyy HH:mm"),
    DateFormat("%d/%m/%Y %H:%M:%S", rf"{_D}/{_D}/{_Y} {_T}", "dd/MM/yyyy HH:mm:ss"),
    DateFormat("%m/%d/%Y %H:%M:%S", rf"{_D}/{_D}/{_Y} {_T}", "MM/dd/yyyy HH:mm:ss"),
    DateFormat("%d-%m-%Y", rf"{_D}-{_D}-{_Y}", "dd-MM-yyyy"),
    DateFormat("%m-%d-%Y", rf"{_D}-{_D}-{_Y}", "MM-dd-yyyy"),
    DateFormat("%d.%m.%Y", rf"{_D}\.{_D}\.{_Y}", "dd.MM.yyyy"),
)
# Integers: yyyymmdd within years 1800-2199, and yymmdd (zero-padded to six digits).
INTEGER_FORMATS: tuple[DateFormat, ...] = (
    DateFormat("int:%Y%m%d", rf"{_Y}{_D}{_D}", "yyyyMMdd"),
    DateFormat("int:%y%m%d", rf"{_D}{_D}{_D}", "yyMMdd"),
)
_YYYYMMDD_RANGE = (18000101, 21991231)
_BY_PATTERN = {f.pattern: f for f in (*STRING_FORMATS, *INTEGER_FORMATS)}


def null_marker(fmt: str | None) -> str | None:
    """The text a format writes for a missing value ("\\N", "NA", ...), or None (a real null)."""
    if not fmt or ";null=" not in fmt:
        return None
    return fmt.split(";null=", 1)[1]


def _split(fmt: str) -> tuple[str, int | None, bool]:
    """(strftime pattern, two-digit-year pivot, is an integer format)."""
    fmt = fmt.split(";null=", 1)[0]
    is_int = fmt.startswith("int:")
    body = fmt[4:] if is_int else fmt
    pivot = None
    if ";pivot=" in body:
        body, _, p = body.partition(";pivot=")
        pivot = int(p)
    return body, pivot, is_int


def is_integer_format(fmt: str | None) -> bool:
    """True for a format of dates written as integers ("int:...")."""
    return bool(fmt) and str(fmt).startswith("int:")


def _base(fmt: str) -> DateFormat | None:
    body, _, is_int = _split(fmt)
    return _BY_PATTERN.get(("int:" if is_int else "") + body)


def value_regex(fmt: str) -> str:
    """The regular expression every value written in `fmt` matches in full (integers zero-padded)."""
    base = _base(fmt)
    if base is None:
        raise ValueError(f"unknown date format {fmt!r}")
    return base.regex


def java_pattern(fmt: str) -> str:
    """The Spark datetime pattern that parses values written in `fmt`."""
    base = _base(fmt)
    if base is None:
        raise ValueError(f"unknown date format {fmt!r}")
    return base.java


def _digits(fmt: str) -> int:
    return 6 if "%y" in _split(fmt)[0] else 8


def _as_text(values: pd.Series, fmt: str) -> pd.Series:
    """The values as strings in the format's shape (integers zero-padded); nulls stay null."""
    if not is_integer_format(fmt):
        return values.astype(object).where(values.notna(), None)
    num = pd.to_numeric(values, errors="coerce")
    out = pd.Series([None] * len(values), dtype=object, index=values.index)
    ok = num.notna() & (num >= 0) & (num == np.floor(num))
    out[ok] = num[ok].astype(np.int64).astype(str).str.zfill(_digits(fmt))
    return out


def parse_dates(values: pd.Series, fmt: str) -> pd.Series:
    """Datetimes (datetime64[ns], NaT where a value does not match `fmt` or is null) of a column."""
    body, pivot, _ = _split(fmt)
    text = _as_text(pd.Series(values).reset_index(drop=True), fmt)
    base = _base(fmt)
    shaped = text.notna()
    if base is not None:
        shaped &= text.astype(str).str.fullmatch(base.regex)
    text = text.where(shaped, None)
    if pivot is not None:  # expand the two-digit year with the learned pivot
        yy = pd.to_numeric(text.str[:2], errors="coerce")
        century = np.where(yy >= pivot, "19", "20")
        text = pd.Series(np.where(text.notna(), century + text.fillna(""), None), dtype=object)
        body = body.replace("%y", "%Y", 1)
    parsed = pd.to_datetime(text, format=body.replace("%3f", "%f"), errors="coerce")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")


def format_dates(ts: pd.Series, fmt: str) -> np.ndarray:
    """Datetimes written in `fmt`: an object array of strings, or of Python ints for an integer
    format; where `ts` is NaT, the format's null marker (None without one)."""
    body, _, is_int = _split(fmt)
    ts = pd.Series(ts).reset_index(drop=True)
    null = ts.isna().to_numpy()
    text = ts.dt.strftime(body.replace("%3f", "%f"))
    if "%3f" in body:  # strftime writes microseconds: keep the milliseconds
        text = text.str.replace(r"(\.\d{3})\d{3}", r"\1", regex=True)
    out = np.empty(len(ts), dtype=object)
    if is_int:
        out[:] = [None if m else int(v) for v, m in zip(text.to_numpy(dtype=object), null, strict=True)]
    else:
        out[:] = text.to_numpy(dtype=object)
    out[null] = null_marker(fmt)
    return out


def _sample(values: pd.Series) -> pd.Series:
    present = pd.Series(values).dropna()
    uniq = pd.Series(pd.unique(present.to_numpy(dtype=object)), dtype=object)
    return uniq.iloc[:_SAMPLE] if len(uniq) > _SAMPLE else uniq


def learn_string_format(values: pd.Series) -> str | None:
    """The one format every (sampled distinct) string value is written in, or None.

    Every value must be a string of the format's exact shape and a valid date or time in it,
    except a null marker (`NULL_MARKERS`): the most frequent one is kept in the format.
    """
    present = pd.Series(values).dropna()
    if not len(present) or not all(isinstance(v, str) for v in present.iloc[:_SAMPLE]):
        return None
    markers = present.isin(NULL_MARKERS)
    uniq = _sample(present[~markers])
    if not len(uniq) or not all(isinstance(v, str) for v in uniq):
        return None
    suffix = f";null={present[markers].value_counts().index[0]}" if markers.any() else ""
    first = uniq.iloc[0]
    for f in STRING_FORMATS:
        if re.fullmatch(f.regex, first) is None or not uniq.str.fullmatch(f.regex).all():
            continue
        if parse_dates(uniq, f.pattern).notna().all():
            return f.pattern + suffix
    return None


def _pivot(two_digit_years: np.ndarray) -> int:
    """The pivot that puts the two-digit years in the tightest span (years at or above it are 19xx).

    Years that already form a tight span without wrapping round the century stay in one century:
    the 20xx one when they are all below 69 (Python's own `%y` rule), else the 19xx one.
    """
    years = np.unique(two_digit_years.astype(np.int64))
    gaps = np.diff(np.r_[years, years[0] + 100])
    start = int(years[(int(np.argmax(gaps)) + 1) % len(years)])  # the first year after the widest gap
    if start == int(years[0]):
        return 100 if int(years[-1]) < 69 else 0
    return start


def learn_integer_format(values: pd.Series) -> str | None:
    """"int:%Y%m%d" (years 1800-2199) or "int:%y%m%d;pivot=NN" when every (sampled distinct)
    integer value is a valid date written that way, else None."""
    num = pd.to_numeric(pd.Series(values).dropna(), errors="coerce")
    if not len(num) or num.isna().any() or (num != np.floor(num)).any():
        return None
    uniq = pd.Series(np.unique(num.to_numpy(dtype=np.float64)).astype(np.int64))
    if len(uniq) > _SAMPLE:
        uniq = uniq.iloc[np.linspace(0, len(uniq) - 1, _SAMPLE).astype(np.int64)]  # the extremes included
    lo, hi = int(uniq.min()), int(uniq.max())
    if _YYYYMMDD_RANGE[0] <= lo and hi <= _YYYYMMDD_RANGE[1]:
        return "int:%Y%m%d" if parse_dates(uniq, "int:%Y%m%d").notna().all() else None
    if lo >= 101 and hi <= 991231 and len(uniq) >= _MIN_SHORT_INT_VALUES:
        fmt = f"int:%y%m%d;pivot={_pivot((uniq // 10000).to_numpy())}"
        return fmt if parse_dates(uniq, fmt).notna().all() else None
    return None


def learn_format(values: pd.Series) -> str | None:
    """The date format of a column of strings or integers (see `learn_string_format` and
    `learn_integer_format`), or None."""
    s = pd.Series(values)
    if pd.api.types.is_bool_dtype(s.dtype):
        return None
    if pd.api.types.is_integer_dtype(s.dtype):
        return learn_integer_format(s)
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        present = s.dropna()
        if len(present) and all(isinstance(v, str) for v in present.iloc[:_SAMPLE]):
            return learn_string_format(s)
        if len(present) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                for v in present.iloc[:_SAMPLE]):
            return learn_integer_format(s)
    return None

