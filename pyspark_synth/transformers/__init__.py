"""Reversible column transforms: pandas in, numeric matrix out, and back; serialisable without pickle."""
