"""Differential privacy (issue 19): the RDP accountant, DP-SGD fits of the neural backends, refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyspark_synth.errors import PrivacyError
from pyspark_synth.metadata import Column, Table
from pyspark_synth.models.base import load_model_bytes
from pyspark_synth.privacy.config import PrivacyConfig
from pyspark_synth.privacy.dp import epsilon_spent, noise_for_epsilon
from pyspark_synth.spark.fit_table import dp_backend
from pyspark_synth.training import TrainingJob, train_table

TABLE = Table(name="t", columns=(Column(name="c", type="categorical"), Column(name="x", type="numerical")))
ARGS = {"autoregressive": {"epochs": 1}}
CTGAN_ARGS = {"epochs": 1, "batch_size": 100, "generator_dim": (32,), "critic_dim": (32,)}


def rows(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"c": rng.choice(list("abc"), n), "x": rng.normal(size=n)})


def test_epsilon_grows_as_noise_falls():
    eps = [epsilon_spent(0.01, s, 1000, 1e-5)[0] for s in (4.0, 2.0, 1.0, 0.7)]
    assert all(a < b for a, b in zip(eps, eps[1:], strict=False)), eps
    sigma = noise_for_epsilon(3.0, 0.01, 1000, 1e-5)
    assert epsilon_spent(0.01, sigma, 1000, 1e-5)[0] <= 3.0 < epsilon_spent(0.01, sigma * 0.9, 1000, 1e-5)[0]
    assert epsilon_spent(0.01, 1.0, 0, 1e-5)[0] == 0.0


@pytest.mark.parametrize("backend", sorted(ARGS))
def test_dp_fit_reports_epsilon_and_samples(backend):
    cfg = PrivacyConfig(enable_differential_privacy=True, epsilon=3.0)
    job = TrainingJob(table=TABLE, backend=backend, arguments=ARGS[backend], seed=1,
                      differential_privacy=cfg.dp_settings())
    trained = train_table(job, rows())
    dp = trained.report["differential_privacy"]
    assert 0 < dp["epsilon"] <= 3.0 and dp["delta"] == pytest.approx(1 / 3000) and dp["steps"] > 0
    assert any("differential privacy (DP-SGD): epsilon=" in n for n in trained.notes)
    out = load_model_bytes(trained.model_bytes).sample(200, seed=2)
    assert len(out) == 200 and set(out["c"]) <= {"a", "b", "c"}


@pytest.mark.parametrize("backend", sorted(ARGS))
def test_reported_epsilon_grows_as_the_noise_multiplier_falls(backend):
    spent = []
    for noise in (3.0, 1.0, 0.6):
        cfg = PrivacyConfig(enable_differential_privacy=True, noise_multiplier=noise)
        job = TrainingJob(table=TABLE, backend=backend, arguments=ARGS[backend], seed=1,
                          differential_privacy=cfg.dp_settings())
        spent.append(train_table(job, rows()).report["differential_privacy"]["epsilon"])
    assert spent[0] < spent[1] < spent[2], spent


def test_refusals():
    cfg = PrivacyConfig(enable_differential_privacy=True)
    with pytest.raises(PrivacyError, match="backend 'copula' has no differential-privacy mode"):
        dp_backend("copula", cfg, "fit_table")
    assert dp_backend("auto", cfg, "fit_table")[0] == "autoregressive"
    assert dp_backend("copula", PrivacyConfig(), "fit_table") == ("copula", [])
    job = TrainingJob(table=TABLE, backend="copula", seed=1, differential_privacy=cfg.dp_settings())
    with pytest.raises(PrivacyError, match="no differential-privacy mode"):
        train_table(job, rows())
    with pytest.raises(PrivacyError, match="epsilon must be a number above 0"):
        PrivacyConfig(enable_differential_privacy=True, epsilon=0)


def test_ctgan_is_refused_under_dp_and_auto_trains_autoregressive():
    """CTGAN's conditions, normaliser and batch norm read real rows outside a per-record bound: refused."""
    from pyspark_synth.models.ctgan import CTGAN

    cfg = PrivacyConfig(enable_differential_privacy=True)
    with pytest.raises(PrivacyError, match="backend 'ctgan' has no differential-privacy mode.*backend='autoregressive'"):
        dp_backend("ctgan", cfg, "fit_table")
    backend, notes = dp_backend("auto", cfg, "fit_table")
    assert backend == "autoregressive" and any("CTGAN have no DP mode" in n for n in notes)
    job = TrainingJob(table=TABLE, backend="ctgan", arguments=CTGAN_ARGS, seed=1, differential_privacy=cfg.dp_settings())
    with pytest.raises(PrivacyError, match="use backend='autoregressive'"):
        train_table(job, rows())
    with pytest.raises(PrivacyError, match="CTGAN has no differential-privacy mode"):
        CTGAN(**CTGAN_ARGS, differential_privacy=cfg.dp_settings()).fit(rows(), progress_bar=False)
    assert len(CTGAN(**CTGAN_ARGS).fit(rows(), progress_bar=False).sample(10, seed=1)) == 10  # without DP it fits
