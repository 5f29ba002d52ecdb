"""Single-table benchmark: our backends next to their peers, side by side, printed as ratios.

Pairs (each run in the same invocation, on the same table, with fixed seeds):

* our CTGAN (default settings) and the reference `ctgan` package (300 epochs);
* our autoregressive backend (default settings) and MOSTLY AI's TabularARGN (`mostlyai-engine`
  2.7.3, Apache-2.0, default settings: up to 100 epochs with early stopping, flexible generation).

Printed per table and model: fit seconds, sample rows/s, the SDMetrics QualityReport score (default:
pair trends only over pairs with real correlation > 0.5 / association > 0.3; and with every pair
counted), column shapes, pair trends, and the ratios ours/peer. Every synthetic table is scored by
the same sdmetrics code in this process (TabularARGN returns categorical columns as strings, e.g.
"11" for product 11 and `_RARE_` for its pooled rare values: they get the real table's dtypes
first, listed as `dtype_fixes` in the JSON). By default the models run one after the other, table by
table (ours, then its peer), so both see the same machine load; the load average is printed.

    python benchmarks/single_table.py                                   # every model, default tables
    python benchmarks/single_table.py --models autoregressive mostlyai  # the autoregressive pair only
    python benchmarks/single_table.py --dataset adult --models ctgan reference
    python benchmarks/single_table.py --skip-reference                  # reuse the cached reference ctgan

Needs the `bench` extra (ctgan 0.12, sdv, sdmetrics 0.32).

TabularARGN runs in its own virtual environment, as a subprocess of this script: mostlyai-engine
pins torch 2.13 with torchvision/torchaudio and pulls transformers, datasets, peft, opacus and
xgrammar (its language models), none of which our environment should get, and installing it
normally would replace our CPU build of torch with CUDA wheels. The environment sees our
site-packages (so it uses our torch 2.13.0+cpu, numpy, pandas, pyarrow, scikit-learn) and adds the
rest; it is made by `python benchmarks/single_table.py --setup-mostlyai`, which runs exactly:

    python -m venv --system-site-packages benchmarks/.cache/mostlyai-venv
    benchmarks/.cache/mostlyai-venv/bin/python -m pip install --no-deps \
        mostlyai-engine==2.7.3 opacus peft accelerate xgrammar
    benchmarks/.cache/mostlyai-venv/bin/python -m pip install datasets huggingface-hub json-repair \
        "psutil<6" tokenizers transformers safetensors regex "torch==<our torch version>"

(`--no-deps` for the packages that require torch, torchvision or torchaudio: the tabular model
imports none of the latter two; the last line names our installed torch so pip keeps it.) pip
then warns that torchvision, torchaudio, apache-tvm-ffi and triton are missing; the tabular path
does not import them. `--mostlyai-python` points at another interpreter.

Threads: both models of a pair get the same torch thread count, the one our autoregressive model
picks by default (half the cores, at most 4: on this 2-core machine, 1), because torch's default
(all cores) made every training step many times slower here whenever other work shared the cores;
`--peer-threads 0` leaves the peer at torch's default instead.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
CACHE = ROOT / "benchmarks" / ".cache"

# table -> (csv path, {column: sdtype}); columns not listed (ids, free text) are dropped for both models.
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "adult": ("adult/adult.csv", {
        "age": "numerical", "workclass": "categorical", "fnlwgt": "numerical", "education": "categorical",
        "education-num": "numerical", "marital-status": "categorical", "occupation": "categorical",
        "relationship": "categorical", "race": "categorical", "sex": "categorical", "capital-gain": "numerical",
        "capital-loss": "numerical", "hours-per-week": "numerical", "native-country": "categorical",
        "income": "categorical"}),
    "chinook.Track": ("chinook/Track.csv", {
        "AlbumId": "categorical", "MediaTypeId": "categorical", "GenreId": "categorical",
        "Composer": "categorical", "Milliseconds": "numerical", "Bytes": "numerical", "UnitPrice": "numerical"}),
    "sakila.film": ("sakila/film.csv", {
        "rental_duration": "numerical", "rental_rate": "numerical", "length": "numerical",
        "replacement_cost": "numerical", "rating": "categorical", "special_features": "categorical"}),
    "northwind.order_details": ("northwind/order_details.csv", {
        "product_id": "categorical", "unit_price": "numerical", "quantity": "numerical", "discount": "numerical"}),
    "sakila.payment": ("sakila/payment.csv", {
        "customer_id": "categorical", "staff_id": "categorical", "amount": "numerical",
        "payment_date": "datetime"}),
}
DEFAULT_TABLES = ["sakila.film", "northwind.order_details", "adult"]


def load_table(name: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table as the benchmark uses it (adult: leading spaces stripped, ' ?' as missing)."""
    path, types = TABLES[name]
    if name == "adult":
        df = pd.read_csv(DATASETS / path, skipinitialspace=True, na_values=["?"])
    else:
        df = pd.read_csv(DATASETS / path)
    df = df[list(types)].copy()
    for col, t in types.items():
        if t == "datetime":
            df[col] = pd.to_datetime(df[col])
        elif t == "categorical" and pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].astype("int64") if df[col].notna().all() else df[col]
    return df, types


