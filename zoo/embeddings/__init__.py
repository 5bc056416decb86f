"""Per-instance embeddings: ``[B, N, C] -> [B, N, D]``."""

from . import mlp

__all__ = ["mlp"]
