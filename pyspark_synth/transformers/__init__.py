"""Reversible column transforms: pandas in, numeric matrix out, and back; serialisable without pickle."""

from __future__ import annotations

from pyspark_synth.transformers.base import ColumnTransformer, Span, transformer_from_state
from pyspark_synth.transformers.boolean import BooleanTransformer
from pyspark_synth.transformers.categorical import OneHotTransformer
from pyspark_synth.transformers.constant import ConstantTransformer
from pyspark_synth.transformers.continuous import ContinuousTransformer, ModeNormalizer
from pyspark_synth.transformers.datetime import DatetimeTransformer
from pyspark_synth.transformers.embedding import EmbeddingTransformer
from pyspark_synth.transformers.excluded import ExcludedTransformer
from pyspark_synth.transformers.nulls import NullIndicator
from pyspark_synth.transformers.table import TableTransformer, infer_semantic_type

__all__ = [
    "BooleanTransformer",
    "ColumnTransformer",
    "ConstantTransformer",
    "ContinuousTransformer",
    "DatetimeTransformer",
    "EmbeddingTransformer",
    "ExcludedTransformer",
    "ModeNormalizer",
    "NullIndicator",
    "OneHotTransformer",
    "Span",
    "TableTransformer",
    "infer_semantic_type",
    "transformer_from_state",
]
