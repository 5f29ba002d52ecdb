"""Scrubbing PII in pandas: drop, mask, HMAC hash, locale-aware fake, keep, custom; nulls stay null.

`plan_scrub` validates rules against the columns and the key before any data is touched (the Spark
edge calls it before building its plan); `apply_scrub` runs a plan on one pandas batch, vectorised
over the batch's distinct values. A plan travels to executors as plain data (`ScrubPlan.payload`):
rule dictionaries and key bytes, nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from pyspark_synth._log import get_logger
from pyspark_synth.errors import PrivacyError
from pyspark_synth.metadata import PII_ACTIONS, PIIRule, Table, format_validation_error
from pyspark_synth.privacy.fake import fake_series, resolve_fake_rule
from pyspark_synth.privacy.keys import SecretKey, missing_key_error, resolve_key
from pyspark_synth.privacy.locales import (
    DEFAULT_LOCALE,
    as_text,
    available_locales,
    find_locale_column,
    locales_for,
)

__all__ = [
    "ScrubPlan",
    "apply_scrub",
    "as_text",
    "hash_series",
    "hmac_hex",
    "mask_series",
    "normalize_rules",
    "plan_scrub",
    "scrub_pandas",
]

_log = get_logger("privacy.scrub")
_HASH_DOMAIN = b"pyspark_synth.hash.v1\x1f"

RulesLike = Mapping[str, PIIRule | Mapping[str, Any] | str] | Table


# ----------------------------------------------------------------------------- rules
def normalize_rules(rules: RulesLike, *, where: str = "scrub") -> dict[str, PIIRule]:
    """`{column: PIIRule}` from PIIRules, dicts of rule fields, action names, or a metadata Table.

    Raises:
        PrivacyError: A rule is not valid (unknown action, custom without function, ...).
    """
    if isinstance(rules, Table):
        return {c.name: c.pii for c in rules.columns if c.pii is not None}
    if not isinstance(rules, Mapping):
        raise PrivacyError(
            f"{where}: rules must be a mapping {{column: PIIRule | dict | action}} or a metadata Table, "
            f"got {type(rules).__name__}"
        )
    out: dict[str, PIIRule] = {}
    for col, rule in rules.items():
        if isinstance(rule, PIIRule):
            out[str(col)] = rule
            continue
        spec: dict[str, Any] = {"action": rule} if isinstance(rule, str) else dict(rule) if isinstance(rule, Mapping) else {}
        if not spec:
            raise PrivacyError(f"{where}: rule for column '{col}' must be a PIIRule, a dict or an action name, got {rule!r}")
        action = spec.get("action")
        if action not in PII_ACTIONS:
            raise PrivacyError(
                f"{where}: rule for column '{col}' has unknown action {action!r}. Use one of {list(PII_ACTIONS)}."
            )
        try:
            out[str(col)] = PIIRule(**spec)
        except ValidationError as exc:
            raise PrivacyError(f"{where}: rule for column '{col}' is not valid: {format_validation_error(exc)}") from exc
    return out


def _import_function(path: str, column: str) -> Callable[[pd.Series], pd.Series]:
    module_name, _, func_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        func = getattr(module, func_name)
    except (ImportError, AttributeError) as exc:
        raise PrivacyError(
            f"PII rule for column '{column}': custom function '{path}' cannot be imported ({type(exc).__name__}: "
            f"{exc}). Give 'module:function' of a function importable on the driver and the executors."
        ) from None
    if not callable(func):
        raise PrivacyError(f"PII rule for column '{column}': '{path}' is not callable")
    return func  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class ScrubPlan:
    """Validated rules for a set of input columns; repr never shows the key.

    Attributes:
        columns: Input columns in order.
        rules: `{column: PIIRule}` for the columns that have one.
        key: The HMAC key (None when no rule needs one).
        locale_columns: For fake rules without a fixed locale: the column that picks the locale.
        hash_length: Hex characters kept of each HMAC (None: all 64).
        value_locales: `{kind: {value text: locale}}` voted over every table of a database
            (`locales.resolve_value_locales`); a value found there is faked in that locale, so it
            gets the same fake in tables with and without a locale column.
        output_columns: Columns of the result (dropped ones removed).
    """

    columns: tuple[str, ...]
    rules: dict[str, PIIRule]
    key: SecretKey | None = field(default=None)
    locale_columns: dict[str, str | None] = field(default_factory=dict)
    hash_length: int | None = None
    value_locales: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    @property
    def output_columns(self) -> list[str]:
        """The result's columns: the input's minus dropped ones."""
        return [c for c in self.columns if not (c in self.rules and self.rules[c].action == "drop")]

    @property
    def changed_columns(self) -> list[str]:
        """Columns whose values the plan rewrites (and which become strings)."""
        return [c for c, r in self.rules.items() if r.action in {"mask", "hash", "fake", "custom"}]

    def payload(self) -> dict[str, Any]:
        """The plan as plain data (dicts, strings, bytes) for a UDF closure."""
        return {
            "columns": list(self.columns),
            "rules": {c: r.model_dump() for c, r in self.rules.items()},
            "key": self.key.reveal() if self.key is not None else None,
            "locale_columns": dict(self.locale_columns),
            "hash_length": self.hash_length,
            "value_locales": {k: dict(v) for k, v in self.value_locales.items()},
        }

    def describe(self) -> dict[str, str]:
        """`{column: action}` plus the locale source of fakes; safe to log."""
        out = {}
        for c, r in self.rules.items():
            extra = ""
            if r.action == "fake":
                extra = f"({r.kind}, locale {r.locale or self.locale_columns.get(c) or DEFAULT_LOCALE})"
            out[c] = r.action + extra
        return out


def plan_scrub(
    columns: Sequence[str],
    rules: RulesLike,
    *,
    key: SecretKey | bytes | str | None = None,
    conf_key: str | None = None,
    hash_length: int | None = None,
    value_locales: Mapping[str, Mapping[str, str]] | None = None,
) -> ScrubPlan:
    """Check rules against the columns and find the key; raises before any data is read.

    Args:
        columns: The input's column names.
        rules: `{column: PIIRule | dict | action}` or a metadata Table with PII rules.
        key: The HMAC key; else `conf_key` (the Spark conf value), else $PYSPARK_SYNTH_HMAC_KEY.
        conf_key: The value of the Spark conf `spark.synth.hmacKey`, when the caller has a session.
        hash_length: Keep this many hex characters of each hash (8..64); None keeps 64.
        value_locales: `{kind: {value text: locale}}` for fakes that must agree across tables (see
            `ScrubPlan.value_locales`); None: each row's own locale.

    Raises:
        PrivacyError: A rule names a missing column, has an unknown action or fake kind (a fake rule
            without a kind takes it from the column name, see `fake.fake_kind_from_name`), a custom
            function cannot be imported, a locale or locale_column is unknown, or hash/fake rules
            have no key.
    """
    cols = [str(c) for c in columns]
    parsed = normalize_rules(rules)
    missing = [c for c in parsed if c not in cols]
    if missing:
        raise PrivacyError(
            f"scrub: PII rule(s) for column(s) {missing} but the data has no such column. Known columns: {cols}. "
            "Fix the column names or remove those rules."
        )
    if hash_length is not None and not 8 <= hash_length <= 64:
        raise PrivacyError(f"scrub: hash_length must be between 8 and 64 hex characters, got {hash_length}")
    locale_columns: dict[str, str | None] = {}
    auto = find_locale_column(cols)
    for c, r in parsed.items():
        if r.action == "custom":
            _import_function(r.function or "", c)
        if r.locale_column is not None and r.locale_column not in cols:
            raise PrivacyError(
                f"scrub: PII rule for column '{c}' takes its locale from column '{r.locale_column}', which the data "
                f"does not have. Known columns: {cols}. Fix locale_column or set a fixed locale."
            )
        if r.action == "fake":
            parsed[c] = r = resolve_fake_rule(c, r, where="scrub")  # a kind from the name, or refused
            if r.locale is not None and r.locale not in available_locales():
                raise PrivacyError(
                    f"scrub: PII rule for column '{c}' uses locale {r.locale!r}, which Faker does not know. "
                    "Use a locale such as 'ja_JP', 'de_DE' or 'pt_BR'."
                )
            locale_columns[c] = None if r.locale else (r.locale_column or auto)
    needs_key = [c for c, r in parsed.items() if r.action in {"hash", "fake"}]
    secret = resolve_key(key, conf_value=conf_key) if needs_key else None
    if needs_key and secret is None:
        raise missing_key_error(needs_key)
    vl = {str(k): dict(v) for k, v in (value_locales or {}).items()}
    plan = ScrubPlan(tuple(cols), parsed, secret, locale_columns, hash_length, vl)
    _log.debug("scrub planned", rules=plan.describe(), key_source=secret.source if secret else None,
               key_fingerprint=secret.fingerprint if secret else None)
    return plan


# ----------------------------------------------------------------------------- transforms
def hmac_hex(key: bytes, value: str, length: int | None = None) -> str:
    """HMAC-SHA256 of a value's text under `key`, as lower-case hex (optionally truncated)."""
    digest = hmac.new(key, _HASH_DOMAIN + value.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:length] if length else digest


