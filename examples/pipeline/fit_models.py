"""Fit the models the pipeline samples from: Chinook customers and their invoices, into a registry.

Run once, before `spark-pipelines run` (the pipeline itself fits nothing):

    python fit_models.py --data ../../../shared/datasets/chinook --registry synth-models

Only non-identifying columns are kept (no names, addresses, phones or e-mails), so the models
never see personal data.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark_synth import Metadata
from pyspark_synth.spark.fit_database import fit_database

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[2] / "shared" / "datasets" / "chinook"


def shop_metadata() -> Metadata:
    """customers(customer_id) <- invoices(customer_id)."""
    md = Metadata()
    md.add_table("customers", pk="customer_id")
    md.add_table("invoices", pk="invoice_id", fk={"customer_id": "customers.customer_id"})
    return md


def read_shop(spark: SparkSession, data: str | Path) -> dict:
    """The two real tables, with snake_case columns and no personal data."""
    data = Path(data)
    opts = {"header": "true", "inferSchema": "true"}
    customers = spark.read.options(**opts).csv(str(data / "Customer.csv")).selectExpr(
        "CAST(CustomerId AS BIGINT) AS customer_id", "Country AS country", "CAST(SupportRepId AS INT) AS support_rep_id")
    invoices = spark.read.options(**opts).csv(str(data / "Invoice.csv")).selectExpr(
        "CAST(InvoiceId AS BIGINT) AS invoice_id", "CAST(CustomerId AS BIGINT) AS customer_id",
        "CAST(InvoiceDate AS TIMESTAMP) AS invoice_date", "CAST(Total AS DOUBLE) AS total")
    return {"customers": customers, "invoices": invoices}


def fit_models(spark: SparkSession, data: str | Path = DEFAULT_DATA, registry: str | Path = HERE / "synth-models",
               *, backend: str = "ctgan", epochs: int | None = None, seed: int = 1) -> dict:
    """Fit both tables (parents first) into `registry`; returns `{table: registry entry}`."""
    report = fit_database(spark, shop_metadata(), read_shop(spark, data), backend=backend, epochs=epochs, seed=seed,
                          registry=str(registry))
    return report.entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the chinook CSV folder")
    parser.add_argument("--registry", default=str(HERE / "synth-models"), help="model registry root")
    parser.add_argument("--backend", default="ctgan", help="model backend (ctgan, copula)")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    from pyspark_synth.spark.session import get_or_create_session

    spark = get_or_create_session("fit-synthetic-shop")
    for name, entry in fit_models(spark, args.data, args.registry, backend=args.backend, epochs=args.epochs).items():
        print(f"{name}: v{entry.version} ({entry.backend}, {entry.row_count} rows) -> {entry.path}")


if __name__ == "__main__":
    main()
