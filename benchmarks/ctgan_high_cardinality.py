"""CTGAN on a high-cardinality column: seconds per epoch with the conditional vector one-hot vs embedded.

A 6,000-row table whose `name` column holds 5,000 distinct strings (every name once, 1,000 drawn
again), with a few ordinary columns (`city` of 8 values that depends on the name, `age`, `score`).
The one-hot conditional vector (CTGAN's, `conditional_embedding=False`) gives each name a slot of
the generator's input and, `pac` times, of the critic's; the embedded one
(`conditional_embedding=True`, the default) feeds those conditions through an entity embedding.
Both run in this invocation, one after the other, with the same seed and one torch thread; besides
the time it prints a few quality figures of each model's rows (a benchmark, not a test):

* names: distinct names among 6,000 generated rows, and the share of rows whose name is real;
* city TVD: total variation distance between the real and generated `city` frequencies;
* city|name: the share of generated rows whose city is the one the real rows of that name have.

    python benchmarks/ctgan_high_cardinality.py                 # 1 epoch: the time per epoch
    python benchmarks/ctgan_high_cardinality.py --epochs 20     # time and quality after 20 epochs
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
import pandas as pd
import torch


def table(n: int = 6000, distinct: int = 5000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = np.array([f"name_{i:05d}" for i in range(distinct)])
    col = np.r_[names, rng.choice(names, n - distinct)]
    rng.shuffle(col)
    city_of = dict(zip(names, rng.choice(list("abcdefgh"), distinct), strict=True))
    return pd.DataFrame({"name": col, "city": [city_of[v] for v in col], "age": rng.integers(18, 90, n),
                         "score": rng.normal(size=n)})


def run(data: pd.DataFrame, embedded: bool, epochs: int) -> dict[str, float]:
    from pyspark_synth.models.ctgan import CTGAN

    t = time.perf_counter()
    model = CTGAN(epochs=epochs, seed=0, num_threads=1, conditional_embedding=embedded)
    model.fit(data, progress_bar=False)
    fit = time.perf_counter() - t
    out = model.sample(len(data), seed=1)
    real_city = data.drop_duplicates("name").set_index("name")["city"]
    p = data["city"].value_counts(normalize=True)
    q = out["city"].value_counts(normalize=True).reindex(p.index, fill_value=0.0)
    return {"epoch_s": float(np.mean([h["seconds"] for h in model.history_])), "fit_s": fit,
            "params_g": sum(x.numel() for x in model.generator_.parameters()) / 1e6,
            "params_d": sum(x.numel() for x in model.critic_.parameters()) / 1e6,
            "names": float(out["name"].nunique()), "real_names": float(out["name"].isin(real_city.index).mean()),
            "city_tvd": float(0.5 * np.abs(p - q).sum()),
            "city_given_name": float((out["name"].map(real_city) == out["city"]).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    torch.set_num_threads(1)
    data = table()
    print(f"table: {len(data)} rows, name: {data['name'].nunique()} distinct values; epochs={args.epochs}")
    res = {label: run(data, embedded, args.epochs) for label, embedded in (("one-hot", False), ("embedded", True))}
    keys = ("epoch_s", "fit_s", "params_g", "params_d", "names", "real_names", "city_tvd", "city_given_name")
    print(f"{'':10}" + "".join(f"{k:>16}" for k in keys))
    for label, r in res.items():
        print(f"{label:10}" + "".join(f"{r[k]:>16.3f}" for k in keys))
    a, b = res["one-hot"], res["embedded"]
    print(f"one-hot / embedded seconds per epoch: {a['epoch_s'] / b['epoch_s']:.1f}x")


if __name__ == "__main__":
    main()
