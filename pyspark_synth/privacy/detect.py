"""PII detection on a bounded sample: per column the kind, the evidence, a confidence and an action.

The core (`detect_pii_pandas`) is pure pandas; `pyspark_synth.spark.pii.detect_pii` takes a bounded
Spark sample and calls it. Each column is judged by its name (a cue such as "email" or "geburtsdatum")
and by the share of sampled values that match the kind's recogniser (checksums for cards and IBANs,
Faker's locale name lists for people and places). Look-alikes are kept out by the recognisers
(ISO dates are not phones, 16-digit order numbers fail the Luhn check), by non-PII cues in the
name (order, sku, amount, ...) and by column-level vetoes (a column with company legal forms is not
a list of people).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.errors import PrivacyError
from pyspark_synth.metadata import Column, Metadata, PIIRule
from pyspark_synth.privacy import _kinds as K

__all__ = [
    "KINDS",
    "SUGGESTED_ACTIONS",
    "PIIDetection",
    "detect_pii_pandas",
    "detections_to_pandas",
    "rules_from_detection",
    "apply_rules_to_metadata",
]

KINDS = K.KINDS

SUGGESTED_ACTIONS: dict[str, str] = {
    "email": "hash",  # an identifier people join on: HMAC keeps joins working
    "phone": "fake",
    "person_name": "fake",
    "street_address": "fake",
    "city": "fake",
    "postcode": "fake",
    "us_ssn": "hash",
    "credit_card": "mask",
    "iban": "mask",
    "ip_address": "hash",
    "date_of_birth": "fake",
    "free_text_with_pii": "drop",
}

# Kinds whose recogniser is specific enough to be trusted without a name cue.
_STRONG = ("iban", "credit_card", "us_ssn", "email", "ip_address")
# Tie-break order when two kinds match the same share of values (most specific first).
_PRIORITY = ("iban", "credit_card", "us_ssn", "email", "ip_address", "date_of_birth", "postcode", "phone",
             "street_address", "city", "person_name", "free_text_with_pii")

_DATE_LIKE = (r"^\d{1,4}(?:[-./]|年|년 ?)\d{1,2}(?:[-./]|月|월 ?)\d{1,4}(?:日|일)?\.?"
              r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$")
_DATE_LIKE_RE = re.compile(_DATE_LIKE)
_FOUR_DIGIT_YEAR = r"(?:^|\D)\d{4}(?:\D|$)"
# Candidate formats; each value is parsed by the formats in the order of how many of the column's
# values they parse (a vote), so a column mixing countries' formats parses row by row.
_DATE_FORMATS = ("ISO8601", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%Y.%m.%d", "%d-%m-%Y", "%m-%d-%Y",
                 "%Y年%m月%d日", "%Y년 %m월 %d일", "%Y년%m월%d일", "%d.%m.%Y.")
# Two-digit years ("04/19/84"); ambiguous by a century, read as the latest one not in the future.
_DATE_FORMATS_2 = ("%m/%d/%y", "%d/%m/%y", "%d.%m.%y", "%d-%m-%y", "%y-%m-%d", "%y/%m/%d", "%y.%m.%d")


@dataclass(frozen=True)
class PIIDetection:
    """One column found to hold personal data.

    Attributes:
        column: The column name.
        kind: The PII kind (one of `KINDS`).
        confidence: 0..1; grows with the share of matching values and a name cue.
        suggested_action: drop, mask, hash or fake (see `SUGGESTED_ACTIONS`).
        match_share: Share of sampled non-null values that match the kind.
        name_cue: The word of the column name that hints at the kind, if any.
        sampled: Number of non-null values looked at.
        evidence: A readable sentence with the reasons.
    """

    column: str
    kind: str
    confidence: float
    suggested_action: str
    match_share: float
    name_cue: str | None
    sampled: int
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        """The detection as a plain dictionary."""
        return asdict(self)


# ----------------------------------------------------------------------------- per-column scoring
@dataclass
class _Profile:
    column: str
    n: int
    shares: dict[str, float]
    cues: dict[str, str]
    negative: str | None
    is_string: bool
    is_numeric: bool
    extra: dict[str, float]


def _as_date_series(values: pd.Series) -> tuple[pd.Series, bool]:
    """Parsed dates (NaT where not a date) and whether the column is a true date/time type."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values, errors="coerce")
        return (out.dt.tz_localize(None) if out.dt.tz is not None else out), True
    sample = values.iloc[0] if len(values) else None
    if isinstance(sample, (_dt.date, _dt.datetime, pd.Timestamp)):
        return pd.to_datetime(values.map(lambda v: v if isinstance(v, (_dt.date, pd.Timestamp)) else None),
                              errors="coerce"), True
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return pd.Series(pd.NaT, index=values.index), False
    best = pd.Series(pd.NaT, index=values.index)
    if len(values) == 0:
        return best, False
    probe = values.iloc[np.linspace(0, len(values) - 1, min(len(values), 64)).astype(int)]
    if sum(1 for v in probe if _DATE_LIKE_RE.match(str(v).strip())) < 0.2 * len(probe):
        return best, False  # no date column: skip parsing
    text = values.astype(str).str.strip()
    codes, uniques = pd.factorize(text)
    distinct = pd.Series(uniques)
    like = distinct.str.match(_DATE_LIKE).to_numpy()
    if np.bincount(codes, minlength=len(uniques))[like].sum() < 0.3 * len(text):
        return best, False
    parsed = _vote_parse(distinct[like])
    per_distinct = pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[ns]")
    per_distinct[like] = parsed.to_numpy()
    best = pd.Series(per_distinct.to_numpy()[codes], index=values.index)
    return best, False


