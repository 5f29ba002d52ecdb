"""Privacy settings of the seed API: PII rules per table and column, the HMAC key source, auto-detection.

Pure: no Spark. `PrivacyConfig` says what happens to each PII column; `TablePrivacy` is the
resolved plan for one table: columns scrubbed before fitting (drop, mask, HMAC hash, custom) and
columns that are not learned at all but faked at sampling time (`fake`). `fake_columns` makes those
fakes for one pandas batch of generated rows: locale-aware, seeded from the generated row (never from
an original value), and never equal to an original value (their salted digests are checked).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pyspark_synth.errors import PrivacyError
from pyspark_synth.metadata import PII_ACTIONS, Metadata, PIIRule, Table
from pyspark_synth.privacy.keys import CONF_KEY, ENV_VAR, SecretKey, missing_key_error, resolve_key
from pyspark_synth.privacy.locales import LocaleSource
from pyspark_synth.privacy.scrub import normalize_rules

__all__ = ["PrivacyConfig", "TablePrivacy", "fake_columns", "fake_database_pandas", "original_digest"]

_SCRUB_ACTIONS = frozenset({"drop", "mask", "hash", "custom"})
_FAKE_RETRIES = 16
RuleLike = PIIRule | Mapping[str, Any] | str


@dataclass(frozen=True)
class TablePrivacy:
    """The resolved privacy plan of one table.

    Attributes:
        table: The table name.
        scrub_rules: `{column: PIIRule}` applied to the data before fitting (drop, mask, hash, custom).
        fake_rules: `{column: PIIRule}` for columns removed before fitting and faked at sampling.
        positions: `{column: index}` of every faked column in the original column order.
        detected: Columns whose rule came from auto-detection.
    """

    table: str
    scrub_rules: dict[str, PIIRule] = field(default_factory=dict)
    fake_rules: dict[str, PIIRule] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    detected: tuple[str, ...] = ()

    @property
    def needs_key(self) -> list[str]:
        """Columns whose rule needs the HMAC key (hash and fake)."""
        return [c for c, r in {**self.scrub_rules, **self.fake_rules}.items() if r.action in {"hash", "fake"}]

    def describe(self) -> dict[str, str]:
        """`{column: action}` (safe to log)."""
        out = {c: r.action for c, r in self.scrub_rules.items()}
        out.update({c: f"fake({r.kind}) at sampling" for c, r in self.fake_rules.items()})
        return out


@dataclass(frozen=True)
class PrivacyConfig:
    """What to do with personal data before a model learns it, and where the HMAC key comes from.

    Rules come from the metadata's columns (`Column.pii`) and from `rules`, which wins on the
    same column. Columns with drop, mask, hash or custom rules are scrubbed before fitting; columns
    with a `fake` rule are not learned at all: they are regenerated at sampling time with
    locale-aware fakes (the locale from `PIIRule.locale`, `locale_column`, or a country/locale
    column of the generated row). Key columns (primary and foreign) can only be hashed or kept.
    Every fit path applies it the same way (`spark.privacy_step.prepare_privacy`); hash rules need
    the key, fake rules do not (sampling seeds them from the sampling seed).

    Args:
        rules: `{table: {column: PIIRule | dict | action}}`, or flat `{"table.column": rule}`.
        key: The HMAC key itself (at least 16 bytes; never shown in reprs or logs).
        key_env: Name of an environment variable that holds the key.
        key_conf: Spark conf that holds the key (default `spark.synth.hmacKey`).
        auto_detect: Detect PII columns on a bounded sample of each table and add rules for the
            columns that have none (each detection's suggested action, see `detect_actions`).
            Every fit does this by default (its `pii="suggest"` policy, see
            `spark.privacy_step`); True also lets a fake rule without a kind wait for detection,
            and combining it with `pii="ignore"` or `"strict"` is refused.
        detect_sample_rows: Rows sampled per table for detection.
        min_confidence: Detections below this confidence are ignored.
        detect_actions: Action per detected kind or column overriding the suggestion, e.g.
            `{"email": "fake"}`.
        locale: Fixed Faker locale for detected fake rules (default: each row's country column).
        hash_length: Hex characters kept of each HMAC (8..64; all 64 when None).
        locale_from: `{"table.column": "parent_table.locale_column"}`: the fake rule of that column
            takes each row's locale from the parent row its foreign key points at (an `orders`
            table without a country takes its customer's); write `"customers.country via
            buyer_id"` to pick one of several foreign keys to the same parent. A rule given as a
            dict may say the same with a `locale_from` entry. See `locale_sources`.
        rare_threshold: `k` of the rare-value protection every backend applies to its training rows
            (`transformers.rare`): a categorical value held by fewer than k rows is never
            generated, and numerical and datetime values are clipped to [k-th smallest, k-th
            largest] so no single record's extreme is stored or generated; the full-data min/max
            of non-key columns are not stored in the spec either. Default 5 (the free-text model's
            `min_rows`); 0 or None turns it off. Key columns are not affected.
        enable_differential_privacy: Fit with differential privacy: the autoregressive backend
            trains its network with DP-SGD (per-sample gradient clipping, Gaussian noise) and fits
            its encoders from DP statistics (`privacy.dp_stats`: noisy category and exact-value
            selection, noisy numeric bounds), both in one RDP account (`privacy.dp`); the spent
            (epsilon, delta) is stored in each table's spec (`model_report`) and notes. Backends
            without a sound DP mode (the copula, CTGAN, the sequence model) are refused before any
            job; "auto" trains autoregressive. Free-text columns are not learned (null). What DP
            does not cover (`privacy.dp.NOT_COVERED`: row counts, inferred types and value formats,
            foreign keys' child-count laws, key shapes) is said in the notes and warned
            (`PrivacyWarning`).
        epsilon: The privacy budget each table's training may spend (the noise is calibrated to it
            unless `noise_multiplier` is given).
        delta: The DP delta; None: 1 / (10 * training rows).
        noise_multiplier: Fixed Gaussian noise (its standard deviation over the clipping norm);
            the accountant then reports the epsilon it spends instead of aiming at `epsilon`.
        max_grad_norm: Per-sample gradient clipping norm.
        dp_statistics_share: The part of `epsilon` the encoders' DP statistics get on their own
            (None: `privacy.dp_stats.DEFAULT_SHARE`, 0.1); the rest goes to DP-SGD.

    Where a fake's locale comes from (`locale_sources`), in order: `locale_from`, the rule's fixed
    `locale`, its `locale_column`, a country/locale column of the same table, else none. Whatever the
    source, the fakes made by `fake_database_pandas` (and the Spark path built on the same two
    steps) give one original value one fake in every table: the value's locale is voted over all
    tables that give it one.

    Raises:
        PrivacyError: A rule is invalid, or the literal key is too short.
    """

    rules: Mapping[str, Mapping[str, RuleLike] | RuleLike] = field(default_factory=dict)
    key: SecretKey | bytes | str | None = field(default=None, repr=False)
    key_env: str | None = None
    key_conf: str = CONF_KEY
    auto_detect: bool = False
    detect_sample_rows: int = 2000
    min_confidence: float = 0.5
    detect_actions: Mapping[str, str] | None = None
    locale: str | None = None
    hash_length: int | None = None
    locale_from: Mapping[str, str] | None = None
    rare_threshold: int | None = 5
    enable_differential_privacy: bool = False
    epsilon: float = 3.0
    delta: float | None = None
    noise_multiplier: float | None = None
    max_grad_norm: float = 1.0
    dp_statistics_share: float | None = None

    def __post_init__(self) -> None:
        rules, from_rules = self._split_locale_from(self.rules)
        object.__setattr__(self, "rules", self._complete_rules(self._parse_rules(rules), self.auto_detect))
        object.__setattr__(self, "locale_from", self._parse_locale_from(self.locale_from, from_rules))
        if self.key is not None and not isinstance(self.key, SecretKey):
            object.__setattr__(self, "key", SecretKey(self.key, "PrivacyConfig(key=...)"))
        self._check_settings()

    @property
    def rare_k(self) -> int:
        """The rare-value threshold as the backends take it (1: protection off)."""
        return 1 if not self.rare_threshold else int(self.rare_threshold)

    def dp_settings(self) -> dict[str, Any] | None:
        """The DP-SGD settings a backend takes (`differential_privacy=`), None when DP is off."""
        if not self.enable_differential_privacy:
            return None
        return {"epsilon": float(self.epsilon), "delta": None if self.delta is None else float(self.delta),
                "noise_multiplier": None if self.noise_multiplier is None else float(self.noise_multiplier),
                "max_grad_norm": float(self.max_grad_norm),
                "statistics_share": None if self.dp_statistics_share is None else float(self.dp_statistics_share)}

    def _check_dp(self) -> None:
        from pyspark_synth.privacy.dp import check_dp_settings

        if self.rare_threshold is not None and (isinstance(self.rare_threshold, bool) or not isinstance(
                self.rare_threshold, int) or self.rare_threshold < 0):
            raise PrivacyError(f"PrivacyConfig: rare_threshold must be a whole number of rows (0 or None turns "
                               f"rare-value protection off), got {self.rare_threshold!r}")
        if not isinstance(self.enable_differential_privacy, bool):
            raise PrivacyError(f"PrivacyConfig: enable_differential_privacy must be True or False, got "
                               f"{self.enable_differential_privacy!r}")
        share = self.dp_statistics_share
        if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1):
            raise PrivacyError(f"PrivacyConfig: dp_statistics_share must be a number between 0 and 1 (the part of "
                               f"epsilon the encoders' DP statistics get; None: 0.1), got {share!r}")
        if self.enable_differential_privacy:
            check_dp_settings(self.dp_settings() or {}, "PrivacyConfig")

    def _check_settings(self) -> None:
        """Refuse settings that would otherwise fail later, during fitting or on an executor."""
        from pyspark_synth.privacy.locales import available_locales

        self._check_dp()

        if not isinstance(self.auto_detect, bool):
            raise PrivacyError(f"PrivacyConfig: auto_detect must be True or False, got {self.auto_detect!r}")
        if isinstance(self.detect_sample_rows, bool) or not isinstance(self.detect_sample_rows, int) \
                or self.detect_sample_rows < 1:
            raise PrivacyError(f"PrivacyConfig: detect_sample_rows must be an integer of at least 1, got "
                               f"{self.detect_sample_rows!r}")
        if self.hash_length is not None and (isinstance(self.hash_length, bool) or not isinstance(self.hash_length, int)
                                             or not 8 <= self.hash_length <= 64):
            raise PrivacyError(f"PrivacyConfig: hash_length must be an integer between 8 and 64, got {self.hash_length!r}")
        if isinstance(self.min_confidence, bool) or not isinstance(self.min_confidence, (int, float)) \
                or not 0.0 <= float(self.min_confidence) <= 1.0:
            raise PrivacyError(f"PrivacyConfig: min_confidence must be a number between 0 and 1, got {self.min_confidence!r}")
        if self.locale is not None and self.locale not in available_locales():
            raise PrivacyError(f"PrivacyConfig: locale {self.locale!r} is not a Faker locale. Use a locale such as "
                               "'ja_JP', 'de_DE' or 'pt_BR', or None to take each row's country column.")
        if self.detect_actions is not None:
            if not isinstance(self.detect_actions, Mapping):
                raise PrivacyError(f"PrivacyConfig: detect_actions must be {{kind or column: action}}, got "
                                   f"{type(self.detect_actions).__name__}")
            usable = [a for a in PII_ACTIONS if a != "custom"]
            bad = {k: v for k, v in self.detect_actions.items() if v not in usable}
            if bad:
                raise PrivacyError(f"PrivacyConfig: detect_actions {bad} name unknown actions. Use one of {usable} "
                                   "('custom' needs a function: write a rule for that column instead).")

    @staticmethod
    def _complete_rules(rules: dict[str, dict[str, PIIRule]], auto_detect: bool) -> dict[str, dict[str, PIIRule]]:
        """Fill in the kind of fake rules from the column name; refuse unknown kinds and locales now.

        A fake rule whose kind neither it nor its column name gives is kept kind-less only when
        `auto_detect` is on (`plan_table` then takes the kind detection found); otherwise it is refused.
        """
        from pyspark_synth.privacy.fake import fake_kind_from_name, resolve_fake_rule
        from pyspark_synth.privacy.locales import available_locales

        hint = ", or set auto_detect=True to take the kind from the data"
        out: dict[str, dict[str, PIIRule]] = {}
        for table, cols in rules.items():
            where = f"PrivacyConfig table '{table}'"
            done: dict[str, PIIRule] = {}
            for col, rule in cols.items():
                if rule.action == "fake":
                    if rule.kind is not None or fake_kind_from_name(col) is not None or not auto_detect:
                        rule = resolve_fake_rule(col, rule, where=where, hint=hint)
                    if rule.locale is not None and rule.locale not in available_locales():
                        raise PrivacyError(f"{where}: the fake rule of column '{col}' uses locale {rule.locale!r}, "
                                           "which Faker does not know. Use a locale such as 'ja_JP', 'de_DE' or "
                                           "'pt_BR'.")
                done[col] = rule
            out[table] = done
        return out

    @staticmethod
    def _split_locale_from(rules: Any) -> tuple[Any, dict[str, str]]:
        """The rules without their `locale_from` entries, and those entries as {"table.column": source}."""
        if not isinstance(rules, Mapping):
            return rules, {}
        found: dict[str, str] = {}

        def strip(where: str, rule: Any) -> Any:
            if isinstance(rule, Mapping) and "locale_from" in rule:
                found[where] = rule["locale_from"]
                return {k: v for k, v in rule.items() if k != "locale_from"}
            return rule

        out: dict[str, Any] = {}
        for name, value in rules.items():
            if isinstance(value, Mapping) and "action" not in value:
                out[name] = {c: strip(f"{name}.{c}", r) for c, r in value.items()}
            else:
                out[name] = strip(str(name), value)
        return out, found

    @staticmethod
    def _parse_locale_from(given: Mapping[str, str] | None, from_rules: Mapping[str, str]) -> dict[str, str]:
        if given is not None and not isinstance(given, Mapping):
            raise PrivacyError(f"PrivacyConfig: locale_from must be {{'table.column': 'parent.locale_column'}}, got "
                               f"{type(given).__name__}")
        merged = dict(from_rules)
        for k, v in (given or {}).items():
            if k in merged and merged[k] != v:
                raise PrivacyError(f"PrivacyConfig: the locale of '{k}' comes from {merged[k]!r} in its rule and from "
                                   f"{v!r} in locale_from. Keep one.")
            merged[k] = v
        for k, v in merged.items():
            if not isinstance(k, str) or k.count(".") != 1 or not all(k.split(".")):
                raise PrivacyError(f"PrivacyConfig: locale_from key {k!r} must be 'table.column'.")
            if not isinstance(v, str) or not re.fullmatch(r"[^.\s]+\.[^.\s]+(?: via [^.]+)?", v):
                raise PrivacyError(f"PrivacyConfig: locale_from of '{k}' is {v!r}; write 'parent_table.locale_column' "
                                   "or 'parent_table.locale_column via fk_column[, fk_column]'.")
        return merged

    @staticmethod
    def _parse_rules(rules: Any) -> dict[str, dict[str, PIIRule]]:
        if not isinstance(rules, Mapping):
            raise PrivacyError(f"PrivacyConfig: rules must be {{table: {{column: rule}}}}, got {type(rules).__name__}")
        nested: dict[str, dict[str, Any]] = {}
        for name, value in rules.items():
            if isinstance(value, Mapping) and "action" not in value:
                nested.setdefault(str(name), {}).update(value)
            elif "." in str(name):
                table, _, column = str(name).partition(".")
                nested.setdefault(table, {})[column] = value
            else:
                raise PrivacyError(
                    f"PrivacyConfig: rule key {name!r} is neither a table with a {{column: rule}} mapping nor "
                    "'table.column'. Write rules={'users': {'email': 'hash'}} or {'users.email': 'hash'}."
                )
        return {t: normalize_rules(cols, where=f"PrivacyConfig table '{t}'") for t, cols in nested.items()}

    # ------------------------------------------------------------------ keys
    def resolve_key(self, conf_value: str | None = None) -> SecretKey | None:
        """The HMAC key: the literal one, else `$key_env`, else the Spark conf value, else $PYSPARK_SYNTH_HMAC_KEY.

        Args:
            conf_value: The value of the Spark conf `key_conf`, read by the caller.

        Raises:
            PrivacyError: `key_env` names a variable whose value is too short.
        """
        if isinstance(self.key, SecretKey):
            return self.key
        if self.key_env and os.environ.get(self.key_env):
            return SecretKey(os.environ[self.key_env], f"environment variable {self.key_env}")
        return resolve_key(None, conf_value=conf_value)

    def key_sources(self) -> str:
        """Where the key is looked for, in order (for error messages)."""
        where = ["PrivacyConfig(key=...)"]
        if self.key_env:
            where.append(f"${self.key_env}")
        return ", ".join([*where, f"Spark conf {self.key_conf}", f"${ENV_VAR}"])

    # ------------------------------------------------------------------ plans
    def check_tables(self, tables: Mapping[str, Table] | list[str]) -> None:
        """Raise when a rule names a table that is not in the metadata."""
        unknown = sorted(set(self.rules) - set(tables))
        if unknown:
            raise PrivacyError(f"PrivacyConfig has rules for table(s) {unknown}, which are not in the metadata. "
                               f"Known tables: {sorted(tables)}. Fix the table names or remove those rules.")
        named = {k.split(".")[0] for k in self.locale_from or {}} | {
            v.split(".")[0] for v in (self.locale_from or {}).values()}
        unknown = sorted(named - set(tables))
        if unknown:
            raise PrivacyError(f"PrivacyConfig: locale_from names table(s) {unknown}, which are not in the metadata. "
                               f"Known tables: {sorted(tables)}.")

    def plan_table(self, table: Table, columns: list[str], detected: Mapping[str, PIIRule] | None = None) -> TablePrivacy:
        """The plan for one table: metadata rules, then detected rules for unruled columns, then `rules`.

        Args:
            table: The table's metadata (its key columns and column rules).
            columns: The data's columns, in order.
            detected: Rules found by detection (used only where no other rule exists).

        Raises:
            PrivacyError: A rule names a missing column, or drops, masks or fakes a key column.
        """
        from pyspark_synth.privacy.fake import resolve_fake_rule
        from pyspark_synth.privacy.locales import available_locales
        from pyspark_synth.privacy.scrub import _import_function

        from_meta = {c.name: c.pii for c in table.columns if c.pii is not None}
        explicit = {**from_meta, **self.rules.get(table.name, {})}
        auto = {c: r for c, r in (detected or {}).items() if c not in explicit and c not in table.key_columns}
        merged = {**auto, **explicit}
        missing = [c for c in merged if c not in columns]
        if missing:
            raise PrivacyError(f"PrivacyConfig: table '{table.name}' has rules for column(s) {missing}, which the data "
                               f"does not have. Known columns: {columns}")
        where = f"PrivacyConfig table '{table.name}'"
        for c, r in list(merged.items()):
            if r.action == "fake":
                found = (detected or {}).get(c)
                merged[c] = r = resolve_fake_rule(
                    c, r, where=where, detected_kind=found.kind if found is not None else None,
                    detection_ran=detected is not None,
                    hint="" if detected is not None else ", or set auto_detect=True to take the kind from the data")
                if r.locale is not None and r.locale not in available_locales():
                    raise PrivacyError(f"{where}: the fake rule of column '{c}' uses locale {r.locale!r}, which "
                                       "Faker does not know. Use a locale such as 'ja_JP', 'de_DE' or 'pt_BR'.")
            elif r.action == "custom":
                _import_function(r.function or "", f"{table.name}.{c}")
        bad = sorted(c for c, r in merged.items() if c in table.key_columns and r.action not in {"keep", "hash"})
        if bad:
            raise PrivacyError(
                f"PrivacyConfig: table '{table.name}': key column(s) {bad} have PII rules "
                f"{[merged[c].action for c in bad]}; a primary or foreign key can only be hashed or kept "
                "(generated keys never reuse original values). Change the rule to 'hash' or 'keep'."
            )
        scrub = {c: r for c, r in merged.items() if r.action in _SCRUB_ACTIONS}
        fakes = {c: r for c, r in merged.items() if r.action == "fake"}
        for c, r in fakes.items():
            if r.locale_column is not None and (r.locale_column not in columns or r.locale_column in fakes
                                                or scrub.get(r.locale_column) is not None):
                raise PrivacyError(
                    f"PrivacyConfig: table '{table.name}': the fake rule of '{c}' takes its locale from "
                    f"'{r.locale_column}', which is missing, scrubbed or faked itself. Point locale_column at a "
                    "learned column (a country, say) or set a fixed locale."
                )
        return TablePrivacy(table.name, scrub, fakes, {c: columns.index(c) for c in fakes}, tuple(sorted(auto)))

    def detected_rules(self, detections: list[Any]) -> dict[str, PIIRule]:
        """Rules for detections (see `privacy.detect.rules_from_detection`) with this config's settings."""
        from pyspark_synth.privacy.detect import rules_from_detection

        return rules_from_detection(detections, min_confidence=self.min_confidence, actions=self.detect_actions,
                                    locale=self.locale)

    def locale_sources(
        self,
        metadata: Metadata,
        fakes: Mapping[str, Mapping[str, PIIRule]],
        columns: Mapping[str, list[str]],
    ) -> dict[str, dict[str, LocaleSource]]:
        """Where each fake rule's rows get their locale: `{table: {column: LocaleSource}}`.

        In order: `locale_from` (a parent's locale column through a foreign key), the rule's fixed
        `locale`, its `locale_column`, a country/locale column of the table (`find_locale_column`,
        among the columns that are not faked), else none (`LocaleSource()`).

        Args:
            metadata: The database's metadata (its foreign keys).
            fakes: `{table: {column: PIIRule}}` of the fake rules (e.g. `TablePrivacy.fake_rules`).
            columns: `{table: data columns}`.

        Raises:
            PrivacyError: `locale_from` names a column without a fake rule, a parent the table has no
                (or more than one unnamed) foreign key to, or a missing parent column.
        """
        from pyspark_synth.privacy.locales import find_locale_column

        for k in self.locale_from or {}:
            t, c = k.split(".")
            if c not in (fakes.get(t) or {}):
                raise PrivacyError(f"PrivacyConfig: locale_from names '{k}', which has no fake rule. Fake columns: "
                                   f"{sorted(f'{tt}.{cc}' for tt, r in fakes.items() for cc in r)}.")
        out: dict[str, dict[str, LocaleSource]] = {}
        for table, rules in fakes.items():
            cols = list(columns.get(table, []))
            auto = find_locale_column([c for c in cols if c not in rules])
            found: dict[str, LocaleSource] = {}
            for col, rule in rules.items():
                spec = (self.locale_from or {}).get(f"{table}.{col}")
                if spec is not None:
                    found[col] = self._parent_source(metadata, table, col, spec, columns)
                elif rule.locale is not None:
                    found[col] = LocaleSource(fixed=rule.locale)
                elif rule.locale_column is not None:
                    found[col] = LocaleSource(column=rule.locale_column)
                elif auto is not None:
                    found[col] = LocaleSource(column=auto)
                else:
                    found[col] = LocaleSource()
            out[table] = found
        return out

    @staticmethod
    def _parent_source(metadata: Metadata, table: str, col: str, spec: str,
                       columns: Mapping[str, list[str]]) -> LocaleSource:
        target, _, via = spec.partition(" via ")
        parent, _, parent_col = target.partition(".")
        where = f"PrivacyConfig: the locale of '{table}.{col}' from '{spec}'"
        if table not in metadata.tables or parent not in metadata.tables:
            raise PrivacyError(f"{where}: table '{table if table not in metadata.tables else parent}' is not in the "
                               f"metadata. Known tables: {sorted(metadata.tables)}")
        fks = [fk for fk in metadata.tables[table].foreign_keys if fk.parent_table == parent]
        if via:
            wanted = tuple(c.strip() for c in via.split(","))
            fks = [fk for fk in fks if fk.columns == wanted]
        if len(fks) != 1:
            known = [fk.label for fk in metadata.tables[table].foreign_keys]
            what = "no" if not fks else "more than one"
            raise PrivacyError(f"{where}: table '{table}' has {what} foreign key to '{parent}'"
                               f"{' on ' + via if via else ''}. Its foreign keys: {known}. "
                               + ("Add ' via <fk column>' to pick one." if fks else "Point locale_from at a parent."))
        parent_cols = columns.get(parent) or list(metadata.tables[parent].column_names)
        if parent_col not in parent_cols:
            raise PrivacyError(f"{where}: '{parent}' has no column '{parent_col}'. Known columns: {parent_cols}")
        fk = fks[0]
        return LocaleSource(parent_table=parent, fk_columns=tuple(fk.columns), parent_key=tuple(fk.parent_columns),
                            parent_column=parent_col)

    def require_key(self, plans: Mapping[str, TablePrivacy], conf_value: str | None = None) -> SecretKey | None:
        """The key when some plan needs it; raises naming the columns and the sources when it is missing."""
        needs = [f"{t}.{c}" for t, p in plans.items() for c in p.needs_key]
        key = self.resolve_key(conf_value)
        if needs and key is None:
            err = missing_key_error(needs)
            raise PrivacyError(f"{err} Looked in: {self.key_sources()}.")
        return key


def original_digest(salt: str, text: str) -> str:
    """16 hex characters of SHA-256(salt + text): how original values are remembered (never the values)."""
    return hashlib.sha256((salt + text).encode("utf-8")).hexdigest()[:16]


def fake_columns(
    pdf: pd.DataFrame,
    fakes: Mapping[str, Mapping[str, Any]],
    *,
    key: bytes,
    seed: int,
    source: str,
    salt: str = "",
    banned: Mapping[str, frozenset[str]] | None = None,
) -> pd.DataFrame:
    """Add the faked columns to a batch of generated rows.

    Each fake is seeded from (seed, column, the row's `source` value), a fingerprint of the
    generated row, so it never derives from an original value; a fake whose salted digest is among
    `banned[column]` (the originals') is drawn again.

    Args:
        pdf: Generated rows, with a `source` column (dropped from the result).
        fakes: `{column: PIIRule fields}` (kind, locale, locale_column).
        key: HMAC key bytes seeding Faker.
        seed: The sampling seed.
        source: Name of the fingerprint column.
        salt: Salt of the digests in `banned`.
        banned: `{column: digests of the original values}`.
    """
    from pyspark_synth.privacy.fake import fake_series
    from pyspark_synth.privacy.locales import DEFAULT_LOCALE, find_locale_column, locales_for

    out = pdf.drop(columns=[source])
    src = pdf[source].astype(str)
    auto_locale = find_locale_column([c for c in out.columns if c not in fakes])
    for col, spec in fakes.items():
        rule = PIIRule(**spec)
        loc_col = rule.locale_column or auto_locale
        locales: pd.Series | str = rule.locale or (
            locales_for(out[loc_col], DEFAULT_LOCALE) if loc_col is not None and loc_col in out.columns else DEFAULT_LOCALE)
        text = f"{seed}|{col}|" + src
        values = fake_series(src, rule.kind or "", locales, key, text)
        bad_set = (banned or {}).get(col) or frozenset()
        for attempt in range(1, _FAKE_RETRIES + 1):
            hit = np.array([v is not None and original_digest(salt, str(v)) in bad_set for v in values], dtype=bool)
            if not hit.any():
                break
            redo = src[hit]
            loc = locales if isinstance(locales, str) else locales[hit]
            values[hit] = fake_series(redo, rule.kind or "", loc, key, text[hit] + f"|{attempt}").to_numpy()
        out[col] = values.to_numpy()
    return out


def fake_database_pandas(
    frames: Mapping[str, pd.DataFrame],
    fakes: Mapping[str, Mapping[str, PIIRule]],
    sources: Mapping[str, Mapping[str, LocaleSource]],
    *,
    key: bytes,
) -> dict[str, pd.DataFrame]:
    """Fake the original values of several tables so that one value gets one fake in every table.

    The pandas form of the two steps a Spark job runs (`fake.consistent_fake_votes` on every batch of
    every table, summed and resolved per kind with `locales.resolve_value_locales`, then
    `fake.consistent_fakes` on every batch): tables without a locale of their own take the locale
    each value has where it has one, so an `orders` table with the customer's e-mail and no country
    gets the same fake e-mails as `customers`.

    Args:
        frames: `{table: original rows}` (tables without fake rules are returned unchanged).
        fakes: `{table: {column: PIIRule}}` of fake rules with their kinds.
        sources: `PrivacyConfig.locale_sources(...)`.
        key: The HMAC key bytes.

    Returns:
        `{table: frame}` with the faked columns replaced (strings; nulls stay null).
    """
    from pyspark_synth.privacy.fake import consistent_fake_votes, consistent_fakes
    from pyspark_synth.privacy.locales import VOTE_COLUMNS, parent_locales, resolve_value_locales

    parent_maps: dict[str, dict[str, str]] = {}
    for table_sources in sources.values():
        for src in table_sources.values():
            name = f"{src.parent_table}.{src.parent_column}"
            if src.kind == "parent" and name not in parent_maps:
                parent_maps[name] = parent_locales(frames[src.parent_table], src.parent_key, src.parent_column or "")
    votes = [consistent_fake_votes(frames[t], rules, sources.get(t, {}), parent_maps=parent_maps)
             for t, rules in fakes.items() if rules]
    allv = pd.concat(votes, ignore_index=True) if votes else pd.DataFrame(columns=["kind", *VOTE_COLUMNS])
    value_locales = {kind: resolve_value_locales(group[list(VOTE_COLUMNS)]) for kind, group in allv.groupby("kind")}
    out = dict(frames)
    for t, rules in fakes.items():
        if rules:
            out[t] = consistent_fakes(frames[t], rules, sources.get(t, {}), key=key, value_locales=value_locales,
                                      parent_maps=parent_maps)
    return out
