"""Heads: ``[B, C] -> {"score": [B], ...what their loss needs}``."""

from . import distribution, mlp

__all__ = ["distribution", "mlp"]
