"""The library version, stamped into saved models and catalog rows."""

__version__ = "0.1.0"
