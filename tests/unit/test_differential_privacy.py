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


# --------------------------------------------------------------- the encoders' DP statistics (issue 19)
def dp_rows(n: int = 2000) -> pd.DataFrame:
    """A category held by 30 rows (above k=5, far below the DP threshold), a one-row outlier, nulls."""
    rng = np.random.default_rng(3)
    c = rng.choice(["common", "usual"], n).astype(object)
    c[:30] = "thirty"
    x = rng.normal(50.0, 5.0, n).round(3)
    x[30] = 98765.4321  # one record's extreme
    age = rng.integers(20, 70, n)
    return pd.DataFrame({"c": c, "x": x, "age": age})


def test_dp_encoders_keep_no_value_below_the_noisy_threshold_and_no_data_quantile():
    from pyspark_synth.models.autoregressive import AutoregressiveModel
    from pyspark_synth.privacy.dp_stats import value_grid

    data = dp_rows()
    m = AutoregressiveModel(epochs=1, differential_privacy={"epsilon": 1.0, "max_grad_norm": 1.0}).fit(data, seed=1)
    codecs = {c.column: c for c in m.encoding_.codecs}
    stats = m.fit_report_["differential_privacy"]["statistics"]
    assert stats["threshold"] > 30  # so "thirty" (30 rows, kept without DP at k=5) cannot be kept
    assert codecs["c"].categories_ and "thirty" not in codecs["c"].categories_
    x = codecs["x"]
    grid = set(value_grid().tolist())
    assert x.lo_ in grid and x.hi_ in grid and x.hi_ < 98765  # bounds are grid edges, not data values
    assert not set(x.edges_.tolist()) & set(data["x"].tolist())  # no data value (quantile) is an edge
    assert not np.isin(x.spikes_, data["x"]).any()  # 2000 distinct values: none passes the threshold
    out = m.sample(5000, seed=2)
    assert "thirty" not in set(out["c"]) and out["x"].max() < 98765
    # the same data without DP keeps the 30-row category and stores data quantiles: the DP fit changed both
    plain = AutoregressiveModel(epochs=1).fit(data, seed=1)
    pc = {c.column: c for c in plain.encoding_.codecs}
    assert "thirty" in pc["c"].categories_ and set(pc["x"].edges_.tolist()) & set(data["x"].tolist())


def test_dp_statistics_are_accounted_with_dp_sgd():
    from pyspark_synth.models.autoregressive import AutoregressiveModel

    m = AutoregressiveModel(epochs=1, differential_privacy={"epsilon": 2.0, "max_grad_norm": 1.0,
                                                            "noise_multiplier": 1.5}).fit(dp_rows(), seed=1)
    dp = m.fit_report_["differential_privacy"]
    st = dp["statistics"]
    assert st["releases_per_row"] == 5 and st["key_selections"] == 3  # c: 1, x and age: 2 each
    assert st["epsilon_alone"] == pytest.approx(0.2, rel=0.02)  # the default share 0.1 of epsilon 2
    assert dp["epsilon"] > dp["epsilon_dp_sgd_alone"] > 0  # the statistics' RDP is added
    assert st["delta_selection"] == pytest.approx(dp["delta"] / 2)
    calibrated = AutoregressiveModel(epochs=1, differential_privacy={"epsilon": 2.0, "max_grad_norm": 1.0}).fit(
        dp_rows(), seed=1).fit_report_["differential_privacy"]
    assert 1.9 < calibrated["epsilon"] <= 2.0  # the whole fit, statistics included, within the target


def test_dp_selection_threshold_bounds_the_chance_of_a_single_rows_key():
    from scipy.stats import norm

    from pyspark_synth.privacy.dp import rdp_gaussian, rdp_to_epsilon
    from pyspark_synth.privacy.dp_stats import plan, select_keys

    s = plan(0.5, 1e-5, releases=7, selections=4, rare_threshold=5, seed=0)
    assert rdp_to_epsilon(rdp_gaussian(s.sigma, 7), 0.5e-5)[0] <= 0.5
    assert 4 * norm.sf((s.threshold - 1) / s.sigma) == pytest.approx(0.5e-5, rel=1e-3)
    kept, _ = select_keys(np.ones(1_000_000), s, np.random.default_rng(0))  # a million one-row keys
    assert kept.sum() <= 10  # each shows with chance delta_selection / selections = 1.25e-6
    assert plan(50.0, 1e-5, releases=1, selections=1, rare_threshold=5, seed=0).threshold == 5.0  # never below k
