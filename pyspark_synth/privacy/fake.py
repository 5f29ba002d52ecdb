"""Deterministic, locale-aware fake values: a Faker per locale, seeded per value from an HMAC of it.

The fake for a value depends only on (key, kind, locale, value): the same customer name becomes
the same fake name in every table, partition and run that use the same key. Each Faker instance
is seeded with `seed_instance` (its own random state); the global `Faker.seed` is never touched.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FAKE_KINDS", "fake_seed", "fake_value", "fake_series"]

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


def fake_series(values: pd.Series, kind: str, locales: pd.Series | str, key: bytes, text: pd.Series) -> pd.Series:
    """Fake every non-null value of a column, one Faker call per distinct (value, locale) pair.

    Args:
        values: The original column (its nulls stay null).
        kind: A kind from `FAKE_KINDS`.
        locales: One locale for all rows, or a Series of per-row locales.
        key: The HMAC key bytes.
        text: The values as canonical text (see `scrub.as_text`), same index as `values`.
    """
    out = pd.Series([None] * len(values.index), index=values.index, dtype=object)
    present = values.notna().to_numpy()
    if not present.any():
        return out
    vals = text[present].astype(str)
    locs = pd.Series(locales, index=values.index)[present] if isinstance(locales, str) else locales[present]
    pairs = vals + "\x1f" + locs.astype(str)
    codes, uniques = pd.factorize(pairs)
    fakes = np.empty(len(uniques), dtype=object)
    for i, pair in enumerate(uniques):
        value, locale = pair.rsplit("\x1f", 1)
        fakes[i] = fake_value(key, kind, locale, value)
    out[present] = fakes[codes]
    return out
