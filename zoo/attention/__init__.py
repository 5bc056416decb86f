"""Instance weighting and pooling: ``(x [B, N, C], mask) -> (feature [B, C'], weights)`` (contract: ``base.Attention``).

``weights`` are ``[B, N]`` (one weight per instance), ``[B, H, N]`` (several heads or queries) or None.
"""

from . import actionnet, base, grade_decoder, multihead, multiscale_lstm, pooling, pyg, self_attentive
from .base import Attention

__all__ = [
    "Attention",
    "actionnet",
    "base",
    "grade_decoder",
    "multihead",
    "multiscale_lstm",
    "pooling",
    "pyg",
    "self_attentive",
]