def _per_distinct(text: pd.Series, func: Callable[[str], str]) -> pd.Series:
    out = pd.Series([None] * len(text.index), index=text.index, dtype=object)
    present = text.notna().to_numpy()
    if present.any():
        codes, uniques = pd.factorize(text[present])
        mapped = np.array([func(u) for u in uniques], dtype=object)
        out[present] = mapped[codes]
    return out


def hash_series(values: pd.Series, key: bytes, *, length: int | None = None) -> pd.Series:
    """HMAC-SHA256 hex of each value (same value -> same hash in every table); nulls stay null."""
    return _per_distinct(as_text(values), lambda v: hmac_hex(key, v, length))


def mask_series(values: pd.Series, *, keep_last: int = 4, mask_char: str = "*") -> pd.Series:
    """Replace all but the last `keep_last` characters by `mask_char`; nulls stay null.

    Values not longer than `keep_last` are masked entirely (else the mask would show all of them).
    """
    text = as_text(values)
    out = pd.Series([None] * len(values.index), index=values.index, dtype=object)
    present = text.notna().to_numpy()
    if not present.any():
        return out
    t = text[present].astype(str)
    lens = t.str.len().to_numpy()
    visible = np.where(lens > keep_last, keep_last, 0)
    tails = t.str.slice(start=-keep_last) if keep_last > 0 else pd.Series("", index=t.index)
    tails = tails.where(visible > 0, "")
    stars = pd.Series(mask_char, index=t.index).str.repeat((lens - visible).tolist())
    out[present] = (stars + tails).to_numpy()
    return out


