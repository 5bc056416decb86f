"""Heads: ``[B, C] -> {"score": [B], ...what their loss needs}``."""

from . import distribution, grade, mlp

__all__ = ["distribution", "grade", "mlp"]
