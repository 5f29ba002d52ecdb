"""Spark edges: UDF and mapInPandas factories, accessors, detection, SQL registration."""