def _row_locales(pdf: pd.DataFrame, rule: PIIRule, locale_column: str | None) -> pd.Series | str:
    if rule.locale:
        return rule.locale
    if locale_column is None or locale_column not in pdf.columns:
        return DEFAULT_LOCALE
    return locales_for(pdf[locale_column], DEFAULT_LOCALE)


def apply_scrub(pdf: pd.DataFrame, plan: ScrubPlan | Mapping[str, Any]) -> pd.DataFrame:
    """Apply a plan (or its `payload()`) to one pandas batch; returns the scrubbed batch.

    Changed columns come back as strings (object dtype with None for nulls); kept ones unchanged.
    """
    if isinstance(plan, ScrubPlan):
        rules, key = plan.rules, plan.key.reveal() if plan.key else None
        locale_columns, hash_length, value_locales = plan.locale_columns, plan.hash_length, plan.value_locales
    else:
        rules = {c: PIIRule(**r) for c, r in plan["rules"].items()}
        key, locale_columns, hash_length = plan["key"], plan["locale_columns"], plan["hash_length"]
        value_locales = plan.get("value_locales") or {}
    out: dict[str, pd.Series] = {}
    for col in pdf.columns:
        rule = rules.get(col)
        s = pdf[col]
        if rule is None or rule.action == "keep":
            out[col] = s
        elif rule.action == "drop":
            continue
        elif rule.action == "mask":
            out[col] = mask_series(s, keep_last=rule.keep_last, mask_char=rule.mask_char)
        elif rule.action == "hash":
            out[col] = hash_series(s, key, length=hash_length)  # type: ignore[arg-type]
        elif rule.action == "fake":
            locales = _row_locales(pdf, rule, locale_columns.get(col))
            out[col] = fake_series(s, rule.kind or "", locales, key, as_text(s),  # type: ignore[arg-type]
                                   value_locales=value_locales.get(rule.kind or ""))
        else:  # custom
            func = _import_function(rule.function or "", col)
            res = func(s.copy())
            if not isinstance(res, pd.Series) or len(res) != len(s):
                raise PrivacyError(
                    f"PII rule for column '{col}': custom function '{rule.function}' must return a pandas Series "
                    f"of the same length ({len(s)}), got {type(res).__name__}"
                    + (f" of length {len(res)}" if hasattr(res, "__len__") else "")
                )
            res = as_text(pd.Series(res.to_numpy(), index=s.index))
            res[s.isna().to_numpy()] = None
            out[col] = res
    return pd.DataFrame(out, index=pdf.index)


def scrub_pandas(
    pdf: pd.DataFrame,
    rules: RulesLike,
    *,
    key: SecretKey | bytes | str | None = None,
    hash_length: int | None = None,
    value_locales: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """Scrub a pandas DataFrame: validate the rules (see `plan_scrub`), then apply them."""
    plan = plan_scrub(list(pdf.columns), rules, key=key, hash_length=hash_length, value_locales=value_locales)
    return apply_scrub(pdf, plan)
