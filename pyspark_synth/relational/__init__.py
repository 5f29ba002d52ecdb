"""Relational synthesis: the generation plan, child-count linkage and the generation walk."""
