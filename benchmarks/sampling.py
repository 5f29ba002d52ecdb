"""Sampling throughput: rows/s of adult-shaped rows generated on Spark and written to Parquet, next to `ctgan`.

Both models are fitted briefly on UCI adult (a few epochs: this measures generation throughput, not
quality; the networks have their default sizes, so inference cost per row is the same as after a
full fit). Every measurement runs in its own subprocess, one after another, in this invocation:

* reference: the `ctgan` package's `sample()` in memory (torch's default threads = all cores), rows
  kept in pandas and discarded (not written); asked for 1M rows per call (at 10M it loops 10 times,
  so it never holds 10M rows);
* ours: `sample_table` (lazy, mapInPandas per 4096-row block) -> `write_table(format="parquet")` on
  `local[k]`, timed end to end from the call to the committed files (job start, generation, Arrow,
  Parquet write, commit), the row count read back afterwards;
* scaling: ours on local[1] then local[2], separate SparkSessions (separate subprocesses), each
  pinned to that many CPUs (`sched_setaffinity`, inherited by the JVM and its Python workers):
  unpinned, local[1] already keeps more than one core busy (the task's JVM thread converts Arrow
  and encodes Parquet while its Python worker generates the next batch), so local[1] vs local[2]
  on a 2-core machine would not compare 1 core with 2;
* cost model (in process, one core): per-row microseconds of model.sample / coercion / Arrow / Parquet
  for one 4096-row block, and a cProfile of a block with --profile.

CPU seconds per run: user + system time of the driver JVM and every process it forked (the
Python workers), read from /proc before and after the timed part; "cores busy" = CPU s / wall s.

Driver memory per run: peak RSS of the driver Python process (VmHWM), peak RSS of the driver JVM
(sampled from /proc every 0.25 s) and peak JVM heap used (Runtime total-free, sampled).

    python benchmarks/sampling.py --rows 1000000                     # quick
    nice python benchmarks/sampling.py --rows 1000000 10000000 --scaling-rows 2000000
    python benchmarks/sampling.py --rows 100000 --scaling-rows 100000 --epochs 1   # smoke test
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
from _data import ADULT_TYPES, PeakSampler, load_adult, load_average, peak_rss_bytes, rss_bytes  # noqa: E402

REF_CHUNK = 1_000_000
MB = 1024 * 1024


# ------------------------------------------------------------------------------------------ workers
def _session(cores: int) -> Any:
    from pyspark_synth.spark.session import get_or_create_session

    # a private warehouse: fit_table lists models in a catalog table, and concurrent sessions sharing the
    # default ./spark-warehouse collide on it (LOCATION_ALREADY_EXISTS)
    return get_or_create_session("bench-sampling", master=f"local[{cores}]",
                                 warehouse=tempfile.mkdtemp(prefix="bench-sampling-wh-"),
                                 extra_conf={"spark.sql.shuffle.partitions": str(cores)})


def worker_fit_ours(a: argparse.Namespace) -> dict[str, Any]:
    from pyspark_synth.spark.fit_table import fit_table

    spark = _session(2)
    pdf = load_adult()
    df = spark.createDataFrame(pdf)
    t0 = time.perf_counter()
    # CTGAN, the model the reference is: the default backend "auto" may choose another per table;
    # pii="ignore": adult has no personal data, and both models learn the same columns
    entry = fit_table(df, table="adult", backend=a.backend, epochs=a.epochs, seed=a.seed, registry=a.registry,
                      pii="ignore")
    fit_s = time.perf_counter() - t0
    spark.stop()
    return {"fit_seconds": fit_s, "rows": len(pdf), "epochs": a.epochs, "version": entry.version}


def worker_fit_ref(a: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    import torch
    from ctgan import CTGAN as RefCTGAN

    df = load_adult()
    num = [c for c, t in ADULT_TYPES.items() if t == "numerical"]
    complete = df.dropna(subset=num).reset_index(drop=True)  # adult's nulls are categorical: nothing dropped
    if a.ref_fit_rows and len(complete) > a.ref_fit_rows:  # the fit's cost is its GMMs; inference cost is not
        complete = complete.sample(a.ref_fit_rows, random_state=a.seed).reset_index(drop=True)
    discrete = [c for c, t in ADULT_TYPES.items() if t == "categorical"]
    complete[discrete] = complete[discrete].fillna("<NA>")
    torch.manual_seed(a.seed)  # the reference uses global RNG; this process is its own
    np.random.seed(a.seed)
    model = RefCTGAN(epochs=a.epochs, verbose=False, enable_gpu=False)
    model.set_random_state(a.seed)
    t0 = time.perf_counter()
    model.fit(complete, discrete_columns=discrete)
    fit_s = time.perf_counter() - t0
    model.save(a.ref_model)
    return {"fit_seconds": fit_s, "rows": len(complete), "epochs": a.epochs, "torch_threads": torch.get_num_threads()}


def worker_ref(a: argparse.Namespace) -> dict[str, Any]:
    import torch
    from ctgan import CTGAN as RefCTGAN

    model = RefCTGAN.load(a.ref_model)
    model.set_random_state(a.seed)
    model.sample(1000)  # warm-up
    done = 0
    with PeakSampler({"py": lambda: rss_bytes()}) as mem:
        t0 = time.perf_counter()
        while done < a.rows:
            n = min(REF_CHUNK, a.rows - done)
            out = model.sample(n)
            done += len(out)
            del out
        secs = time.perf_counter() - t0
    return {"rows": done, "seconds": secs, "rows_per_s": done / secs, "torch_threads": torch.get_num_threads(),
            "py_peak_mb": max(peak_rss_bytes(), mem.peaks["py"]) / MB}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds so far of a process (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _descendant_pids(root: int) -> list[int]:
    """Pids of all descendants of `root` (the Python workers the JVM forks)."""
    parent: dict[int, int] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                parent[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, frontier = [], [root]
    while frontier:
        cur = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == cur]
        out += kids
        frontier += kids
    return out


def worker_ours(a: argparse.Namespace) -> dict[str, Any]:
    from pyspark_synth.io.writers import write_table
    from pyspark_synth.spark.sample_table import sample_table

    if a.pin:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: a.cores]))  # the JVM inherits it
    spark = _session(a.cores)
    jvm = spark.sparkContext._jvm
    java_pid = int(jvm.java.lang.ProcessHandle.current().pid())
    rt = jvm.java.lang.Runtime.getRuntime()
    out = Path(a.out_dir) / f"adult_{a.rows}_{a.cores}c_{time.time_ns()}"
    # warm the JVM and one Python worker per core with a tiny job (one block per partition), so both core
    # counts pay the same fixed costs outside the timing: a fresh worker's first block imports torch (seconds)
    sample_table(spark, "adult", 4096 * a.cores, seed=a.seed + 1, registry=a.registry, num_partitions=a.cores).count()
    probes = {"py": lambda: rss_bytes(), "jvm_rss": lambda: rss_bytes(java_pid),
              "jvm_heap": lambda: rt.totalMemory() - rt.freeMemory(),
              "workers_rss": lambda: sum(rss_bytes(p) for p in _descendant_pids(java_pid))}
    tree = [java_pid, *_descendant_pids(java_pid)]
    cpu0 = {p: _cpu_seconds(p) for p in tree}
    own0 = sum(os.times()[:2])
    with PeakSampler(probes, interval=0.25) as mem:
        t0 = time.perf_counter()
        df = sample_table(spark, "adult", a.rows, seed=a.seed, registry=a.registry)
        write_table(df, str(out), format="parquet")
        secs = time.perf_counter() - t0
    after = [java_pid, *_descendant_pids(java_pid)]
    cpu_s = sum(_cpu_seconds(p) - cpu0.get(p, 0.0) for p in after) + sum(os.times()[:2]) - own0
    back = spark.read.parquet(str(out)).count()
    size = sum(f.stat().st_size for f in out.rglob("*.parquet"))
    files = len(list(out.rglob("*.parquet")))
    spark.stop()
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    return {"rows": a.rows, "rows_read_back": back, "cores": a.cores, "pinned": bool(a.pin), "seconds": secs,
            "rows_per_s": a.rows / secs, "cpu_seconds": cpu_s, "cores_busy": cpu_s / secs,
            "cpu_us_per_row": cpu_s / a.rows * 1e6,
            "parquet_mb": size / MB, "parquet_files": files,
            "py_peak_mb": max(peak_rss_bytes(), mem.peaks["py"]) / MB, "jvm_rss_peak_mb": mem.peaks["jvm_rss"] / MB,
            "jvm_heap_peak_mb": mem.peaks["jvm_heap"] / MB, "workers_rss_peak_mb": mem.peaks["workers_rss"] / MB}


def worker_cost(a: argparse.Namespace) -> dict[str, Any]:
    """Per-row cost of one block's stages on one core (no Spark), and optionally a cProfile of a block."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch

    from pyspark_synth.io.registry import ModelRegistry
    from pyspark_synth.models.base import load_model_bytes
    from pyspark_synth.spark.convert import coerce_to_schema, schema_from_json
    from pyspark_synth.spark.sample_table import DEFAULT_BLOCK_SIZE
    from pyspark_synth.spark.udfs import set_executor_threads

    set_executor_threads(1)
    pa.set_cpu_count(1)  # one core: the CPU times below are this process's, all threads included
    entry = ModelRegistry(a.registry).get("adult")
    schema = schema_from_json(entry.spark_schema)
    model = load_model_bytes(entry.model_bytes())
    bs = DEFAULT_BLOCK_SIZE
    reps = a.cost_blocks
    model.sample(bs, seed=0)
    stages = ("model", "coerce", "arrow", "parquet")
    t = dict.fromkeys(stages, 0.0)
    cpu = dict.fromkeys(stages, 0.0)
    for r in range(reps):
        marks = [(time.perf_counter(), time.process_time())]
        rows = model.sample(bs, seed=r)
        marks.append((time.perf_counter(), time.process_time()))
        pdf = coerce_to_schema(rows, schema)
        marks.append((time.perf_counter(), time.process_time()))
        tbl = pa.Table.from_pandas(pdf, preserve_index=False)
        marks.append((time.perf_counter(), time.process_time()))
        pq.write_table(tbl, io.BytesIO(), compression="snappy")
        marks.append((time.perf_counter(), time.process_time()))
        for k, (m0, m1) in zip(stages, zip(marks[:-1], marks[1:], strict=True), strict=True):
            t[k] += m1[0] - m0[0]
            cpu[k] += m1[1] - m0[1]
    us = {k: v / (reps * bs) * 1e6 for k, v in t.items()}
    cpu_us = {k: v / (reps * bs) * 1e6 for k, v in cpu.items()}
    res: dict[str, Any] = {"block_size": bs, "blocks": reps, "us_per_row": us, "cpu_us_per_row": cpu_us,
                           "per_core_rows_per_s": 1e6 / sum(us.values())}
    # reference: the same stages it has (model inference + inverse transform), one thread, block-sized calls;
    # CPU time as well as wall time: on a shared machine the wall time counts the waits for a core
    if a.ref_model and Path(a.ref_model).exists():
        from ctgan import CTGAN as RefCTGAN

        torch.set_num_threads(1)
        ref = RefCTGAN.load(a.ref_model)
        ref.sample(bs)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(reps):
            ref.sample(bs)
        res["ref_us_per_row_1thread_block"] = (time.perf_counter() - t0) / (reps * bs) * 1e6
        res["ref_cpu_us_per_row_1thread_block"] = (time.process_time() - c0) / (reps * bs) * 1e6
        t0, c0 = time.perf_counter(), time.process_time()
        ref.sample(REF_CHUNK // 4)
        res["ref_us_per_row_1thread_250k"] = (time.perf_counter() - t0) / (REF_CHUNK // 4) * 1e6
        res["ref_cpu_us_per_row_1thread_250k"] = (time.process_time() - c0) / (REF_CHUNK // 4) * 1e6
    if a.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for r in range(5):
            coerce_to_schema(model.sample(bs, seed=r), schema)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
        res["profile"] = buf.getvalue()
    return res


WORKERS = {"fit_ours": worker_fit_ours, "fit_ref": worker_fit_ref, "ref": worker_ref, "ours": worker_ours,
           "cost": worker_cost}


# ------------------------------------------------------------------------------------------ driver
def run_worker(kind: str, a: argparse.Namespace, *, pin: bool = False, **over: Any) -> dict[str, Any]:
    args = [sys.executable, __file__, "--worker", kind, "--seed", str(a.seed), "--epochs", str(a.epochs), "--backend", a.backend,
            "--registry", a.registry, "--ref-model", a.ref_model, "--out-dir", a.out_dir,
            "--cost-blocks", str(a.cost_blocks), "--ref-fit-rows", str(a.ref_fit_rows)]
    for k, v in over.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    if a.profile:
        args.append("--profile")
    if pin:
        args.append("--pin")
    print(f"  [{time.strftime('%H:%M:%S')}] {kind} {over} (load {load_average()})", flush=True)
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise RuntimeError(f"worker {kind} {over} failed with code {proc.returncode}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["load_average"] = load_average()
    return res


def render(res: dict[str, Any]) -> str:
    m = res["meta"]
    lines = [f"seed={m['seed']}  epochs={m['epochs']} (both)  cpus={m['cpus']}  load average start={m['load_start']} "
             f"end={m['load_end']}", "",
             f"fit on adult ({res['fit_ours']['rows']} rows): ours {res['fit_ours']['fit_seconds']:.1f}s, "
             f"reference {res['fit_ref']['fit_seconds']:.1f}s", "",
             "| rows | reference sample() in memory rows/s | ours -> Parquet local[2] rows/s | ratio ours/ref "
             "| driver Python peak MB | driver JVM RSS peak MB | JVM heap used peak MB | Python workers RSS peak MB "
             "| Parquet MB | load avg |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["throughput"]:
        o, f = r["ours"], r["reference"]
        lines.append(f"| {o['rows']:,} | {f['rows_per_s']:,.0f} | {o['rows_per_s']:,.0f} | "
                     f"**{o['rows_per_s'] / f['rows_per_s']:.2f}** | {o['py_peak_mb']:.0f} | {o['jvm_rss_peak_mb']:.0f} | "
                     f"{o['jvm_heap_peak_mb']:.0f} | {o['workers_rss_peak_mb']:.0f} | {o['parquet_mb']:.0f} | "
                     f"{o['load_average'][0]} |")
    if res.get("scaling"):
        s = res["scaling"]
        lines += ["", "| rows | local[1] on 1 CPU rows/s | local[2] on 2 CPUs rows/s | speed-up | CPU µs/row 1 / 2 |",
                  "|---|---|---|---|---|",
                  f"| {s['1']['rows']:,} | {s['1']['rows_per_s']:,.0f} | {s['2']['rows_per_s']:,.0f} | "
                  f"{s['2']['rows_per_s'] / s['1']['rows_per_s']:.2f}x | {s['1'].get('cpu_us_per_row', float('nan')):.1f} / "
                  f"{s['2'].get('cpu_us_per_row', float('nan')):.1f} |"]
    c = res.get("cost")
    if c:
        us = c["us_per_row"]
        lines += ["", f"cost per row, one core, {c['block_size']}-row blocks (µs): model.sample {us['model']:.2f}, "
                      f"coerce {us['coerce']:.2f}, Arrow {us['arrow']:.2f}, Parquet {us['parquet']:.2f} "
                      f"-> {c['per_core_rows_per_s']:,.0f} rows/s per core"]
        if "ref_us_per_row_1thread_block" in c:
            lines.append(f"reference sample(), one thread: {c['ref_us_per_row_1thread_block']:.2f} µs/row in "
                         f"{c['block_size']}-row calls, {c['ref_us_per_row_1thread_250k']:.2f} µs/row in 250k-row calls")
        if "cpu_us_per_row" in c and "ref_cpu_us_per_row_1thread_250k" in c:
            cu = c["cpu_us_per_row"]
            ours = sum(cu.values())
            best_ref = min(c["ref_cpu_us_per_row_1thread_block"], c["ref_cpu_us_per_row_1thread_250k"])
            lines.append(f"CPU time per row, one core (µs): model.sample {cu['model']:.2f}, coerce {cu['coerce']:.2f}, "
                         f"Arrow {cu['arrow']:.2f}, Parquet {cu['parquet']:.2f} = {ours:.2f}; reference sample() "
                         f"{c['ref_cpu_us_per_row_1thread_block']:.2f} ({c['block_size']}-row calls) / "
                         f"{c['ref_cpu_us_per_row_1thread_250k']:.2f} (250k-row calls) -> ratio per core "
                         f"(reference's faster / ours) **{best_ref / ours:.2f}**")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--scaling-rows", type=int, default=1_000_000, help="rows for local[1] vs local[2]; 0 skips")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--backend", default="ctgan", help="our backend (default ctgan, as the reference)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true", help="cProfile one block's generation")
    ap.add_argument("--cost-blocks", type=int, default=20)
    ap.add_argument("--ref-fit-rows", type=int, default=5000,
                    help="rows the reference is fitted on (its mode-specific GMMs are slow; 0 = all)")
    ap.add_argument("--json", type=Path)
    # worker plumbing
    ap.add_argument("--worker", choices=sorted(WORKERS))
    ap.add_argument("--registry", default="")
    ap.add_argument("--ref-model", default="")
    ap.add_argument("--out-dir", default="")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--pin", action="store_true", help="bind the worker to --cores CPUs")
    a = ap.parse_args(argv)
    if a.worker:
        if a.worker in ("ours", "ref"):
            a.rows = a.rows[0]
        print(json.dumps(WORKERS[a.worker](a), default=str))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-sampling-") as tmp:
        a.registry = str(Path(tmp) / "registry")
        a.ref_model = str(Path(tmp) / "reference.pkl")
        a.out_dir = str(Path(tmp) / "out")
        res: dict[str, Any] = {"meta": {"seed": a.seed, "epochs": a.epochs, "cpus": os.cpu_count(),
                                        "load_start": load_average(), "command": " ".join(sys.argv)}}
        res["fit_ours"] = run_worker("fit_ours", a)
        res["fit_ref"] = run_worker("fit_ref", a)
        res["cost"] = run_worker("cost", a)
        if a.profile:
            print(res["cost"].pop("profile"))
        res["throughput"] = []
        for i, n in enumerate(a.rows):  # smallest first, then the scaling runs, then the larger sizes
            ref = run_worker("ref", a, rows=n)
            ours = run_worker("ours", a, rows=n, cores=2)
            res["throughput"].append({"reference": ref, "ours": ours})
            print(f"  {n:,} rows: ours {ours['rows_per_s']:,.0f} rows/s, reference {ref['rows_per_s']:,.0f} rows/s "
                  f"(ratio {ours['rows_per_s'] / ref['rows_per_s']:.2f}); driver Python peak {ours['py_peak_mb']:.0f} MB, "
                  f"JVM RSS peak {ours['jvm_rss_peak_mb']:.0f} MB, heap peak {ours['jvm_heap_peak_mb']:.0f} MB", flush=True)
            if i == 0 and a.scaling_rows:
                res["scaling"] = {str(k): run_worker("ours", a, rows=a.scaling_rows, cores=k, pin=True) for k in (1, 2)}
                print(f"  scaling: local[1] {res['scaling']['1']['rows_per_s']:,.0f} rows/s, local[2] "
                      f"{res['scaling']['2']['rows_per_s']:,.0f} rows/s", flush=True)
            if a.json:
                a.json.write_text(json.dumps(res, indent=2, default=str))
        res["meta"]["load_end"] = load_average()
    print(render(res))
    if a.json:
        a.json.write_text(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
