"""The automatic backend: the copula where it models a table well, a neural model where it does not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pyspark_synth.models.auto import SMALL_TABLE_ROWS, choose_backend, probe_score


def _gaussian(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": 2 * x + 0.3 * rng.normal(size=n), "c": rng.choice(["a", "b"], n)})


def _ring(n: int, seed: int = 0) -> pd.DataFrame:
    # a category that depends on |x| (not monotone in x), and y on a circle: no Gaussian copula holds it
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    x, y = np.cos(t) + 0.05 * rng.normal(size=n), np.sin(t) + 0.05 * rng.normal(size=n)
    band = np.where(np.abs(x) > 0.7, "outer", np.where(np.abs(x) > 0.3, "middle", "inner"))
    return pd.DataFrame({"x": x, "y": y, "band": band})


def test_a_table_a_copula_models_keeps_the_copula():
    backend, why = choose_backend(None, _gaussian(4000), seed=1)
    assert backend == "copula" and "the fast model is kept" in why


def test_a_table_with_non_gaussian_dependence_gets_the_neural_model():
    backend, why = choose_backend(None, _ring(4000), seed=1)
    assert backend == "autoregressive" and "a neural model is used" in why


def test_small_tables_get_the_copula():
    backend, why = choose_backend(None, _ring(SMALL_TABLE_ROWS - 1), seed=1)
    assert backend == "copula" and f"{SMALL_TABLE_ROWS - 1} rows: a small table" in why


def test_the_probe_score_separates_alike_from_unlike_frames():
    real, other = _ring(3000, 1), _ring(3000, 2)
    shuffled = other.assign(band=other["band"].sample(frac=1.0, random_state=0).to_numpy())
    assert probe_score(real, other, list(real.columns)) > 0.9
    assert probe_score(real, shuffled, list(real.columns)) < probe_score(real, other, list(real.columns)) - 0.1
