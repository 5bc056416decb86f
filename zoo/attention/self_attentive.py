"""Self-attentive pooling (Lin et al. 2017), MS-LSTM's S-LSTM: several attention rows over the instances."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from registry import ConfigError

from ..blocks import MaskedBatchNorm, masked_softmax
from ..kinds import ATTENTION
from .base import Attention
from .multiscale_lstm import lstm_states

READOUTS = ("flatten", "lstm")
NORMS = ("none", "batch")


@ATTENTION.register("self_attentive")
class SelfAttentive(Attention):
    """A = softmax over valid instances of W2 tanh(W1 H^T) (``heads`` rows); M = A H, read out flat or by an LSTM.

    ``readout: flatten`` gives ``[B, heads * C]`` (Lin et al.). MS-LSTM's S-LSTM is ``heads: 50,
    hidden_dim: 64, norm: batch, readout: lstm, lstm_dim: 256, proj_dim: 64``: M is batch-normalised,
    an LSTM reads its rows in order and its last state goes through ``Linear(256, 64) - ReLU``.
    Returns the attention ``[B, heads, N]`` as the weights, for the ``diversity`` penalty.
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dim: int = 64,
        heads: int = 4,
        norm: str = "none",
        readout: str = "flatten",
        lstm_dim: int = 256,
        proj_dim: int | None = None,
    ) -> None:
        super().__init__()
        if readout not in READOUTS:
            raise ConfigError(f"self_attentive: readout must be one of {READOUTS}, got {readout!r}")
        if norm not in NORMS:
            raise ConfigError(f"self_attentive: norm must be one of {NORMS}, got {norm!r}")
        self.w1 = nn.Linear(in_dim, hidden_dim, bias=False)
        self.w2 = nn.Linear(hidden_dim, heads, bias=False)
        self.norm = MaskedBatchNorm(in_dim) if norm == "batch" else None  # over the batch and the rows of M
        self.lstm = nn.LSTM(in_dim, lstm_dim, batch_first=True) if readout == "lstm" else None
        width = lstm_dim if readout == "lstm" else heads * in_dim
        self.proj = nn.Sequential(nn.Linear(width, proj_dim), nn.ReLU()) if proj_dim else None
        self.out_dim = proj_dim or width

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.w2(torch.tanh(self.w1(x))).transpose(1, 2)  # [B, heads, N]
        weights = masked_softmax(logits, mask.unsqueeze(1))
        m = weights @ x  # [B, heads, C]
        if self.norm is not None:
            m = self.norm(m)
        if self.lstm is not None:
            feature = lstm_states(self.lstm, m)[:, -1]
        else:
            feature = m.flatten(1)
        if self.proj is not None:
            feature = self.proj(feature)
        return feature, weights
