"""Fusion of the streams' vectors into one."""

from . import fusions

__all__ = ["fusions"]
