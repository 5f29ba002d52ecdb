"""Data-parallel training of the autoregressive model (`models.data_parallel`), without Spark.

A one-process gloo group runs in the test process; two processes are started with
`torch.multiprocessing` (as torchrun would), slow.
"""

from __future__ import annotations

import os
import pickle
import socket

import numpy as np
import pandas as pd
import pytest

from pyspark_synth import DataError, DistributedTraining, PrivacyError, SynthError
from pyspark_synth.distributed import distributed_backend, distributed_setting
from pyspark_synth.metadata import Column, Table
from pyspark_synth.models._archive import unpack
from pyspark_synth.training import TrainingJob, train_table

TABLE = Table(name="t", primary_key=("id",), columns=(
    Column(name="id", type="id", sql_type="bigint"), Column(name="a", type="numerical", sql_type="double"),
    Column(name="b", type="categorical", sql_type="string"), Column(name="c", type="numerical", sql_type="bigint")))


def _rows(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"id": np.arange(n), "a": rng.normal(size=n), "b": rng.choice(list("xyz"), n),
                         "c": rng.integers(0, 9, n)})


def _job(**arguments) -> TrainingJob:  # noqa: ANN003
    return TrainingJob(table=TABLE, backend="autoregressive", seed=4, threads=1,
                       arguments={"epochs": 2, "hidden_size": 16, **arguments})


def _weights(model_bytes: bytes) -> dict[str, np.ndarray]:
    return unpack(model_bytes)[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def group_env(monkeypatch):
    """The environment torchrun gives rank 0 of a one-process group; the group is left afterwards."""
    import torch.distributed as dist

    for k, v in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                 "MASTER_PORT": str(_port())}.items():
        monkeypatch.setenv(k, v)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_one_process_of_a_data_parallel_group_trains_the_plain_model(group_env):
    from pyspark_synth.distributed import train_process

    data = _rows()
    plain = train_table(_job(), data)
    result = train_process(_job().to_json(), data, None)
    ours, theirs = _weights(plain.model_bytes), _weights(result["model"])
    assert sorted(ours) == sorted(theirs)
    assert all(np.array_equal(ours[k], theirs[k]) for k in ours)  # DDP over one process changes nothing
    report = unpack(result["model"])[0]["config"]["fit_report"]
    assert report["data_parallel"] == {"processes": 1, "backend": "gloo", "device": "cpu"}
    assert report["best_validation_loss"] == plain.report["best_validation_loss"]


def test_the_time_budget_of_a_data_parallel_fit_is_agreed_over_the_group(group_env):
    from pyspark_synth.distributed import train_process

    result = train_process(_job(epochs=None, max_training_seconds=1e-9).to_json(), _rows(), None)
    report = unpack(result["model"])[0]["config"]["fit_report"]
    assert report["stop_reason"] == "time_budget" and report["epochs"] == 1


def _worker(rank: int, world: int, port: int, out: str, job_json: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    from pyspark_synth.distributed import train_process

    with open(f"{out}.{rank}", "wb") as f:
        pickle.dump(train_process(job_json, _rows(), None), f)


def _train_in(world: int, out: str) -> list[dict]:
    import torch.multiprocessing as mp

    mp.spawn(_worker, args=(world, _port(), out, _job().to_json()), nprocs=world)
    with_rank = []
    for r in range(world):
        with open(f"{out}.{r}", "rb") as f:
            with_rank.append(pickle.load(f))  # noqa: S301 - the test's own files
    return with_rank


@pytest.mark.slow
def test_two_processes_train_one_model_the_same_for_a_seed(tmp_path):
    first, again = _train_in(2, str(tmp_path / "a")), _train_in(2, str(tmp_path / "b"))
    assert first[0]["model"] == first[1]["model"]  # every process returns rank 0's archive
    a, b = _weights(first[0]["model"]), _weights(again[0]["model"])
    assert all(np.array_equal(a[k], b[k]) for k in a)
    plain = _weights(train_table(_job(), _rows()).model_bytes)
    assert not all(np.array_equal(a[k], plain[k]) for k in a)  # two shards, two dropout streams: another fit
    report = unpack(first[0]["model"])[0]["config"]["fit_report"]
    assert report["data_parallel"]["processes"] == 2 and np.isfinite(report["best_validation_loss"])


def test_bad_settings_and_backends_are_refused_with_what_to_do():
    assert distributed_setting(None, "fit_table") is None
    assert distributed_setting(3, "fit_table") == DistributedTraining(num_processes=3)
    with pytest.raises(DataError, match=r"fit_table: distributed=0: the number of training processes must be >= 1"):
        distributed_setting(0, "fit_table")
    with pytest.raises(DataError, match=r"distributed must be None, a number of processes"):
        distributed_setting(True, "fit_table")
    with pytest.raises(DataError, match=r"num_processes must be an int >= 1.*got -1"):
        DistributedTraining(num_processes=-1)
    with pytest.raises(DataError, match=r"min_rows must be an int >= 0"):
        DistributedTraining(num_processes=2, min_rows=-5)
    assert distributed_backend("auto", differential_privacy=False, where="fit_table")[0] == "autoregressive"
    with pytest.raises(SynthError, match=r"backend 'ctgan' cannot train with distributed=: its GAN training.*"
                                         r"\['autoregressive'\]"):
        distributed_backend("ctgan", differential_privacy=False, where="fit_table")
    with pytest.raises(PrivacyError, match=r"cannot be combined with differential privacy"):
        distributed_backend("autoregressive", differential_privacy=True, where="fit_table")


def test_a_model_refuses_data_parallel_training_under_dp_and_batches_smaller_than_the_group():
    from pyspark_synth.models.autoregressive import AutoregressiveModel
    from pyspark_synth.models.data_parallel import DataParallel

    dp = {"epsilon": 3.0, "delta": 1e-5, "noise_multiplier": None, "max_grad_norm": 1.0}
    with pytest.raises(DataError, match=r"differential privacy \(DP-SGD\) cannot train data-parallel"):
        AutoregressiveModel(TABLE, epochs=1, differential_privacy=dp).fit(_rows(), data_parallel=DataParallel(0, 2))
    with pytest.raises(DataError, match=r"batch_size 2 is smaller than the 4 data-parallel processes"):
        AutoregressiveModel(TABLE, epochs=1, batch_size=2).fit(_rows(), data_parallel=DataParallel(0, 4))
