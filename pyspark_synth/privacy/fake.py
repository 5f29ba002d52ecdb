"""Deterministic, locale-aware fake values: a Faker per locale, seeded per value from an HMAC of it.

The fake for a value depends only on (key, kind, locale, value): the same customer name becomes
the same fake name in every table, partition and run that use the same key. Each Faker instance
is seeded with `seed_instance` (its own random state); the global `Faker.seed` is never touched.

Sampling-time fakes (`sampled_fakes`, the kernel's fake step) never see an original value: the
"value" is the generated row's entity (its primary key, or the foreign key of a parent whose fake
it repeats) and the key is derived from the sampling seed (`sampling_key`), so sampling needs no
HMAC key and gives the same fakes for the same seed on every path.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.errors import PrivacyError
from pyspark_synth.metadata import PIIRule
from pyspark_synth.privacy.locales import (
    DEFAULT_LOCALE,
    VOTE_COLUMNS,
    LocaleSource,
    as_text,
    key_text,
    locales_for,
    row_locales,
    value_locale_votes,
)

__all__ = [
    "FAKE_KINDS",
    "consistent_fake_votes",
    "consistent_fakes",
    "fake_kind_from_name",
    "fake_seed",
    "fake_series",
    "fake_value",
    "resolve_fake_rule",
    "sampled_fakes",
    "sampling_key",
]

_FAKERS: dict[str, Any] = {}
_MAX_RETRIES = 8


def _faker(locale: str) -> Any:
    f = _FAKERS.get(locale)
    if f is None:
        from faker import Faker

        f = _FAKERS[locale] = Faker(locale)
    return f


def _street(f: Any, locale: str) -> str:
    if locale.startswith("ja"):
        return f"{f.town()}{f.chome()}{f.ban()}{f.gou()}"
    return f.street_address()


def _address(f: Any, locale: str) -> str:
    return f.address().replace("\n", ", ")


def _ip(f: Any, original: str) -> str:
    return f.ipv6() if ":" in original else f.ipv4()


_GENERATORS: dict[str, Callable[[Any, str, str], str]] = {
    "person_name": lambda f, loc, v: f.name(),
    "name": lambda f, loc, v: f.name(),
    "first_name": lambda f, loc, v: f.first_name(),
    "last_name": lambda f, loc, v: f.last_name(),
    "email": lambda f, loc, v: f.email(),
    "phone": lambda f, loc, v: f.phone_number(),
    "street_address": lambda f, loc, v: _street(f, loc),
    "address": lambda f, loc, v: _address(f, loc),
    "city": lambda f, loc, v: f.city(),
    "postcode": lambda f, loc, v: f.postcode(),
    "us_ssn": lambda f, loc, v: f.ssn(),
    "credit_card": lambda f, loc, v: f.credit_card_number(),
    "iban": lambda f, loc, v: f.iban(),
    "ip_address": lambda f, loc, v: _ip(f, v),
    "date_of_birth": lambda f, loc, v: f.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
    "free_text_with_pii": lambda f, loc, v: f.sentence(nb_words=10),
    "company": lambda f, loc, v: f.company(),
    "user_name": lambda f, loc, v: f.user_name(),
}
# Kinds that are US-only: always generated with en_US whatever the row's locale.
_FIXED_LOCALE = {"us_ssn": "en_US"}
FAKE_KINDS: tuple[str, ...] = tuple(_GENERATORS)

# Column names (lower-case, tokens joined by "_") that ask for a narrower fake than their PII kind.
_NAMED_FAKES: dict[str, str] = {
    **dict.fromkeys(("first_name", "firstname", "given_name", "forename", "vorname", "prenom", "prénom",
                     "primeiro_nome", "nombre_pila", "imie", "imię", "имя"), "first_name"),
    **dict.fromkeys(("last_name", "lastname", "surname", "family_name", "nachname", "sobrenome", "apellido",
                     "apellidos", "nazwisko", "фамилия"), "last_name"),
    **dict.fromkeys(("company", "company_name", "employer", "firm", "firma"), "company"),
    **dict.fromkeys(("username", "user_name", "login", "login_name", "screen_name", "nickname"), "user_name"),
}
# When a column name hints at several kinds ("contact_phone": phone and person_name), the first wins.
_NAME_KIND_ORDER = ("iban", "credit_card", "us_ssn", "email", "ip_address", "date_of_birth", "postcode", "phone",
                    "street_address", "city", "person_name", "free_text_with_pii")


def fake_kind_from_name(column: str) -> str | None:
    """The fake kind a column name asks for ("full_name" -> person_name, "vorname" -> first_name), or None.

    Uses the detector's column-name cues (`privacy._kinds.name_cues`); a name whose cues are vetoed by an
    owner word ("product_name") gives None.
    """
    from pyspark_synth.privacy._kinds import _name_tokens, name_cues

    joined = "_".join(_name_tokens(column))
    if joined in _NAMED_FAKES:
        return _NAMED_FAKES[joined]
    cues, _ = name_cues(column)
    return next((k for k in _NAME_KIND_ORDER if k in cues), None)


def resolve_fake_rule(column: str, rule: PIIRule, *, where: str, detected_kind: str | None = None,
                      detection_ran: bool = False, hint: str = "") -> PIIRule:
    """A fake rule with its kind checked, or filled in from the column name, else from detection.

    Args:
        column: The column the rule is for.
        rule: The rule (returned unchanged unless it is a fake rule).
        where: Where the rule comes from, for the error message ("PrivacyConfig table 'users'").
        detected_kind: The kind detection found in the column's data, if any (used after the name).
        detection_ran: Whether detection looked at the column's data (said in the error).
        hint: Extra advice appended to the error (e.g. ", or set auto_detect=True ...").

    Raises:
        PrivacyError: The kind is unknown, or missing and neither the name nor detection gives one;
            the message lists the kinds that can be faked.
    """
    if rule.action != "fake":
        return rule
    if rule.kind is not None:
        if rule.kind not in _GENERATORS:
            raise PrivacyError(
                f"{where}: the fake rule of column '{column}' fakes kind {rule.kind!r}, which has no generator. "
                f"Set kind to one of {list(FAKE_KINDS)}, or use action 'hash', 'mask' or 'custom'."
            )
        return rule
    kind = fake_kind_from_name(column) or (detected_kind if detected_kind in _GENERATORS else None)
    if kind is None:
        found = " nor did detection find a PII kind in its data" if detection_ran else ""
        raise PrivacyError(
            f"{where}: the fake rule of column '{column}' has no kind; its name does not say one{found}. "
            f"Give it a kind, e.g. {{'action': 'fake', 'kind': 'person_name'}}; the kinds that can be faked are "
            f"{list(FAKE_KINDS)}{hint}."
        )
    return rule.model_copy(update={"kind": kind})


def fake_seed(key: bytes, kind: str, locale: str, value: str, attempt: int = 0) -> int:
    """The Faker seed of one value: the first 8 bytes of HMAC-SHA256(key, kind|locale|value[|attempt])."""
    msg = f"{kind}|{locale}|{value}" + (f"|{attempt}" if attempt else "")
    return int.from_bytes(hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()[:8], "big")


def fake_value(key: bytes, kind: str, locale: str, value: str) -> str:
    """The fake of one value (never the value itself)."""
    locale = _FIXED_LOCALE.get(kind, locale)
    f = _faker(locale)
    gen = _GENERATORS[kind]
    for attempt in range(_MAX_RETRIES):
        f.seed_instance(fake_seed(key, kind, locale, value, attempt))
        out = gen(f, locale, value)
        if out != value:
            return out
    return out  # pragma: no cover - 8 collisions in a row


def fake_series(
    values: pd.Series,
    kind: str,
    locales: pd.Series | str,
    key: bytes,
    text: pd.Series,
    *,
    value_locales: Mapping[str, str] | None = None,
    default: str = DEFAULT_LOCALE,
) -> pd.Series:
    """Fake every non-null value of a column, one Faker call per distinct (value, locale) pair.

    The fake of a value depends on (key, kind, locale, value) only. For the same value to get the
    same fake in every table, it needs the same locale everywhere: `value_locales` (one locale per
    value, see `locales.resolve_value_locales`) gives it and wins over the row's own locale.

    Args:
        values: The original column (its nulls stay null).
        kind: A kind from `FAKE_KINDS`.
        locales: One locale for all rows, or a Series of per-row locales (None: `default`).
        key: The HMAC key bytes.
        text: The values as canonical text (see `scrub.as_text`), same index as `values`.
        value_locales: `{value text: locale}` resolved over all tables; values not in it keep their
            row's locale.
        default: The locale of rows with none.
    """
    out = pd.Series([None] * len(values.index), index=values.index, dtype=object)
    present = values.notna().to_numpy()
    if not present.any():
        return out
    vals = text[present].astype(str)
    locs = pd.Series(locales, index=values.index)[present] if isinstance(locales, str) else locales[present]
    locs = locs.astype(object).where(locs.notna(), default)
    if value_locales:
        chosen = vals.map(value_locales)
        locs = chosen.where(chosen.notna(), locs)
    pairs = vals + "\x1f" + locs.astype(str)
    codes, uniques = pd.factorize(pairs)
    fakes = np.empty(len(uniques), dtype=object)
    for i, pair in enumerate(uniques):
        value, locale = pair.rsplit("\x1f", 1)
        fakes[i] = fake_value(key, kind, locale, value)
    out[present] = fakes[codes]
    return out


# ----------------------------------------------------------------------------- one fake per value across tables
def _rule(spec: PIIRule | Mapping[str, Any]) -> PIIRule:
    return spec if isinstance(spec, PIIRule) else PIIRule(**spec)


def _source(spec: LocaleSource | Mapping[str, Any] | None) -> LocaleSource:
    if spec is None:
        return LocaleSource()
    return spec if isinstance(spec, LocaleSource) else LocaleSource.from_dict(spec)


def _parent_map(source: LocaleSource, parent_maps: Mapping[str, Mapping[str, str]] | None) -> Mapping[str, str] | None:
    if source.kind != "parent":
        return None
    return (parent_maps or {}).get(f"{source.parent_table}.{source.parent_column}", {})


def consistent_fake_votes(
    pdf: pd.DataFrame,
    fakes: Mapping[str, PIIRule | Mapping[str, Any]],
    sources: Mapping[str, LocaleSource | Mapping[str, Any]],
    *,
    parent_maps: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """The locale votes of one batch of one table: columns kind, value, locale, n.

    Step 1 of consistent fakes. Run it over every batch of every table that has fake rules, sum `n`
    per (kind, value, locale) and resolve each kind's votes with `locales.resolve_value_locales`;
    step 2 is `consistent_fakes`.

    Args:
        pdf: One batch of the original table.
        fakes: `{column: PIIRule}` (or its fields) of the table's fake rules.
        sources: `{column: LocaleSource}` (or `to_dict()`); a column without one has no locale.
        parent_maps: `{"parent_table.parent_column": {key text: locale}}` for parent sources
            (`locales.parent_locales`).
    """

    parts = []
    for col, spec in fakes.items():
        rule = _rule(spec)
        source = _source(sources.get(col))
        if source.kind == "none":
            continue
        votes = value_locale_votes(as_text(pdf[col]), row_locales(pdf, source, _parent_map(source, parent_maps)))
        if len(votes):
            parts.append(votes.assign(kind=rule.kind))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "n" else object) for c in ("kind", *VOTE_COLUMNS)})
    return pd.concat(parts, ignore_index=True)[["kind", *VOTE_COLUMNS]]


def consistent_fakes(
    pdf: pd.DataFrame,
    fakes: Mapping[str, PIIRule | Mapping[str, Any]],
    sources: Mapping[str, LocaleSource | Mapping[str, Any]],
    *,
    key: bytes,
    value_locales: Mapping[str, Mapping[str, str]],
    parent_maps: Mapping[str, Mapping[str, str]] | None = None,
    default: str = DEFAULT_LOCALE,
) -> pd.DataFrame:
    """Replace the faked columns of one batch by fakes that are the same for a value in every table.

    Step 2 of consistent fakes (step 1: `consistent_fake_votes`). A value's locale is, in order:
    its entry in `value_locales[kind]` (voted over every table), the row's own locale from its
    `LocaleSource`, else `default`; the fake depends only on (key, kind, locale, value), so a
    customer's e-mail becomes the same fake in `customers` (which has a country column) and in
    `orders` (which has none). Nulls stay null; other columns are returned unchanged.

    Args:
        pdf: One batch of the original table.
        fakes: `{column: PIIRule}` (or its fields) of the table's fake rules (kinds resolved).
        sources: `{column: LocaleSource}` (or `to_dict()`).
        key: The HMAC key bytes.
        value_locales: `{kind: {value text: locale}}` from the votes of all tables.
        parent_maps: As for `consistent_fake_votes`.
        default: Locale of rows whose value and row give none.
    """

    out = pdf.copy()
    for col, spec in fakes.items():
        rule = _rule(spec)
        source = _source(sources.get(col))
        locales = row_locales(pdf, source, _parent_map(source, parent_maps))
        out[col] = fake_series(pdf[col], rule.kind or "", locales, key, as_text(pdf[col]),
                               value_locales=value_locales.get(rule.kind or "", {}), default=default).to_numpy()
    return out


# ----------------------------------------------------------------------------- fakes made at sampling
def sampling_key(seed: int) -> bytes:
    """The Faker key of sampling-time fakes: a digest of the sampling seed (fakes hold no secret)."""
    return hashlib.sha256(f"pyspark_synth.sampled-fakes\x1f{int(seed)}".encode()).digest()


def sampled_fakes(
    rows: pd.DataFrame,
    ids: Any,
    fakes: Sequence[Any],
    *,
    seed: int,
    table: str,
    context: pd.DataFrame | None = None,
) -> dict[str, pd.Series]:
    """The faked columns of one generated block (`spec.FakeColumnSpec` each), as `{column: values}`.

    A row's fake depends on (seed, kind, locale, `entity` and the row's `entity_columns` values),
    never on an original value: the same generated customer (its key) gets the same fake in
    `customers` and, through the driving foreign key, in `orders`. Rows whose entity columns are
    null, and tables without them, use the row id. A `null_rate` share of rows (a keyed hash of
    the row id) is null.

    Args:
        rows: The generated block (keys already filled).
        ids: The block's global row ids.
        fakes: The table's fake column specs.
        seed: The sampling seed.
        table: The table's name.
        context: The driving parents' generated context columns, one row per row of `rows`.
    """
    from pyspark_synth.seeds import hash_uniform

    key = sampling_key(seed)
    n = len(rows)
    id_text = pd.Series(np.asarray(ids, dtype=np.int64), index=rows.index).astype(str)
    out: dict[str, pd.Series] = {}
    for f in fakes:
        own = f"{table}.{f.column}|#" + id_text
        if f.entity_columns and all(c in rows.columns for c in f.entity_columns):
            kt = key_text(rows, tuple(f.entity_columns))
            text = (f.entity + "|" + kt.where(kt.notna(), "")).where(kt.notna(), own)
        else:
            text = own
        if f.locale is not None:
            locales: pd.Series | str = f.locale
        elif f.locale_column is not None and f.locale_column in rows.columns:
            locales = locales_for(rows[f.locale_column], DEFAULT_LOCALE)
        elif f.context_locale is not None and context is not None and f.context_locale in context.columns:
            locales = locales_for(context[f.context_locale].set_axis(rows.index), DEFAULT_LOCALE)
        else:
            locales = DEFAULT_LOCALE
        values = fake_series(text, f.kind, locales, key, text)
        if getattr(f, "date_format", None):  # a date of birth written as the real column writes dates
            from pyspark_synth.transformers.dateformats import format_dates

            values = pd.Series(format_dates(pd.to_datetime(values, errors="coerce"), f.date_format),
                               index=values.index, dtype=object)
        if f.null_rate > 0 and n:
            null = hash_uniform(seed, f"{table}/{f.column}/fakenull", pd.Series(np.asarray(ids, dtype=np.int64))) < f.null_rate
            values = values.where(~pd.Series(null, index=values.index), None)
        out[f.column] = values
    return out
