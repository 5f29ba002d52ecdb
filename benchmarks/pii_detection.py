"""PII detection benchmark: per-kind column-level precision/recall on the labelled Faker set.

Runs `detect_pii_pandas` on the labelled tables of `pyspark_synth.privacy.labelled` (6 locales,
cue and opaque column names, non-PII look-alikes) and prints the per-kind table, next to a
column-name-only baseline (what a name-cue rule finds without looking at values).

    python benchmarks/pii_detection.py [--rows 200] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from pyspark_synth.privacy._kinds import name_cues
from pyspark_synth.privacy.labelled import (
    LOCALES,
    build_labelled_tables,
    evaluate_detector,
    format_scores,
)


def _name_only(frame: pd.DataFrame) -> dict[str, str]:
    """Baseline: the first kind the column name hints at, values ignored."""
    out = {}
    for col in frame.columns:
        cues, _ = name_cues(str(col))
        if cues:
            out[col] = next(iter(cues))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200, help="rows per table")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one test set per seed, scores summed")
    args = parser.parse_args(argv)

    tables = []
    t0 = time.perf_counter()
    for seed in args.seeds:
        tables += build_labelled_tables(rows=args.rows, seed=seed)
    built = time.perf_counter() - t0
    evaluate_detector(tables[:1])  # warm the Faker vocabularies (built once per process)
    t0, c0 = time.perf_counter(), time.process_time()
    scores, mistakes = evaluate_detector(tables)
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    n_values = sum(int(t.frame.notna().sum().sum()) for t in tables)
    base, _ = evaluate_detector(tables, _name_only)

    n_cols = sum(len(t.labels) for t in tables)
    n_pii = sum(1 for t in tables for k in t.labels.values() if k is not None)
    print(f"PII detection benchmark: {len(tables)} tables, {n_cols} columns ({n_pii} PII, {n_cols - n_pii} look-alikes), "
          f"{args.rows} rows each, locales {', '.join(LOCALES)}, seeds {args.seeds}")
    print(f"built in {built:.1f}s, detected in {took:.1f}s wall, {cpu:.1f}s CPU ({1000 * took / len(tables):.0f} ms "
          f"per table; {1000 * cpu / n_values:.3f} CPU s per 1,000 values)\n")
    print("detect_pii_pandas (names + values):")
    print(format_scores(scores))
    print("\nbaseline, column names only:")
    print(format_scores(base))
    both = scores.merge(base, on="kind", suffixes=("", "_names"))
    print("\nrecall ratio (detector / names only), opaque columns are where values must do the work:")
    for r in both.itertuples(index=False):
        ratio = r.recall / r.recall_names if r.recall_names else float("inf")
        print(f"  {r.kind:<20} {ratio:6.2f}x")
    if mistakes:
        print("\nmistakes:")
        for m in mistakes:
            print("  ", m)


if __name__ == "__main__":
    main()
