"""Input and output: Delta/Parquet writers, the catalog metadata table and the model registry."""