def sdmetrics_metadata(types: dict[str, str]) -> dict[str, Any]:
    cols = {}
    for c, t in types.items():
        cols[c] = {"sdtype": t, "datetime_format": "%Y-%m-%d %H:%M:%S"} if t == "datetime" else {"sdtype": t}
    return {"columns": cols}


def quality(real: pd.DataFrame, synth: pd.DataFrame, types: dict[str, str]) -> dict[str, float]:
    """SDMetrics QualityReport: the default score, and the score with every column pair counted.

    sdmetrics 0.32 scores pair trends only over pairs whose real correlation > 0.5 or association
    > 0.3 (other pairs get no score); the second report sets both thresholds to 0.
    """
    from sdmetrics.reports.single_table import QualityReport

    out: dict[str, float] = {}
    for label, thresholds in (("default", None), ("all_pairs", 0.0)):
        report = QualityReport()
        if thresholds is not None:
            report.real_correlation_threshold = thresholds
            report.real_association_threshold = thresholds
        report.generate(real, synth[real.columns], sdmetrics_metadata(types), verbose=False)
        props = report.get_properties().set_index("Property")["Score"]
        details = report.get_details("Column Pair Trends")
        scored = int(pd.to_numeric(details["Score"], errors="coerce").notna().sum())
        out[f"score_{label}"] = float(report.get_score())
        out[f"column_shapes_{label}"] = float(props["Column Shapes"])
        out[f"pair_trends_{label}"] = float(props["Column Pair Trends"])
        out[f"pairs_scored_{label}"] = scored
        out["pairs_total"] = len(details)
    out["score"] = out["score_default"]
    out["column_shapes"] = out["column_shapes_default"]
    return out


MODELS = ("autoregressive", "mostlyai", "ctgan", "reference")
PAIRS = (("autoregressive", "mostlyai"), ("ctgan", "reference"))
MOSTLYAI_VENV = ROOT / "benchmarks" / ".cache" / "mostlyai-venv"


def run_ours(df: pd.DataFrame, types: dict[str, str], seed: int, overrides: dict[str, Any],
             backend: str = "ctgan") -> tuple[dict, pd.DataFrame]:
    """Fit and sample one of our backends (default settings plus `overrides`)."""
    from pyspark_synth.metadata import Column, Table

    table = Table(name="bench", columns=tuple(Column(name=c, type=t) for c, t in types.items()))
    if backend == "autoregressive":
        from pyspark_synth.models.autoregressive import AutoregressiveModel as Model
    else:
        from pyspark_synth.models.ctgan import CTGAN as Model
    model = Model(table, seed=seed, **overrides)
    t0 = time.perf_counter()
    if backend == "autoregressive":
        model.fit(df)
    else:
        model.fit(df, progress_bar=False)
    fit_s = time.perf_counter() - t0
    model.sample(1000, seed=seed + 1)  # warm-up
    t0 = time.perf_counter()
    synth = model.sample(len(df), seed=seed + 1)
    sample_s = time.perf_counter() - t0
    res = {"fit_seconds": fit_s, "sample_rows_per_s": len(df) / sample_s, "epochs": len(model.history_),
           "params": model.get_params()}
    if backend == "autoregressive":
        rep = model.fit_report_
        res.update({"stop_reason": rep["stop_reason"], "threads": rep["threads"], "batch_size": rep["batch_size"],
                    "rows_trained": rep["rows_trained"], "parameters": rep["parameters"]})
    return res, synth


def our_threads() -> int:
    """The torch thread count our autoregressive model uses by default on this machine."""
    from pyspark_synth.models._ar_nets import default_threads

    return default_threads()


