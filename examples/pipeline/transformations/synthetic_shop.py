"""Synthetic shop: customers from their model, and invoices for the materialized customers.

Nothing is fitted here: the steps read the models already in the registry
(`spark.synth.registryRoot`, written by fit_models.py). The steps are prepared at module level
(where Spark Connect allows schema analysis); the query functions only return lazy DataFrames
and change no session state. The invoices step reads the materialized `customers` table, so
the pipeline materializes `customers` first and every invoice's `customer_id` is one of them.
"""

from pyspark import pipelines as dp  # Databricks DLT (legacy module): import dlt as dp
from pyspark.sql import SparkSession

from pyspark_synth.spark.pipelines import prepare_children, prepare_table

# pyspark.pipelines names a batch dataset materialized_view; the legacy dlt module calls it table
materialized_view = getattr(dp, "materialized_view", None) or dp.table

spark = SparkSession.active()
SEED = int(spark.conf.get("spark.synth.pipeline.seed", "7"))
CUSTOMERS = int(spark.conf.get("spark.synth.pipeline.customers", "200"))

customers_step = prepare_table(spark, "customers", CUSTOMERS, seed=SEED)
invoices_step = prepare_children(spark, "invoices", customers_step)


@materialized_view(comment="Synthetic customers generated from the registry's model")
def customers():
    return customers_step()


@materialized_view(comment="Synthetic invoices of the synthetic customers")
def invoices():
    return invoices_step()
