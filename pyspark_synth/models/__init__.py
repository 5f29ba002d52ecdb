"""Generative models (CTGAN, Gaussian copula) and their contract; pure pandas/numpy/torch, no Spark."""

from __future__ import annotations

from pyspark_synth.models.base import (
    SynthModel,
    get_backend,
    list_backends,
    load_model_bytes,
    register_backend,
)

__all__ = ["SynthModel", "get_backend", "list_backends", "load_model_bytes", "register_backend"]
