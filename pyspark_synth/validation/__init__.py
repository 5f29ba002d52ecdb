"""Validation metrics as Spark aggregations, integrity checks and the HTML report."""
