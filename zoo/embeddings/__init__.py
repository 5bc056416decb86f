"""Per-instance embeddings: ``(x [B, N, C], mask [B, N]) -> [B, N, D]`` (contract: ``base.Embedding``)."""

from . import base, conv1d, mlp
from .base import Embedding

__all__ = ["Embedding", "base", "conv1d", "mlp"]
