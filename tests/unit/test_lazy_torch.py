"""A worker that only trains or samples the copula never imports torch (seconds per Python worker)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_training_and_sampling_the_copula_never_import_torch():
    code = textwrap.dedent("""
        import sys
        import numpy as np, pandas as pd
        from pyspark_synth.metadata import Column, Table
        from pyspark_synth.models.base import get_backend, load_model_bytes, user_backends
        from pyspark_synth.spark.udfs import set_executor_threads
        from pyspark_synth.training import TrainingJob, train_table
        import pyspark_synth.kernel, pyspark_synth.spark.fit_job  # what a worker imports
        rng = np.random.default_rng(0)
        data = pd.DataFrame({"a": rng.normal(size=120), "b": rng.choice(["x", "y"], 120)})
        table = Table(name="t", columns=(Column(name="a", type="numerical"), Column(name="b", type="categorical")))
        job = TrainingJob(table=table, backend="auto", seed=1, threads=2)
        done = train_table(job, data)
        assert done.backend == "copula", done.backend
        rows = load_model_bytes(done.model_bytes).sample(50, seed=3)
        set_executor_threads(1)
        user_backends()
        assert len(rows) == 50
        assert "torch" not in sys.modules, "torch was imported"
        get_backend("autoregressive")
        assert "torch" in sys.modules  # the neural backends do load it
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