def setup_mostlyai(venv: Path = MOSTLYAI_VENV) -> Path:
    """Create the separate environment TabularARGN runs in (see the module docstring); its python."""
    import torch

    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "mostlyai-engine==2.7.3", "opacus", "peft",
                    "accelerate", "xgrammar"], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "datasets", "huggingface-hub", "json-repair", "psutil<6",
                    "tokenizers", "transformers", "safetensors", "regex", f"torch=={torch.__version__}"], check=True)
    return py


_ARGN_TYPES = {"categorical": "TABULAR_CATEGORICAL", "numerical": "TABULAR_NUMERIC_AUTO",
               "datetime": "TABULAR_DATETIME"}


def _mostlyai_worker(name: str, seed: int, threads: int, out_dir: str) -> None:
    """Fit and sample TabularARGN (runs inside the mostlyai environment; see the module docstring)."""
    import torch
    from mostlyai.engine import TabularARGN

    if threads > 0:
        torch.set_num_threads(threads)
    df, types = load_table(name)
    with tempfile.TemporaryDirectory() as ws:
        model = TabularARGN(random_state=seed, verbose=0, workspace_dir=ws,
                            tgt_encoding_types={c: _ARGN_TYPES[t] for c, t in types.items()})
        t0 = time.perf_counter()
        model.fit(df)
        fit_s = time.perf_counter() - t0
        model.sample(n_samples=1000)  # warm-up
        t0 = time.perf_counter()
        synth = model.sample(n_samples=len(df))
        sample_s = time.perf_counter() - t0
    synth.to_parquet(Path(out_dir) / "synth.parquet")
    import importlib.metadata as md

    res = {"fit_seconds": fit_s, "sample_rows_per_s": len(df) / sample_s, "torch_threads": torch.get_num_threads(),
           "version": md.version("mostlyai-engine"), "torch": torch.__version__}
    (Path(out_dir) / "result.json").write_text(json.dumps(res, indent=2))


def run_mostlyai(name: str, df: pd.DataFrame, types: dict[str, str], seed: int, threads: int,
                 python: Path) -> tuple[dict, pd.DataFrame]:
    """TabularARGN on one table, in its own environment (a subprocess); the result and its rows."""
    if not python.exists():
        raise SystemExit(f"No mostlyai environment at {python}. Create it with "
                         f"`python benchmarks/single_table.py --setup-mostlyai` (see the module docstring), "
                         "or pass --mostlyai-python, or leave 'mostlyai' out of --models.")
    with tempfile.TemporaryDirectory() as out:
        cmd = [str(python), str(Path(__file__).resolve()), "--mostlyai-worker", "--dataset", name, "--seed", str(seed),
               "--peer-threads", str(threads), "--worker-out", out]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
        subprocess.run(cmd, check=True, env=env)
        res = json.loads((Path(out) / "result.json").read_text())
        synth = pd.read_parquet(Path(out) / "synth.parquet")
    res["dtype_fixes"] = align_dtypes(synth, df, types)
    return res, synth


def align_dtypes(synth: pd.DataFrame, real: pd.DataFrame, types: dict[str, str]) -> dict[str, str]:
    """Give the peer's columns the real table's dtypes before scoring (in place); what was changed.

    TabularARGN returns a categorical column as strings (`"11"` for product 11, `_RARE_` for a
    pooled rare value): compared as they are, SDMetrics would count every value as a new category.
    """
    fixes: dict[str, str] = {}
    for c, t in types.items():
        before = str(synth[c].dtype)
        if t == "datetime":
            synth[c] = pd.to_datetime(synth[c], errors="coerce")
        elif pd.api.types.is_numeric_dtype(real[c].dtype) and not pd.api.types.is_numeric_dtype(synth[c].dtype):
            values = pd.to_numeric(synth[c], errors="coerce")  # _RARE_ becomes null
            synth[c] = values.astype(real[c].dtype) if values.notna().all() else values
        elif real[c].dtype == object and synth[c].dtype != object:
            synth[c] = synth[c].astype(object)
        if str(synth[c].dtype) != before:
            fixes[c] = f"{before} -> {synth[c].dtype}"
    return fixes


