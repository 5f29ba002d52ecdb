"""PII detection and scrubbing (mask, HMAC hash, locale-aware fakes).

Pure pandas functions live here; the Spark ones (`detect_pii`, `scrub`, `scan_leaks`) are in
`pyspark_synth.spark.pii` (reading `detect_pii` or `scan_leaks` from this package still works, with
a DeprecationWarning).
"""

from __future__ import annotations

from typing import Any

from pyspark_synth.privacy.detect import (
    KINDS,
    SUGGESTED_ACTIONS,
    PIIDetection,
    apply_rules_to_metadata,
    detect_pii_pandas,
    detections_to_pandas,
    rules_from_detection,
)
from pyspark_synth.privacy.fake import (
    FAKE_KINDS,
    consistent_fake_votes,
    consistent_fakes,
    fake_kind_from_name,
    fake_value,
)
from pyspark_synth.privacy.keys import CONF_KEY, ENV_VAR, SecretKey, resolve_key
from pyspark_synth.privacy.locales import (
    LocaleSource,
    locale_for,
    resolve_value_locales,
    value_locale_votes,
)
from pyspark_synth.privacy.scrub import (
    ScrubPlan,
    apply_scrub,
    hash_series,
    hmac_hex,
    mask_series,
    normalize_rules,
    plan_scrub,
    scrub_pandas,
)

__all__ = [
    "CONF_KEY",
    "ENV_VAR",
    "FAKE_KINDS",
    "KINDS",
    "SUGGESTED_ACTIONS",
    "LocaleSource",
    "PIIDetection",
    "ScrubPlan",
    "SecretKey",
    "apply_rules_to_metadata",
    "apply_scrub",
    "consistent_fake_votes",
    "consistent_fakes",
    "detect_pii_pandas",
    "detections_to_pandas",
    "fake_kind_from_name",
    "fake_value",
    "hash_series",
    "hmac_hex",
    "locale_for",
    "mask_series",
    "normalize_rules",
    "plan_scrub",
    "resolve_key",
    "resolve_value_locales",
    "rules_from_detection",
    "scrub_pandas",
    "value_locale_votes",
]

_SPARK_FUNCTIONS = {"detect_pii", "scrub", "scan_leaks", "LeakReport"}


def __getattr__(name: str) -> Any:
    if name in _SPARK_FUNCTIONS:
        import warnings

        # deprecated path, kept for compatibility: the core never imports the Spark layer otherwise
        from pyspark_synth.spark import pii

        warnings.warn(f"pyspark_synth.privacy.{name} is deprecated: import it from pyspark_synth.spark.pii",
                      DeprecationWarning, stacklevel=2)
        return getattr(pii, name)
    raise AttributeError(f"module 'pyspark_synth.privacy' has no attribute {name!r}")
