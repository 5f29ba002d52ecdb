"""Locales of fakes: country names, ISO codes and locale strings mapped to Faker locales (Japan / JP /
JPN -> ja_JP), where each row's locale comes from (`LocaleSource`), and one locale per value across
tables (`value_locale_votes`, `resolve_value_locales`), so the same value gets the same fake everywhere.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALE_COLUMN_NAMES",
    "VOTE_COLUMNS",
    "LocaleSource",
    "available_locales",
    "find_locale_column",
    "key_text",
    "locale_for",
    "locales_for",
    "locales_for_or_none",
    "parent_locales",
    "resolve_value_locales",
    "row_locales",
    "value_locale_votes",
]

DEFAULT_LOCALE = "en_US"
# Columns whose values pick a row's locale when a fake rule names none, in order of preference.
LOCALE_COLUMN_NAMES: tuple[str, ...] = ("locale", "country_code", "country", "region", "nationality")

# Countries with several Faker locales: the one used for the country code.
_PREFERRED = {
    "US": "en_US", "GB": "en_GB", "UK": "en_GB", "CA": "en_CA", "CH": "de_CH", "BE": "nl_BE", "IN": "en_IN",
    "IE": "en_IE", "ES": "es_ES", "PH": "en_PH", "LU": "lb_LU", "DZ": "ar_DZ", "NG": "en_NG", "CY": "el_CY",
    "BA": "bs_BA", "DK": "da_DK", "TH": "th_TH",
}
_LANGUAGE_DEFAULT = {
    "en": "en_US", "de": "de_DE", "fr": "fr_FR", "es": "es_ES", "pt": "pt_BR", "ja": "ja_JP", "it": "it_IT",
    "nl": "nl_NL", "zh": "zh_CN", "ko": "ko_KR", "ru": "ru_RU", "pl": "pl_PL", "sv": "sv_SE", "da": "da_DK",
    "no": "no_NO", "nb": "no_NO", "fi": "fi_FI", "cs": "cs_CZ", "hu": "hu_HU", "ro": "ro_RO", "tr": "tr_TR",
    "uk": "uk_UA", "el": "el_GR", "he": "he_IL", "ar": "ar_SA", "hi": "hi_IN", "id": "id_ID", "vi": "vi_VN",
    "th": "th_TH",
}
_ALPHA3 = {
    "USA": "US", "GBR": "GB", "JPN": "JP", "DEU": "DE", "FRA": "FR", "BRA": "BR", "ESP": "ES", "ITA": "IT",
    "NLD": "NL", "PRT": "PT", "MEX": "MX", "ARG": "AR", "CAN": "CA", "AUS": "AU", "IND": "IN", "AUT": "AT",
    "CHE": "CH", "BEL": "BE", "POL": "PL", "SWE": "SE", "DNK": "DK", "NOR": "NO", "FIN": "FI", "CZE": "CZ",
    "HUN": "HU", "ROU": "RO", "TUR": "TR", "RUS": "RU", "UKR": "UA", "GRC": "GR", "CHN": "CN", "TWN": "TW",
    "KOR": "KR", "IDN": "ID", "IRL": "IE", "NZL": "NZ", "COL": "CO", "CHL": "CL", "VEN": "VE", "ISR": "IL",
    "SAU": "SA", "EGY": "EG", "VNM": "VN", "THA": "TH", "PHL": "PH", "ZAF": "ZA", "NGA": "NG", "SVK": "SK",
}
_NAMES = {
    "united states": "US", "united states of america": "US", "america": "US", "usa": "US", "u.s.": "US",
    "united kingdom": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "japan": "JP", "nippon": "JP", "日本": "JP", "germany": "DE", "deutschland": "DE",
    "allemagne": "DE", "alemania": "DE", "alemanha": "DE", "france": "FR", "frankreich": "FR", "francia": "FR",
    "frança": "FR", "brazil": "BR", "brasil": "BR", "brésil": "BR", "brasilien": "BR", "spain": "ES",
    "españa": "ES", "espana": "ES", "espagne": "ES", "spanien": "ES", "espanha": "ES", "italy": "IT",
    "italia": "IT", "italie": "IT", "italien": "IT", "netherlands": "NL", "the netherlands": "NL",
    "nederland": "NL", "holland": "NL", "portugal": "PT", "mexico": "MX", "méxico": "MX", "argentina": "AR",
    "canada": "CA", "australia": "AU", "india": "IN", "austria": "AT", "österreich": "AT", "switzerland": "CH",
    "schweiz": "CH", "suisse": "CH", "svizzera": "CH", "belgium": "BE", "belgique": "BE", "belgië": "BE",
    "poland": "PL", "polska": "PL", "sweden": "SE", "sverige": "SE", "denmark": "DK", "danmark": "DK",
    "norway": "NO", "norge": "NO", "finland": "FI", "suomi": "FI", "czech republic": "CZ", "czechia": "CZ",
    "hungary": "HU", "romania": "RO", "turkey": "TR", "türkiye": "TR", "russia": "RU", "россия": "RU",
    "ukraine": "UA", "greece": "GR", "china": "CN", "中国": "CN", "taiwan": "TW", "south korea": "KR",
    "korea": "KR", "한국": "KR", "대한민국": "KR", "indonesia": "ID", "ireland": "IE", "new zealand": "NZ",
    "colombia": "CO", "chile": "CL", "venezuela": "VE", "israel": "IL", "saudi arabia": "SA", "egypt": "EG",
    "vietnam": "VN", "viet nam": "VN", "thailand": "TH", "philippines": "PH", "south africa": "ZA",
    "nigeria": "NG", "slovakia": "SK",
}
_LOCALE_RE = re.compile(r"^([a-z]{2,3})(?:[-_]([A-Za-z]{2}))?$")


@lru_cache(maxsize=1)
def available_locales() -> frozenset[str]:
    """The locales the installed Faker knows."""
    from faker.config import AVAILABLE_LOCALES

    return frozenset(AVAILABLE_LOCALES)


@lru_cache(maxsize=1)
def _country_locales() -> dict[str, str]:
    out: dict[str, str] = {}
    for loc in sorted(available_locales()):
        if "_" in loc:
            cc = loc.split("_", 1)[1]
            out.setdefault(cc, loc)
    out.update({k: v for k, v in _PREFERRED.items() if v in available_locales()})
    return out


@lru_cache(maxsize=4096)
def locale_for(value: object, default: str | None = DEFAULT_LOCALE) -> str | None:
    """The Faker locale for a country name, ISO alpha-2/alpha-3 code or locale string, else `default`.

    Examples: "Japan", "JP", "JPN", "日本", "ja_JP", "ja-JP" and "ja" all give "ja_JP".
    """
    if value is None or (isinstance(value, float) and value != value):
        return default
    text = str(value).strip()
    if not text:
        return default
    m = _LOCALE_RE.match(text)
    if m and m.group(2):  # "ja_JP", "pt-br"
        loc = f"{m.group(1).lower()}_{m.group(2).upper()}"
        if loc in available_locales():
            return loc
    upper = text.upper()
    countries = _country_locales()
    if len(upper) == 2 and upper in countries:
        return countries[upper]
    if len(upper) == 3 and upper in _ALPHA3:
        return countries.get(_ALPHA3[upper], default)
    cc = _NAMES.get(text.casefold())
    if cc is not None:
        return countries.get(cc, default)
    if m and not m.group(2) and text.lower() in _LANGUAGE_DEFAULT:  # a bare language code: "ja"
        return _LANGUAGE_DEFAULT[text.lower()]
    return default


def locales_for(values: pd.Series, default: str = DEFAULT_LOCALE) -> pd.Series:
    """`locale_for` over a Series (each distinct value is mapped once)."""
    codes, uniques = pd.factorize(values.astype(object).where(values.notna(), None), use_na_sentinel=True)
    mapped = [locale_for(u, default) for u in uniques]
    out = pd.Series(default, index=values.index, dtype=object)
    ok = codes >= 0
    if ok.any():
        out[ok] = [mapped[c] for c in codes[ok]]
    return out


def find_locale_column(columns: list[str] | tuple[str, ...]) -> str | None:
    """The column (matched case-insensitively) that names each row's country or locale, if any."""
    lowered = {c.lower(): c for c in columns}
    for name in LOCALE_COLUMN_NAMES:
        if name in lowered:
            return lowered[name]
    return None


