"""Per-instance embeddings: ``[B, N, C] -> [B, N, D]``."""

from . import conv1d, mlp

__all__ = ["conv1d", "mlp"]
