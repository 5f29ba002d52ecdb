"""Single-table benchmark: our CTGAN (default settings) against the reference `ctgan` package, side by side.

Both models are trained on the same table, on the same machine, in the same invocation (the
reference runs in a background process while ours trains), with fixed seeds. Printed per table:
fit seconds, sample rows/s, the SDMetrics QualityReport score (default: pair trends only over
pairs with real correlation > 0.5 / association > 0.3; and with every pair counted), and ratios.

    python benchmarks/single_table.py                       # sakila.film, northwind.order_details, adult
    python benchmarks/single_table.py --dataset adult       # one table
    python benchmarks/single_table.py --skip-reference      # reuse the last cached reference result

Needs the `bench` extra (ctgan 0.12, sdmetrics 0.32).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
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


def run_ours(df: pd.DataFrame, types: dict[str, str], seed: int, overrides: dict[str, Any]) -> tuple[dict, pd.DataFrame]:
    from pyspark_synth.metadata import Column, Table
    from pyspark_synth.models.ctgan import CTGAN

    table = Table(name="bench", columns=tuple(Column(name=c, type=t) for c, t in types.items()))
    model = CTGAN(table, seed=seed, **overrides)
    t0 = time.perf_counter()
    model.fit(df, progress_bar=False)
    fit_s = time.perf_counter() - t0
    model.sample(1000, seed=seed + 1)  # warm-up
    t0 = time.perf_counter()
    synth = model.sample(len(df), seed=seed + 1)
    sample_s = time.perf_counter() - t0
    return {"fit_seconds": fit_s, "sample_rows_per_s": len(df) / sample_s, "epochs": len(model.history_),
            "params": model.get_params()}, synth


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
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference-epochs", type=int, default=300)
    ap.add_argument("--reference-for", nargs="*", default=None,
                    help="train the reference only on these tables (default: every selected table)")
    ap.add_argument("--skip-reference", action="store_true",
                    help="do not train the reference; show the cached result of an earlier run (marked 'cached')")
    ap.add_argument("--ours", default="", help="override our settings, e.g. 'epochs=10,batch_size=1000' (JSON values)")
    ap.add_argument("--json", type=Path, help="also write all results to this JSON file")
    ap.add_argument("--parallel", action="store_true",
                    help="train the reference in the background while ours trains (faster, but each side gets "
                         "about half the machine); by default the two run one after the other")
    args = ap.parse_args(argv)
    overrides = parse_overrides(args.ours)
    CACHE.mkdir(parents=True, exist_ok=True)

    ctx = mp.get_context("spawn")
    ref_proc: mp.Process | None = None
    if not args.skip_reference:
        # One separate process runs the reference on every table in turn (its own global RNG).
        names = [d for d in args.dataset if args.reference_for is None or d in args.reference_for]
        for d in names:  # never show a stale result as this run's
            (CACHE / f"reference_{d}_seed{args.seed}_epochs{args.reference_epochs}.json").unlink(missing_ok=True)
        ref_proc = ctx.Process(target=_reference_all, args=(names, args.seed, args.reference_epochs, str(CACHE)))
        if args.parallel:
            ref_proc.start()

    results = {}
    for name in args.dataset:
        df, types = load_table(name)
        ours, synth = run_ours(df, types, args.seed, overrides)
        ours["quality"] = quality(df, synth, types)
        results[name] = {"ours": ours, "rows": len(df), "columns": len(df.columns)}
        Path(CACHE / f"ours_{name}_seed{args.seed}.json").write_text(json.dumps(ours, indent=2, default=str))
        print(f"[ours] {name}: fit {ours['fit_seconds']:.1f}s score {ours['quality']['score']:.4f}", flush=True)

    if ref_proc is not None:
        if not args.parallel:
            ref_proc.start()
        ref_proc.join()
    for name in args.dataset:
        path = CACHE / f"reference_{name}_seed{args.seed}_epochs{args.reference_epochs}.json"
        ran = not args.skip_reference and (args.reference_for is None or name in args.reference_for)
        ref = json.loads(path.read_text()) if path.exists() and (ran or args.skip_reference) else None
        if ref is not None:
            ref["cached"] = bool(args.skip_reference)
        results[name]["reference"] = ref

    meta = {"seed": args.seed, "reference_epochs": args.reference_epochs, "cpus": os.cpu_count(),
            "python": platform.python_version(), "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "ours_overrides": overrides, "load_average_end": os.getloadavg(),
            "schedule": "parallel" if args.parallel else "sequential"}
    print(render(results, meta))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    return 0


def _reference_all(names: list[str], seed: int, epochs: int, cache: str) -> None:
    for name in names:
        _reference_worker(name, seed, epochs, str(Path(cache) / f"reference_{name}_seed{seed}_epochs{epochs}.json"))


def render(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [f"seed={meta['seed']}  reference epochs={meta['reference_epochs']}  cpus={meta['cpus']}  "
             f"load average at end={tuple(round(x, 1) for x in meta['load_average_end'])}", "",
             "| table | rows | model | fit s | sample rows/s | score (default) | shapes | pair trends (default) "
             "| pair trends (all pairs) | score (all pairs) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        for who in ("ours", "reference"):
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
        o, ref = r["ours"], r.get("reference")
        if ref:
            lines.append(f"| {name} | | **ratio ours/ref** | {o['fit_seconds'] / ref['fit_seconds']:.3f} | "
                         f"{o['sample_rows_per_s'] / ref['sample_rows_per_s']:.2f} | "
                         f"{o['quality']['score'] / ref['quality']['score']:.3f} | | | | "
                         f"{o['quality']['score_all_pairs'] / ref['quality']['score_all_pairs']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