def _reference_worker(name: str, seed: int, epochs: int, out_path: str) -> None:
    """Train the reference ctgan in a separate process (started in the background)."""
    import torch
    from ctgan import CTGAN as RefCTGAN

    if os.environ.get("BENCH_REFERENCE_THREADS"):
        torch.set_num_threads(int(os.environ["BENCH_REFERENCE_THREADS"]))
    df, types = load_table(name)
    complete = df.dropna(subset=[c for c, t in types.items() if t != "categorical"]).reset_index(drop=True)
    ref_df = complete.copy()
    dt_cols = [c for c, t in types.items() if t == "datetime"]
    for c in dt_cols:
        ref_df[c] = ref_df[c].astype("int64").astype("float64")
    discrete = [c for c, t in types.items() if t == "categorical"]
    model = RefCTGAN(epochs=epochs, verbose=False)
    model.set_random_state(seed)
    torch.manual_seed(seed)  # the reference uses global RNG; this process is its own
    np.random.seed(seed)
    t0 = time.perf_counter()
    model.fit(ref_df, discrete_columns=discrete)
    fit_s = time.perf_counter() - t0
    model.sample(1000)
    t0 = time.perf_counter()
    synth = model.sample(len(df))
    sample_s = time.perf_counter() - t0
    for c in dt_cols:
        synth[c] = pd.to_datetime(synth[c].round().astype("int64"))
    q = quality(df, synth, types)
    res = {"fit_seconds": fit_s, "sample_rows_per_s": len(df) / sample_s, "epochs": epochs,
           "rows_trained": len(complete), "rows_dropped_for_nulls": len(df) - len(complete),
           "torch_threads": torch.get_num_threads(), "quality": q}
    Path(out_path).write_text(json.dumps(res, indent=2))