# ----------------------------------------------------------------------------- where a fake's locale comes from
@dataclass(frozen=True)
class LocaleSource:
    """Where the rows of one faked column get their locale; plain data, safe to send to executors.

    At most one of three sources is set; with none the rows have no locale of their own (they take
    the locale their value got elsewhere, see `resolve_value_locales`, else `DEFAULT_LOCALE`):

    - `fixed`: one Faker locale for every row (a rule's `locale`, or `PrivacyConfig.locale`);
    - `column`: a column of the same row whose value (country name, ISO code or locale string) gives
      the locale (a rule's `locale_column`, or the one `find_locale_column` finds);
    - `parent_table` + `parent_column`: the locale column of another table, reached through this
      table's foreign key `fk_columns` -> `parent_key` (an `orders` table without a country takes
      the country of its customer). The caller reads the parent's `{key text: locale}` with
      `parent_locales` and hands it to `row_locales`.

    Attributes:
        fixed: A Faker locale for all rows.
        column: The row's locale column.
        parent_table: The table the locale is read from through a foreign key.
        fk_columns: This table's foreign-key columns.
        parent_key: The parent's key columns they refer to (same order).
        parent_column: The parent's locale column.
    """

    fixed: str | None = None
    column: str | None = None
    parent_table: str | None = None
    fk_columns: tuple[str, ...] = ()
    parent_key: tuple[str, ...] = ()
    parent_column: str | None = None

    def __post_init__(self) -> None:
        kinds = [self.fixed is not None, self.column is not None, self.parent_table is not None]
        if sum(kinds) > 1:
            raise ValueError(f"LocaleSource: give one of fixed, column or parent_table, got {self}")
        if self.parent_table is not None and (not self.fk_columns or len(self.fk_columns) != len(self.parent_key)
                                              or self.parent_column is None):
            raise ValueError("LocaleSource: a parent source needs fk_columns and parent_key of the same length "
                             f"and a parent_column, got {self}")

    @property
    def kind(self) -> str:
        """"fixed", "column", "parent" or "none"."""
        if self.fixed is not None:
            return "fixed"
        if self.column is not None:
            return "column"
        return "parent" if self.parent_table is not None else "none"

    def describe(self) -> str:
        """A short readable form ("column country", "customers.country via customer_id")."""
        if self.kind == "fixed":
            return f"fixed {self.fixed}"
        if self.kind == "column":
            return f"column {self.column}"
        if self.kind == "parent":
            return f"{self.parent_table}.{self.parent_column} via {', '.join(self.fk_columns)}"
        return "none (the value's locale elsewhere, else the default)"

    def to_dict(self) -> dict[str, Any]:
        """The source as plain data (for a UDF closure)."""
        return {"fixed": self.fixed, "column": self.column, "parent_table": self.parent_table,
                "fk_columns": list(self.fk_columns), "parent_key": list(self.parent_key),
                "parent_column": self.parent_column}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LocaleSource:
        """The inverse of `to_dict`."""
        return cls(data.get("fixed"), data.get("column"), data.get("parent_table"), tuple(data.get("fk_columns") or ()),
                   tuple(data.get("parent_key") or ()), data.get("parent_column"))


