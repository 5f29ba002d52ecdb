"""Country names, ISO codes and locale strings mapped to Faker locales (Japan / JP / JPN -> ja_JP)."""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

__all__ = ["DEFAULT_LOCALE", "LOCALE_COLUMN_NAMES", "available_locales", "find_locale_column", "locale_for", "locales_for"]

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
