"""Generative models (CTGAN, Gaussian copula) and their contract; pure pandas/numpy/torch, no Spark."""
