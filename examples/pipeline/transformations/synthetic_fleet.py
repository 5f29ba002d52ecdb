"""Synthetic fleet: planes from their model, and flights for the materialized planes.

Nothing is fitted here: the steps read the models already in the registry
(`spark.synth.registryRoot`, written by fit_models.py). The steps are prepared at module level
(where Spark Connect allows schema analysis); the query functions only return lazy DataFrames
and change no session state. The flights step reads the materialized `planes` table, so the
pipeline materializes `planes` first and every flight's `tailnum` is one of them.
"""

from pyspark import pipelines as dp  # Databricks DLT (legacy module): import dlt as dp
from pyspark.sql import SparkSession

from pyspark_synth.spark.pipelines import prepare_children, prepare_table

# pyspark.pipelines names a batch dataset materialized_view; the legacy dlt module calls it table
materialized_view = getattr(dp, "materialized_view", None) or dp.table

spark = SparkSession.active()
SEED = int(spark.conf.get("spark.synth.pipeline.seed", "7"))
PLANES = int(spark.conf.get("spark.synth.pipeline.planes", "200"))

planes_step = prepare_table(spark, "planes", PLANES, seed=SEED)
flights_step = prepare_children(spark, "flights", planes_step)


@materialized_view(comment="Synthetic planes generated from the registry's model")
def planes():
    return planes_step()


@materialized_view(comment="Synthetic flights of the synthetic planes")
def flights():
    return flights_step()
