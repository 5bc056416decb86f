"""Instance weighting and pooling: ``(x [B, N, C], mask) -> (feature [B, C'], weights [B, N] or None)``."""

from . import actionnet, multihead, pooling, pyg

__all__ = ["actionnet", "multihead", "pooling", "pyg"]
