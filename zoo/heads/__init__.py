"""Heads: ``[B, C] -> {"score": [B], ...what their loss needs}`` (contract: ``base.Head``)."""

from . import base, cofinal, distribution, grade, mlp
from .base import Head

__all__ = ["Head", "base", "cofinal", "distribution", "grade", "mlp"]