def _seps_of(fmt: str) -> set[str]:
    """The literal separator characters of a strptime format ("%d.%m.%Y" -> {"."}; ISO8601 -> {"-"})."""
    if fmt == "ISO8601":
        return {"-"}
    return set(re.sub(r"%.", "", fmt)) - {" "}


def _vote_parse(text: pd.Series) -> pd.Series:
    """Parse each date by the formats that parse most of the values first (two-digit years apart)."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    four = text.str.contains(_FOUR_DIGIT_YEAR).to_numpy()
    today = pd.Timestamp(_dt.date.today())
    for formats, part, two_digit in ((_DATE_FORMATS, four, False), (_DATE_FORMATS_2, ~four, True)):
        sub = text[part]
        if sub.empty:
            continue
        seps = set("".join(sub.iloc[:: max(1, len(sub) // 256)]))  # skip formats whose separators never occur
        empty = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[ns]")
        tries = [pd.to_datetime(sub, format=f, errors="coerce") if _seps_of(f) <= seps else empty for f in formats]
        counts = [int(t.notna().sum()) for t in tries]
        merged = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[ns]")
        for i in sorted(range(len(formats)), key=lambda i: -counts[i]):  # stable: list order breaks ties
            if counts[i] == 0:
                break
            merged = merged.fillna(tries[i])
        if two_digit:
            future = merged > today
            merged[future] = merged[future] - pd.DateOffset(years=100)
        out[part] = merged.to_numpy()
    return out


def _dob_share(values: pd.Series, cue: bool) -> tuple[float, dict[str, float]]:
    dates, _ = _as_date_series(values)
    share = float(dates.notna().mean()) if len(dates) else 0.0
    if share == 0.0:
        return 0.0, {}
    d = dates.dropna()
    today = pd.Timestamp(_dt.date.today())
    has_time = bool(((d - d.dt.normalize()) != pd.Timedelta(0)).mean() > 0.05)
    years = d.dt.year
    ages = (today - d).dt.days / 365.25
    stats = {
        "date_share": share,
        "year_spread": float(np.percentile(years, 90) - np.percentile(years, 10)),
        "median_age": float(np.median(ages)),
        "p90_age": float(np.percentile(ages, 90)),
        "future_share": float((d > today).mean()),
        "min_year": float(years.min()),
    }
    plausible = stats["future_share"] <= 0.01 and stats["min_year"] >= 1880 and not has_time
    if cue:
        return (share if plausible else 0.0), stats
    # without a cue: birth dates span decades and reach far back (hire or signup dates do not), in one
    # continuous run of years (two-digit years of past and future dates read back a century leave a gap)
    distinct_years = np.unique(years.to_numpy())
    stats["max_year_gap"] = float(np.diff(distinct_years).max()) if len(distinct_years) > 1 else 0.0
    if plausible and stats["year_spread"] >= 20 and 5 <= stats["median_age"] <= 100 and stats["p90_age"] >= 40 \
            and stats["max_year_gap"] <= 15:
        return share, stats
    return 0.0, stats


_PROBE = 48


def _share(counts: pd.Series, test: Any, *, probe: bool = True) -> float:
    """Share of values (weighted by their count) for which `test(value)` holds.

    With `probe`, `_PROBE` distinct values spread evenly over the column are tested first; when none
    passes, the share is taken as 0 without testing the rest (a kind held by a fifth of the values
    escapes such a probe with a chance below 1e-4). Used for the kinds whose share is only compared
    with thresholds of 0.2 and more.
    """
    total = counts.sum()
    if total == 0:
        return 0.0
    keys = counts.index
    if probe and len(keys) > 2 * _PROBE:
        picks = np.linspace(0, len(keys) - 1, _PROBE).astype(int)
        if not any(test(keys[i]) for i in picks):
            return 0.0
    hits = sum(c for v, c in zip(keys, counts.to_numpy().tolist(), strict=True) if test(v))
    return hits / float(total)


def _profile(column: str, series: pd.Series, max_values: int) -> _Profile | None:
    values = series.dropna()
    if len(values) > max_values:
        values = values.iloc[:max_values]
    n = len(values)
    cues, negative = K.name_cues(column)
    if n == 0:
        return None
    if pd.api.types.is_object_dtype(values) and not all(
        isinstance(v, (str, int, float, bool, Decimal, _dt.date, _dt.datetime, pd.Timestamp)) for v in values.iloc[:50]
    ):
        return None  # arrays, maps, structs and bytes hold no scalar PII to match
    shares: dict[str, float] = {}
    extra: dict[str, float] = {}
    is_numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    dob, stats = _dob_share(values, "date_of_birth" in cues)
    extra.update(stats)
    shares["date_of_birth"] = dob
    if pd.api.types.is_bool_dtype(values) or stats.get("date_share", 0.0) >= 0.9:
        return _Profile(column, n, shares, cues, negative, False, False, extra)
    if is_numeric:
        if pd.api.types.is_float_dtype(values) and not (values == values.round()).all():
            return _Profile(column, n, shares, cues, negative, False, True, extra)
        text = values.astype("int64").astype(str)
    else:
        text = values.astype(str).str.strip()
    if is_numeric and "us_ssn" in cues:
        text = text.str.zfill(9)  # an SSN stored as a number lost its leading zeros
    counts = text.value_counts(sort=False)
    extra["distinct"] = float(len(counts))
    shares["credit_card"] = _share(counts, K.is_credit_card)
    shares["iban"] = 0.0 if is_numeric else _share(counts, K.is_iban)
    shares["us_ssn"] = _share(counts, lambda v: K.is_us_ssn(v, allow_plain="us_ssn" in cues))
    if not is_numeric and "us_ssn" not in cues:
        shares["us_ssn"] = max(shares["us_ssn"], _plain_ssn_share(counts, shares["us_ssn"]))
    if is_numeric:
        if "phone" in cues:
            shares["phone"] = _share(counts, lambda v: 8 <= len(v) <= 15)
        if "postcode" in cues:
            shares["postcode"] = _share(counts, lambda v: 3 <= len(v) <= 6)
        return _Profile(column, n, shares, cues, negative, False, True, extra)
    shares["email"] = _share(counts, K.is_email)
    shares["ip_address"] = _share(counts, K.is_ip)
    shares["phone"] = _share(counts, K.is_phone)
    shares["postcode"] = _share(counts, K.is_postcode)
    extra["strong_postcode"] = _share(counts, K.is_strong_postcode)
    extra["numeric_text"] = _share(counts, lambda v: v.isdigit())
    extra["sequential"] = float(_sequential(counts.index))
    avg_words = float((counts.index.to_series().str.split().str.len() * counts.values).sum() / counts.sum())
    avg_len = float((counts.index.to_series().str.len() * counts.values).sum() / counts.sum())
    extra["avg_words"] = avg_words
    extra["avg_len"] = avg_len
    cjk_text = avg_len >= 20 and bool(counts.index.to_series().str.contains(K._CJK).mean() > 0.5)
    textual = avg_words >= 5 or cjk_text
    extra["textual"] = float(textual)
    extra["code_like"] = _code_like(counts)
    if avg_words <= 12:
        shares["person_name"] = _share(counts, K.is_person_name)
        shares["city"] = _share(counts, K.is_city)
        shares["street_address"] = _share(counts, K.is_street_address)
        extra["org"] = _share(counts, lambda v: K._is_org(v.split()), probe=False)  # a veto from 5%
        extra["placeish"] = _share(counts, _placeish)
        extra["nameish"] = _share(counts, _nameish)
    if textual:
        emb = [K.embedded_pii(v) for v in counts.index]
        hit = np.array([e is not None for e in emb])
        extra["embedded_rows"] = float((counts.values * hit).sum())
        shares["free_text_with_pii"] = float((counts.values * hit).sum() / counts.sum())
    return _Profile(column, n, shares, cues, negative, True, False, extra)


def _plain_ssn_share(counts: pd.Series, dashed: float) -> float:
    """Share of SSNs when undashed nine-digit values pass the column-level SSN structure test, else 0.

    Any nine digits pass the area/group/serial rules about 89% of the time, so single values say
    little; a column says much more: every one of many values passing (random nine-digit numbers:
    0.89^50 < 0.3%), area numbers spread over their range (not one product prefix), and no Luhn or ABA
    checksum holding for nearly all (Canadian SINs, bank routing numbers). Dashed SSNs in the same
    column lower the number of undashed values needed.
    """
    idx = counts.index.to_series()
    plain_mask = idx.str.fullmatch(r"\d{9}").to_numpy()
    plain = [v for v, ok in zip(counts.index, plain_mask, strict=True) if ok]
    total = float(counts.sum())
    plain_rows = float(counts.to_numpy()[plain_mask].sum())
    if not plain or (plain_rows + dashed * total) < 0.8 * total:
        return 0.0
    need, structure = (10, 0.95) if dashed >= 0.3 else (50, 0.99)
    if len(plain) < need or _sequential(pd.Index(plain)):
        return 0.0
    if sum(K.ssn_structure_ok(v) for v in plain) < structure * len(plain):
        return 0.0
    if sum(K.luhn_ok(v) for v in plain) > 0.5 * len(plain) or sum(K.aba_ok(v) for v in plain) > 0.5 * len(plain):
        return 0.0
    expected_areas = 898 * (1 - (1 - 1 / 898) ** len(plain))
    if len({v[:3] for v in plain}) < 0.5 * expected_areas:
        return 0.0
    return dashed + plain_rows / total


_CODE = re.compile(r"^[A-Z]{2,4}$")


def _code_like(counts: pd.Series) -> float:
    """Share of values that are short upper-case letter codes of one length (IATA, ISO, ticker codes)."""
    if len(counts) < 5:
        return 0.0
    lens = np.array([len(v) if _CODE.match(v) else 0 for v in counts.index], dtype=np.int64)
    weights = counts.to_numpy()
    if not (lens > 0).any():
        return 0.0
    by_len = np.bincount(lens, weights=weights)
    by_len[0] = 0
    return float(by_len.max() / weights.sum())


def _sequential(index: pd.Index) -> bool:
    # parsed by hand: pd.to_numeric can crash on long digit strings
    nums = [int(v) for v in index if isinstance(v, str) and v.isdigit() and len(v) <= 18]
    if len(nums) < 10 or len(nums) < 0.9 * len(index):
        return False
    s = np.sort(np.asarray(nums, dtype=np.int64))
    return bool((np.diff(s) <= 2).mean() >= 0.9)


def _placeish(v: str) -> bool:
    return bool(v) and not any(ch.isdigit() for ch in v) and len(v.split()) <= 5 and (
        v[0].isupper() or bool(K._CJK.search(v))
    )


def _nameish(v: str) -> bool:
    toks = v.split()
    return 1 <= len(toks) <= 5 and not any(ch.isdigit() for ch in v) and "@" not in v and (
        all(t[0].isupper() or t.lower() in K._PARTICLES for t in toks) or bool(K._CJK.search(v))
    )


def _name_diverse(p: _Profile) -> bool:
    """Whether a column without a name cue has the spread of values people's names have: at least
    20 distinct values, or half of them distinct in a small sample. A handful of values repeated
    over thousands of rows ("Turbo-fan", "Turbo-jet": an engine type) is a category, whatever
    name lists its words happen to be in."""
    distinct = p.extra.get("distinct", float(p.n))
    return distinct >= min(20.0, 0.5 * p.n)


def _candidates(p: _Profile) -> dict[str, tuple[float, str]]:
    """Kinds this column passes, each with the share used and a short reason."""
    out: dict[str, tuple[float, str]] = {}
    s, cues, neg, x = p.shares, p.cues, p.negative, p.extra

    def take(kind: str, share: float, why: str) -> None:
        out[kind] = (share, why)

    for kind in _STRONG:
        share = s.get(kind, 0.0)
        if share >= (0.5 if kind in cues else 0.8):
            take(kind, share, f"valid {kind.replace('_', ' ')} values")
    if s.get("date_of_birth", 0.0) >= (0.5 if "date_of_birth" in cues else 0.9) and (neg is None or "date_of_birth" in cues):
        take("date_of_birth", s["date_of_birth"], "dates spanning decades of birth years" if "date_of_birth" not in cues else "plausible birth dates")
    if not p.is_string:
        if p.is_numeric:
            for kind in ("phone", "postcode"):
                if kind in cues and s.get(kind, 0.0) >= 0.8:
                    take(kind, s[kind], "numbers of the right length")
        return out
    blocked = neg is not None
    phone = s.get("phone", 0.0)
    if "phone" in cues and phone >= 0.5 or (not blocked and phone >= 0.8 and x.get("sequential", 0) == 0):
        take("phone", phone, "phone-shaped values")
    pc = s.get("postcode", 0.0)
    if "postcode" in cues and pc >= 0.7:
        take("postcode", pc, "postcode-shaped values")
    elif not blocked and x.get("strong_postcode", 0.0) >= 0.9:
        take("postcode", x["strong_postcode"], "values in a national postcode format")
    if x.get("code_like", 0.0) >= 0.8:  # "JFK", "LHR": codes, whatever the column name says
        return out
    street = s.get("street_address", 0.0)
    if street >= (0.4 if "street_address" in cues else 0.7):
        take("street_address", street, "street words and house numbers")
    city, person, org = s.get("city", 0.0), s.get("person_name", 0.0), x.get("org", 0.0)
    if "city" in cues and (city >= 0.2 or x.get("placeish", 0.0) >= 0.8) and org < 0.1:
        take("city", max(city, x.get("placeish", 0.0)), "place names")
    elif not blocked and org < 0.05 and (city >= 0.6 or (city >= 0.25 and city + person >= 0.85)):
        take("city", city, "known cities or city prefixes/suffixes")
    # under a bare "name" header, one capitalised word a row that is seldom a known name is a label
    # ("Action", "Comedy": a category's name), not a person: name-shaped alone does not make it one
    # (CJK names are one word without spaces: not for "名")
    label_like = (cues.get("person_name") in K.BARE_NAME_CUES - {"名"} and person < 0.4
                  and x.get("avg_words", 2.0) < 1.2)
    nameish = x.get("nameish", 0.0) >= 0.9 and not label_like
    if "person_name" in cues and org < 0.1 and city < 0.25 and (person >= 0.4 or nameish):
        take("person_name", max(person, x.get("nameish", 0.0) * 0.9), "name-shaped values")
    elif not blocked and org < 0.05 and city < 0.25 and person >= 0.7 and _name_diverse(p):
        take("person_name", person, "values are known given or family names")
    ft = s.get("free_text_with_pii", 0.0)
    if x.get("textual", 0.0) and x.get("embedded_rows", 0.0) >= 2 and ft >= 0.02:
        if not out or max(v[0] for v in out.values()) < 0.5:
            take("free_text_with_pii", ft, "free text with e-mails, phones or card numbers inside")
    return out


def _confidence(kind: str, share: float, cue: bool) -> float:
    base = 0.55 + 0.4 * share if kind in _STRONG else 0.45 + 0.4 * share
    if kind == "free_text_with_pii":
        base = 0.6 + 0.3 * min(1.0, share * 5)
    return round(min(1.0, base + (0.1 if cue else 0.0)), 3)


def _decide(p: _Profile, context_address: bool) -> PIIDetection | None:
    cands = _candidates(p)
    if not cands and context_address and p.is_string and p.negative is None:
        if p.shares.get("postcode", 0.0) >= 0.9 and p.extra.get("sequential", 0) == 0:
            cands["postcode"] = (p.shares["postcode"], "postcode-shaped values next to address columns")
    if not cands:
        return None
    kind = max(cands, key=lambda k: (round(cands[k][0], 2), -_PRIORITY.index(k)))
    share, why = cands[kind]
    cue = p.cues.get(kind)
    conf = _confidence(kind, share, cue is not None)
    if "next to address" in why:
        conf = round(conf - 0.15, 3)
    evidence = f"{share:.0%} of {p.n} sampled values: {why}" + (f"; column name cue '{cue}'" if cue else "")
    return PIIDetection(p.column, kind, conf, SUGGESTED_ACTIONS[kind], round(share, 4), cue, p.n, evidence)


def detect_pii_pandas(
    pdf: pd.DataFrame, *, max_values: int = 2000, min_confidence: float = 0.5, columns: Sequence[str] | None = None
) -> list[PIIDetection]:
    """Detect the PII kind of each column of a (sampled) pandas DataFrame.

    The frame is treated as one table: a numeric postcode without a name cue is only reported
    when the table also has street-address or city columns.

    Args:
        pdf: The sample; only the first `max_values` non-null values of each column are read.
        max_values: Bound on values looked at per column.
        min_confidence: Detections below this confidence are left out.
        columns: Only these columns (default: all).

    Returns:
        One `PIIDetection` per column found to hold personal data, in column order.
    """
    if max_values < 1:
        raise PrivacyError(f"detect_pii: max_values must be at least 1, got {max_values}")
    names = list(columns) if columns is not None else [str(c) for c in pdf.columns]
    missing = [c for c in names if c not in pdf.columns]
    if missing:
        raise PrivacyError(f"detect_pii: column(s) {missing} are not in the data. Known columns: {list(pdf.columns)}")
    profiles = [p for c in names if (p := _profile(c, pdf[c], max_values)) is not None]
    first = {p.column: _decide(p, False) for p in profiles}
    context = any(d is not None and d.kind in {"street_address", "city"} for d in first.values()) or any(
        "street_address" in p.cues or "city" in p.cues for p in profiles
    )
    out = []
    for p in profiles:
        det = first[p.column] if first[p.column] is not None or not context else _decide(p, True)
        if det is not None and det.confidence >= min_confidence:
            out.append(det)
    return out


def detections_to_pandas(detections: Iterable[PIIDetection]) -> pd.DataFrame:
    """The detections as a pandas DataFrame (one row per column, the dataclass fields as columns)."""
    fields = list(PIIDetection.__dataclass_fields__)
    return pd.DataFrame([d.to_dict() for d in detections], columns=fields)


# ----------------------------------------------------------------------------- rules and metadata
def rules_from_detection(
    detections: Iterable[PIIDetection],
    *,
    min_confidence: float = 0.0,
    actions: Mapping[str, str] | None = None,
    locale: str | None = None,
    locale_column: str | None = None,
) -> dict[str, PIIRule]:
    """Turn detections into `{column: PIIRule}` using each detection's suggested action.

    Args:
        detections: What `detect_pii` returned.
        min_confidence: Skip detections below this confidence.
        actions: Override the action per kind or per column, e.g. `{"email": "fake"}`; column
            names take precedence over kinds.
        locale: A fixed Faker locale for every fake rule.
        locale_column: The column that picks the locale of each row for fake rules.
    """
    overrides = dict(actions or {})
    rules: dict[str, PIIRule] = {}
    for d in detections:
        if d.confidence < min_confidence:
            continue
        action = overrides.get(d.column, overrides.get(d.kind, d.suggested_action))
        kw: dict[str, Any] = {"action": action, "kind": d.kind}
        if action == "fake":
            kw.update(locale=locale, locale_column=locale_column)
        try:
            rules[d.column] = PIIRule(**kw)
        except ValueError as exc:
            raise PrivacyError(f"Column '{d.column}' ({d.kind}): cannot build a PII rule with action {action!r}: {exc}") from exc
    return rules


def apply_rules_to_metadata(metadata: Metadata, table_name: str, rules: Mapping[str, PIIRule | Mapping[str, Any] | str]) -> Metadata:
    """Return a copy of `metadata` where the columns of `table_name` carry the given PII rules.

    Args:
        metadata: The metadata (not changed).
        table_name: The table the rules are for.
        rules: `{column: PIIRule}` (or a dict of rule fields, or an action name); `None`-free.

    Raises:
        PrivacyError: The table is unknown, has no columns yet, or lacks a rule's column.
    """
    if table_name not in metadata.tables:
        raise PrivacyError(
            f"apply_rules_to_metadata: table '{table_name}' is not in the metadata. Known tables: {sorted(metadata.tables)}"
        )
    table = metadata.tables[table_name]
    if not table.columns:
        raise PrivacyError(
            f"apply_rules_to_metadata: table '{table_name}' has no columns yet. Detect the metadata first "
            "(Metadata.detect or spark.synth.detect_metadata) so PII rules can be attached to its columns."
        )
    from pyspark_synth.privacy.scrub import normalize_rules

    parsed = normalize_rules(rules, where=f"table '{table_name}'")
    known = table.column_names
    missing = [c for c in parsed if c not in known]
    if missing:
        raise PrivacyError(
            f"apply_rules_to_metadata: table '{table_name}' has no column(s) {missing}. Known columns: {known}"
        )
    for col, rule in parsed.items():
        if rule.locale_column is not None and rule.locale_column not in known:
            raise PrivacyError(
                f"PII rule of '{table_name}.{col}': locale_column '{rule.locale_column}' is not a column of the "
                f"table. Known columns: {known}"
            )
    new_cols: list[Column] = [c.model_copy(update={"pii": parsed[c.name]}) if c.name in parsed else c for c in table.columns]
    return metadata.with_table(table.model_copy(update={"columns": tuple(new_cols)}))