def key_text(pdf: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> pd.Series:
    """Canonical text of one or more key columns per row (joined by U+001F); None where any is null."""

    parts = [as_text(pdf[c]) for c in columns]
    out = parts[0].copy()
    for p in parts[1:]:
        ok = out.notna() & p.notna()
        out = (out.where(ok, "") + "\x1f" + p.where(ok, "")).where(ok, None)
    return out


def parent_locales(parent: pd.DataFrame, key_columns: tuple[str, ...] | list[str], locale_column: str) -> dict[str, str]:
    """`{key text: locale}` of a parent table's rows whose locale column names a known locale."""
    keys = key_text(parent, tuple(key_columns))
    locs = locales_for_or_none(parent[locale_column])
    ok = keys.notna() & locs.notna()
    return dict(zip(keys[ok].tolist(), locs[ok].tolist(), strict=True))


def locales_for_or_none(values: pd.Series) -> pd.Series:
    """`locale_for` over a Series with None where a value names no locale (no default)."""
    codes, uniques = pd.factorize(values.astype(object).where(values.notna(), None), use_na_sentinel=True)
    mapped = np.array([locale_for(u, None) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def row_locales(pdf: pd.DataFrame, source: LocaleSource, parent_map: Mapping[str, str] | None = None) -> pd.Series:
    """The locale of each row from its source (None where the source gives none).

    Args:
        pdf: One batch of the table.
        source: Where the locale comes from.
        parent_map: For a parent source, `parent_locales` of the parent table.

    Raises:
        KeyError: The source's column or foreign-key columns are not in the batch.
    """
    if source.kind == "fixed":
        return pd.Series(source.fixed, index=pdf.index, dtype=object)
    if source.kind == "column":
        return locales_for_or_none(pdf[source.column])
    if source.kind == "parent":
        keys = key_text(pdf, source.fk_columns)
        lookup = parent_map or {}
        return pd.Series([lookup.get(k) if k is not None else None for k in keys], index=pdf.index, dtype=object)
    return pd.Series(None, index=pdf.index, dtype=object)


VOTE_COLUMNS: tuple[str, ...] = ("value", "locale", "n")


def value_locale_votes(text: pd.Series, locales: pd.Series) -> pd.DataFrame:
    """How often each value (canonical text) appears with each locale in one batch: columns value, locale, n.

    Rows whose value or locale is null do not vote. Votes of several batches and tables are summed
    (a Spark `groupBy(value, locale).sum(n)`) and resolved with `resolve_value_locales`.
    """
    ok = text.notna() & locales.notna()
    if not ok.any():
        return pd.DataFrame({c: pd.Series(dtype=object if c != "n" else "int64") for c in VOTE_COLUMNS})
    counts = pd.DataFrame({"value": text[ok].astype(str), "locale": locales[ok].astype(str)}).value_counts()
    out = counts.rename("n").reset_index()
    out["n"] = out["n"].astype("int64")
    return out[list(VOTE_COLUMNS)]


def resolve_value_locales(votes: pd.DataFrame | Iterable[tuple[str, str, int]]) -> dict[str, str]:
    """One locale per value: the one it appears with most often; a tie goes to the first in sort order.

    Args:
        votes: Rows (value, locale, n), possibly with repeated (value, locale) pairs (they are summed).

    Returns:
        `{value text: locale}`. With it, the same value becomes the same fake in every table,
        whether or not a table has a locale of its own.
    """
    frame = votes if isinstance(votes, pd.DataFrame) else pd.DataFrame(list(votes), columns=list(VOTE_COLUMNS))
    if frame.empty:
        return {}
    summed = frame.groupby(["value", "locale"], sort=False)["n"].sum().reset_index()
    summed = summed.sort_values(["value", "n", "locale"], ascending=[True, False, True], kind="mergesort")
    best = summed.drop_duplicates("value", keep="first")
    return dict(zip(best["value"].tolist(), best["locale"].tolist(), strict=True))


def _obj_text(x: Any) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, (_dt.datetime, _dt.date, pd.Timestamp)):
        return x.isoformat()
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    if isinstance(x, (bytes, bytearray)):
        return bytes(x).hex()
    return str(x)


def as_text(values: pd.Series) -> pd.Series:
    """Canonical text of values, so equal values give equal text in every table and batch.

    Integral floats print as integers (a nullable int column arrives as float in pandas), dates and
    timestamps as ISO 8601; nulls stay null.
    """
    out = pd.Series([None] * len(values.index), index=values.index, dtype=object)
    present = values.notna().to_numpy()
    if not present.any():
        return out
    v = values[present]
    if pd.api.types.is_float_dtype(v):
        arr = v.to_numpy(dtype=float)
        out[present] = [str(int(x)) if x.is_integer() else repr(float(x)) for x in arr]
    elif pd.api.types.is_datetime64_any_dtype(v):
        out[present] = [t.isoformat() for t in v]
    elif pd.api.types.is_bool_dtype(v):
        out[present] = v.map(lambda b: "true" if b else "false").to_numpy()
    elif pd.api.types.is_integer_dtype(v) or pd.api.types.is_string_dtype(v) and not pd.api.types.is_object_dtype(v):
        out[present] = v.astype(str).to_numpy()
    else:
        out[present] = [_obj_text(x) for x in v]
    return out
