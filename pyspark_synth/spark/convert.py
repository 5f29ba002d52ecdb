"""Spark schemas of fitted tables: the StructType of a schema stored as JSON."""

from __future__ import annotations

import json
from typing import Any

from pyspark_synth.coercion import coerce_to_schema

__all__ = ["coerce_to_schema", "schema_from_json"]


def schema_from_json(text: str) -> Any:
    """A StructType from its JSON form (as stored in a table spec)."""
    from pyspark.sql.types import StructType

    return StructType.fromJson(json.loads(text))
