"""Validation metrics as Spark aggregations, integrity checks and the HTML report."""

from __future__ import annotations

from pyspark_synth.validation.integrity import (
    FKCheck,
    check_foreign_key,
    duplicate_key_count,
    orphan_rows,
)
from pyspark_synth.validation.report import render_html
from pyspark_synth.validation.result import RESULT_SCHEMA, MetricRow, Thresholds, ValidationResult
from pyspark_synth.validation.validate import validate

__all__ = [
    "RESULT_SCHEMA",
    "FKCheck",
    "MetricRow",
    "Thresholds",
    "ValidationResult",
    "check_foreign_key",
    "duplicate_key_count",
    "orphan_rows",
    "render_html",
    "validate",
]
