"""Validation at scale: `validate` on N real vs N synthetic rows (Spark) next to SDMetrics' QualityReport on a sample.

Both tables have an adult-like schema (6 numeric, 8 categorical columns) generated in Spark from
`spark.range` and seeded `rand` columns; the synthetic one is drawn from slightly different
parameters. Ours runs over the full tables on local[2] (column shapes, all 91 pairs, privacy on
a 5,000-row sample and exact copies over all rows); SDMetrics' QualityReport (column shapes and
pair trends; it scores only the pairs whose real association passes its threshold, ours all) runs in pandas on a uniform sample of `--sdm-rows` rows of each side, the usual way
to use it at this size. Printed side by side with ratios.

    nice -n 10 python benchmarks/validation.py --rows 10000000 --sdm-rows 20000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
CATEGORICAL = {
    "workclass": 8, "education": 16, "marital_status": 7, "occupation": 14,
    "relationship": 6, "race": 5, "sex": 2, "native_country": 40,
}


def make_table(spark, rows: int, seed: int, drift: float):
    """An adult-like table: skewed categories, integer and heavy-tailed numbers, some correlation."""
    from pyspark.sql import functions as F

    u = [F.rand(seed * 100 + k) for k in range(20)]
    cols = [
        F.greatest(F.lit(17), F.round(38 + drift * 3 + 13 * F.randn(seed * 100 + 40))).cast("int").alias("age"),
        F.exp(12 + 0.5 * F.randn(seed * 100 + 41)).alias("fnlwgt"),
        F.least(F.lit(16), F.greatest(F.lit(1), F.round(10 + 2.5 * F.randn(seed * 100 + 42)))).cast("int")
        .alias("education_num"),
        F.when(u[0] < 0.92 - drift * 0.02, 0.0).otherwise(F.round(-F.log(u[1]) * 7000)).alias("capital_gain"),
        F.when(u[2] < 0.95, 0.0).otherwise(F.round(1500 + 400 * F.randn(seed * 100 + 43))).alias("capital_loss"),
        F.least(F.lit(99), F.greatest(F.lit(1), F.round(40 + drift * 2 + 12 * F.randn(seed * 100 + 44))))
        .cast("int").alias("hours_per_week"),
    ]
    base = spark.range(rows).select(*cols, *[u[3 + k].alias(f"_u{k}") for k in range(len(CATEGORICAL))])
    cats = []
    for k, (name, card) in enumerate(CATEGORICAL.items()):
        # skewed categories (a power transform of a uniform); a few depend on a numeric column
        code = F.least(F.lit(card - 1), F.floor(F.pow(F.col(f"_u{k}"), 2.0 + drift) * card)).cast("int")
        if name == "education":  # follows education_num, with 20% noise
            code = F.when(F.col(f"_u{k}") < 0.8, F.col("education_num") - 1).otherwise(code)
        if name == "marital_status":  # follows age
            code = F.when(F.col(f"_u{k}") < 0.6, F.least(F.lit(card - 1), F.floor(F.col("age") / 12))).otherwise(code)
        cats.append(F.concat(F.lit(f"{name[:3]}_"), code.cast("string")).alias(name))
    base = base.select(*NUMERIC, *cats)
    # hours depend on sex
    return base.withColumn(
        "hours_per_week", F.col("hours_per_week") + F.when(F.col("sex") == "sex_0", 6).otherwise(0)
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows of each side for ours")
    ap.add_argument("--sdm-rows", type=int, default=20_000, help="rows of each side sampled for SDMetrics")
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    args = ap.parse_args(argv)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]").appName("bench-validation")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "8")
        .config("spark.driver.memory", "4g").config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    from pyspark_synth.validation import validate

    real = make_table(spark, args.rows, 1, 0.0)
    synth = make_table(spark, args.rows, 2, 0.1)

    t0 = time.perf_counter()
    result = validate(real, synth)
    ours_s = time.perf_counter() - t0

    # the peer: QualityReport on a pandas sample of each side (the sampling job is timed separately)
    from sdmetrics.reports.single_table import QualityReport

    t0 = time.perf_counter()
    frac = min(1.0, 1.1 * args.sdm_rows / args.rows)
    real_pdf = real.sample(fraction=frac, seed=3).limit(args.sdm_rows).toPandas()
    synth_pdf = synth.sample(fraction=frac, seed=4).limit(args.sdm_rows).toPandas()
    sample_s = time.perf_counter() - t0
    md = {"columns": {**{c: {"sdtype": "numerical"} for c in NUMERIC},
                      **{c: {"sdtype": "categorical"} for c in CATEGORICAL}}}
    t0 = time.perf_counter()
    report = QualityReport()
    report.generate(real_pdf, synth_pdf, md, verbose=False)
    sdm_s = time.perf_counter() - t0

    # ours on the very same pandas sample, for a like-for-like score and time
    t0 = time.perf_counter()
    small = validate(spark.createDataFrame(real_pdf), spark.createDataFrame(synth_pdf), privacy=False)
    ours_small_s = time.perf_counter() - t0

    props = report.get_properties().set_index("Property")["Score"].to_dict()
    n = args.rows
    m = len(real_pdf)
    out = {
        "rows_each_side": n,
        "ours_seconds": ours_s,
        "ours_rows_per_s": 2 * n / ours_s,
        "sdm_sample_rows_each_side": m,
        "sdm_seconds": sdm_s,
        "sdm_sample_seconds": sample_s,
        "sdm_rows_per_s": 2 * m / sdm_s,
        "ours_same_sample_seconds": ours_small_s,
        "ours_score": result.score,
        "ours_column_shapes": result.column_shapes,
        "ours_pair_trends": result.pair_trends,
        "ours_same_sample_score": small.score,
        "ours_same_sample_column_shapes": small.column_shapes,
        "ours_same_sample_pair_trends": small.pair_trends,
        "sdm_score": report.get_score(),
        "sdm_column_shapes": props.get("Column Shapes"),
        "sdm_pair_trends": props.get("Column Pair Trends"),
        "load_avg_1min": os.getloadavg()[0],
    }
    print(f"validate, {n:,} vs {n:,} rows on local[2]: {ours_s:8.1f} s  ({out['ours_rows_per_s']:,.0f} rows/s)")
    print(f"SDMetrics QualityReport, {m:,} vs {m:,} sampled rows: {sdm_s:8.1f} s  ({out['sdm_rows_per_s']:,.0f} rows/s)"
          f"  + {sample_s:.1f} s to draw the samples")
    print(f"validate on the same {m:,}-row samples:      {ours_small_s:8.1f} s")
    print(f"ratio of time, ours (full) / SDMetrics (sample): {ours_s / sdm_s:.2f}")
    print(f"ratio of throughput, ours / SDMetrics (rows per second): {out['ours_rows_per_s'] / out['sdm_rows_per_s']:.1f}")
    print(f"ratio of time on the same sample, ours / SDMetrics: {ours_small_s / sdm_s:.2f}")
    print(f"scores  ours full {result.score:.4f} (shapes {result.column_shapes:.4f}, pairs {result.pair_trends:.4f})"
          f"  ours sample {small.score:.4f} (shapes {small.column_shapes:.4f}, pairs {small.pair_trends:.4f})"
          f"  SDMetrics {out['sdm_score']:.4f} (shapes {out['sdm_column_shapes']:.4f}, "
          f"pairs {out['sdm_pair_trends']:.4f})")
    print(f"load average during the run: {out['load_avg_1min']:.1f} (2 cores)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
