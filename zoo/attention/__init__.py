"""Instance weighting and pooling: ``(x [B, N, C], mask) -> (feature [B, C'], weights)``.

``weights`` are ``[B, N]`` (one weight per instance), ``[B, H, N]`` (several heads or queries) or None.
"""

from . import actionnet, grade_decoder, multihead, multiscale_lstm, pooling, pyg, self_attentive

__all__ = ["actionnet", "grade_decoder", "multihead", "multiscale_lstm", "pooling", "pyg", "self_attentive"]
