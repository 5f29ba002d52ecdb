"""The same database fitted and sampled with the same seeds gives the same rows in any process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = textwrap.dedent('''
    import hashlib, json, sys
    import numpy as np, pandas as pd
    from pyspark.sql import SparkSession
    from pyspark_synth import Metadata
    from pyspark_synth.io.registry import ModelRegistry
    from pyspark_synth.spark.fit_database import fit_database
    from pyspark_synth.spark.sample_database import sample_database

    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", sys.argv[3]).config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    rng = np.random.default_rng(0)
    shops = pd.DataFrame({"shop_id": np.arange(60), "region": rng.choice(["north", "south", "east"], 60),
                          "opened": pd.to_datetime("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, 60), "D")})
    items = pd.DataFrame({"sku": [f"S{i:03d}" for i in range(30)], "price": rng.gamma(2, 10, 30).round(2),
                          "kind": rng.choice(["a", "b", "c"], 30)})
    n = 900
    sales = pd.DataFrame({"sale_id": np.arange(n), "shop_id": rng.integers(0, 60, n),
                          "sku": rng.choice(items.sku, n), "qty": rng.poisson(3, n),
                          "channel": rng.choice(["web", "store", "phone"], n),
                          "amount": rng.gamma(2, 30, n).round(2)})
    md = Metadata().add_table("shops", pk="shop_id").add_table("items", pk="sku")
    md.add_table("sales", pk="sale_id", fk={"shop_id": "shops.shop_id", "sku": "items.sku"})
    data = {"shops": shops, "items": items, "sales": sales}
    frames = {k: spark.createDataFrame(v) for k, v in data.items()}
    reg = ModelRegistry(sys.argv[1])
    kwargs = {"epochs": 2, "batch_size": 100} if sys.argv[2] == "ctgan" else {}
    report = fit_database(spark, md, frames, backend=sys.argv[2], seed=0, registry=reg, **kwargs)
    out = sample_database(spark, report.metadata, seed=7, registry=reg)
    digests = {}
    for name, df in out.items():
        pdf = df.toPandas()
        pdf = pdf.sort_values(list(pdf.columns), kind="mergesort").reset_index(drop=True)
        digests[name] = [len(pdf), hashlib.sha256(pdf.to_csv(index=False).encode()).hexdigest()]
    print("DIGESTS " + json.dumps(digests))
    spark.stop()
''')


def _run(tmp: Path, backend: str, hash_seed: str, partitions: str) -> dict:
    script = tmp / "fit_sample.py"
    script.write_text(_SCRIPT)
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable}
    proc = subprocess.run([sys.executable, str(script), str(tmp / f"reg-{hash_seed}"), backend, partitions],
                          capture_output=True, text=True, env=env, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("DIGESTS ")]
    return json.loads(line.removeprefix("DIGESTS "))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["copula", "ctgan"])
def test_same_seeds_give_the_same_rows_in_two_processes(tmp_path, backend):
    # two Python processes with different string-hash seeds (PYTHONHASHSEED) and shuffle
    # partitions: fitting with seed 0 and sampling with seed 7 gives identical tables
    first = _run(tmp_path, backend, "1", "2")
    second = _run(tmp_path, backend, "2", "3")
    assert first == second
