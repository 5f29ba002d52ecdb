"""One table of adult's size fitted in one process against data-parallel in N processes, side by side.

In this invocation, on one `local[2]` session, one after the other (the same machine load), the
autoregressive backend fits UCI adult (about 32k rows, from ../shared/datasets) with the same seed
and epochs:

* `plain`: `fit_table(..., backend="autoregressive")`, trained in the driver process;
* `N=k`: `fit_table(..., distributed=k)`, k processes on the driver started by TorchDistributor
  (each computes its shard of every batch; gradients all-reduced over gloo).

Printed per run: fit wall seconds, training seconds (inside the processes), the best validation
loss, and the ratios to `plain`. On a small shared machine the processes' start-up (torchrun and
a torch import per process) and the per-step all-reduce can outweigh the split batch; the gain is
for long fits with cores, hosts or GPUs to spare.

    python benchmarks/fit_distributed.py --processes 1 2 --epochs 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rows", type=int, default=None, help="use the first ROWS rows of adult")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    from _data import load_adult, load_average
    from pyspark.sql import SparkSession

    from pyspark_synth import fit_table
    from pyspark_synth.io.registry import ModelRegistry

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2").config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    pdf = load_adult()
    if a.rows:
        pdf = pdf.head(a.rows)
    df = spark.createDataFrame(pdf).cache()
    df.count()
    print(f"adult: {len(pdf)} rows, {len(pdf.columns)} columns; epochs={a.epochs}; load average "
          f"{load_average()[0]:.1f} on {os.cpu_count()} cores")
    runs = [("plain", None), *[(f"N={n}", n) for n in a.processes]]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, n in runs:
            t0 = time.perf_counter()
            entry = fit_table(df, table="adult", backend="autoregressive", epochs=a.epochs, seed=a.seed,
                              pii="ignore", registry=ModelRegistry(Path(tmp) / label), distributed=n)
            wall = time.perf_counter() - t0
            rep = entry.spec.model_report
            out[label] = (wall, float(rep.get("seconds", float("nan"))), rep.get("best_validation_loss"))
            print(f"{label:>6}: fit {wall:7.1f} s, training {out[label][1]:7.1f} s, best validation loss "
                  f"{out[label][2]:.4f}, threads per process {rep.get('threads')}", flush=True)
    base = out["plain"]
    print("\nratios to plain (wall, training, validation loss):")
    for label, (wall, train, loss) in out.items():
        print(f"{label:>6}: {wall / base[0]:.2f}x  {train / base[1]:.2f}x  {loss / base[2]:.4f}")
    print(f"load average at the end {load_average()[0]:.1f}")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