def parse_overrides(text: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in filter(None, (text or "").split(",")):
        k, v = part.split("=", 1)
        out[k.strip()] = json.loads(v)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", nargs="+", default=DEFAULT_TABLES, choices=sorted(TABLES))
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS,
                    help="ours (autoregressive, ctgan) and peers (mostlyai, reference) to run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference-epochs", type=int, default=300)
    ap.add_argument("--reference-for", nargs="*", default=None,
                    help="train the reference only on these tables (default: every selected table)")
    ap.add_argument("--skip-reference", action="store_true",
                    help="do not train the reference; show the cached result of an earlier run (marked 'cached')")
    ap.add_argument("--ours", default="", help="override our settings, e.g. 'epochs=10,batch_size=1000' (JSON values)")
    ap.add_argument("--json", type=Path, help="also write all results to this JSON file")
    ap.add_argument("--parallel", action="store_true",
                    help="train the reference ctgan in the background while ours trains (faster, but each side "
                         "gets about half the machine); by default the two run one after the other")
    ap.add_argument("--peer-threads", type=int, default=None,
                    help="torch threads of TabularARGN (default: the same as our autoregressive model; 0: torch's)")
    ap.add_argument("--mostlyai-python", type=Path, default=MOSTLYAI_VENV / "bin" / "python")
    ap.add_argument("--setup-mostlyai", action="store_true", help="create the mostlyai environment and exit")
    ap.add_argument("--mostlyai-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.setup_mostlyai:
        print(setup_mostlyai())
        return 0
    if args.mostlyai_worker:
        _mostlyai_worker(args.dataset[0], args.seed, int(args.peer_threads or 0), args.worker_out)
        return 0
    overrides = parse_overrides(args.ours)
    if "mostlyai" in args.models and not args.mostlyai_python.exists():  # say so before anything trains
        raise SystemExit(f"No mostlyai environment at {args.mostlyai_python}. Create it with "
                         "`python benchmarks/single_table.py --setup-mostlyai` (see the module docstring), "
                         "pass --mostlyai-python, or leave 'mostlyai' out of --models.")
    CACHE.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    threads = our_threads() if args.peer_threads is None else args.peer_threads

    ctx = mp.get_context("spawn")
    ref_proc: mp.Process | None = None
    if "reference" in args.models and not args.skip_reference:
        # One separate process runs the reference on every table in turn (its own global RNG).
        names = [d for d in args.dataset if args.reference_for is None or d in args.reference_for]
        for d in names:  # never show a stale result as this run's
            (CACHE / f"reference_{d}_seed{args.seed}_epochs{args.reference_epochs}.json").unlink(missing_ok=True)
        ref_proc = ctx.Process(target=_reference_all, args=(names, args.seed, args.reference_epochs, str(CACHE)))
        if args.parallel:
            ref_proc.start()

    results: dict[str, Any] = {}
    for name in args.dataset:
        df, types = load_table(name)
        results[name] = {"rows": len(df), "columns": len(df.columns)}
        for backend in ("autoregressive", "ctgan"):
            if backend not in args.models:
                continue
            ours, synth = run_ours(df, types, args.seed, overrides, backend)
            ours["quality"] = quality(df, synth, types)
            results[name][backend] = ours
            Path(CACHE / f"{backend}_{name}_seed{args.seed}.json").write_text(json.dumps(ours, indent=2, default=str))
            print(f"[{backend}] {name}: fit {ours['fit_seconds']:.1f}s score {ours['quality']['score']:.4f}", flush=True)
            if backend == "autoregressive" and "mostlyai" in args.models:
                peer, synth = run_mostlyai(name, df, types, args.seed, threads, args.mostlyai_python)
                peer["quality"] = quality(df, synth, types)
                results[name]["mostlyai"] = peer
                (CACHE / f"mostlyai_{name}_seed{args.seed}.json").write_text(json.dumps(peer, indent=2, default=str))
                print(f"[mostlyai] {name}: fit {peer['fit_seconds']:.1f}s score {peer['quality']['score']:.4f}",
                      flush=True)
        if "mostlyai" in args.models and "autoregressive" not in args.models:
            peer, synth = run_mostlyai(name, df, types, args.seed, threads, args.mostlyai_python)
            peer["quality"] = quality(df, synth, types)
            results[name]["mostlyai"] = peer

    if ref_proc is not None:
        if not args.parallel:
            ref_proc.start()
        ref_proc.join()
    if "reference" in args.models:
        for name in args.dataset:
            path = CACHE / f"reference_{name}_seed{args.seed}_epochs{args.reference_epochs}.json"
            ran = not args.skip_reference and (args.reference_for is None or name in args.reference_for)
            ref = json.loads(path.read_text()) if path.exists() and (ran or args.skip_reference) else None
            if ref is not None:
                ref["cached"] = bool(args.skip_reference)
            results[name]["reference"] = ref

    meta = {"seed": args.seed, "reference_epochs": args.reference_epochs, "cpus": os.cpu_count(),
            "python": platform.python_version(), "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "ours_overrides": overrides, "load_average_start": load_start, "load_average_end": os.getloadavg(),
            "schedule": "parallel" if args.parallel else "sequential", "models": args.models,
            "peer_threads": threads}
    print(render(results, meta))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    return 0


def _reference_all(names: list[str], seed: int, epochs: int, cache: str) -> None:
    for name in names:
        _reference_worker(name, seed, epochs, str(Path(cache) / f"reference_{name}_seed{seed}_epochs{epochs}.json"))


def _ratio(a: float, b: float, digits: int) -> str:
    """a / b as text; n/a when either is missing or b is 0 (a pair-trend score with no pair)."""
    try:
        return "n/a" if not b or a != a or b != b else f"{a / b:.{digits}f}"
    except TypeError:
        return "n/a"


def render(results: dict[str, Any], meta: dict[str, Any]) -> str:
    def load(key: str) -> tuple[float, ...]:
        return tuple(round(x, 1) for x in meta.get(key, ()))

    lines = [f"seed={meta['seed']}  reference epochs={meta['reference_epochs']}  cpus={meta['cpus']}  "
             f"peer threads={meta.get('peer_threads')}  load average at start={load('load_average_start')}  "
             f"at end={load('load_average_end')}", "",
             "| table | rows | model | fit s | sample rows/s | score (default) | shapes | pair trends (default) "
             "| pair trends (all pairs) | score (all pairs) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    models = meta.get("models", ["ctgan", "reference"])
    for name, r in results.items():
        for who in [m for m in MODELS if m in models]:
            x = r.get(who)
            if x is None:
                lines.append(f"| {name} | {r['rows']} | {who} | n/a | n/a | n/a | n/a | n/a | n/a | n/a |")
                continue
            q = x["quality"]
            tag = who + (" (cached)" if x.get("cached") else "")
            lines.append(f"| {name} | {r['rows']} | {tag} | {x['fit_seconds']:.1f} | {x['sample_rows_per_s']:,.0f} | "
                         f"{q['score']:.4f} | {q['column_shapes']:.4f} | {q['pair_trends_default']:.4f} "
                         f"({q['pairs_scored_default']}/{q['pairs_total']} pairs) | {q['pair_trends_all_pairs']:.4f} | "
                         f"{q['score_all_pairs']:.4f} |")
        for ours, peer in PAIRS:
            o, p = r.get(ours), r.get(peer)
            if not o or not p:
                continue
            oq, pq = o["quality"], p["quality"]
            cells = [_ratio(o["fit_seconds"], p["fit_seconds"], 3), _ratio(o["sample_rows_per_s"], p["sample_rows_per_s"], 2)]
            cells += [_ratio(oq[k], pq[k], 3) for k in ("score", "column_shapes", "pair_trends_default",
                                                        "pair_trends_all_pairs", "score_all_pairs")]
            lines.append(f"| {name} | | **ratio {ours}/{peer}** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
