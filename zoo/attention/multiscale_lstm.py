"""MS-LSTM's multi-scale convolutional skip LSTMs (Xu et al., Fis-V), and an export-friendly LSTM.

``nn.LSTM`` cannot be exported with a dynamic sequence length (``torch.export`` unrolls it and
specialises the length), so while exporting the same weights run through ``scan`` (a
``torch.export`` higher-order op that ONNX writes as a ``Scan``); eager code keeps the fused
``nn.LSTM``. The two agree to float precision (tests/peers checks it).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from registry import ConfigError

from ..blocks import MaskedBatchNorm
from ..kinds import ATTENTION
from .base import Attention

NORMS = ("none", "batch")


def lstm_scan(lstm: nn.LSTM, x: Tensor, update: Tensor | None = None) -> Tensor:
    """The hidden states ``[B, T, H]`` of a one-layer, batch-first ``lstm`` over ``x [B, T, I]``, by ``scan``.

    ``update [T]`` (bool) says at which steps the state is updated; elsewhere it is carried unchanged
    (a skip-LSTM with a fixed update pattern). Zero initial state, like ``nn.LSTM``.
    """
    # The scan op itself, not ``torch._higher_order_ops.scan.scan``: that wrapper runs every call through
    # one torch.compile cache, whose guards between two scans of different lengths leak into the export.
    from torch._higher_order_ops.scan import scan_op

    if lstm.num_layers != 1 or lstm.bidirectional or not lstm.batch_first or lstm.proj_size:
        raise ValueError("lstm_scan: needs a one-layer, unidirectional, batch_first nn.LSTM without projection")
    gates_x = F.linear(x, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)  # [B, T, 4H], all steps at once
    h0 = x.new_zeros(x.shape[0], lstm.hidden_size)
    if update is None:
        update = torch.ones(x.shape[1], dtype=torch.bool, device=x.device)
    steps = update.view(-1, 1, 1).expand(-1, x.shape[0], 1)  # [T, B, 1], time first like the scanned input

    def step(h: Tensor, c: Tensor, gx: Tensor, upd: Tensor, w_hh: Tensor) -> list[Tensor]:
        i, f, g, o = (gx + h @ w_hh.T).chunk(4, -1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        h, c = torch.where(upd, h_new, h), torch.where(upd, c_new, c)
        return [h, c, h.clone()]

    _, _, hs = scan_op(step, [h0, h0.clone()], [gates_x.transpose(0, 1), steps], (lstm.weight_hh_l0,))
    return hs.transpose(0, 1)


def lstm_states(lstm: nn.LSTM, x: Tensor) -> Tensor:
    """Hidden states ``[B, T, H]``: the fused ``nn.LSTM`` in eager code, ``lstm_scan`` while exporting."""
    return lstm_scan(lstm, x) if torch.compiler.is_exporting() else lstm(x)[0]


class _Scale(nn.Module):
    """One scale: Conv1d(kernel, stride) - ReLU - BN - LSTM, read at the last window inside the video."""

    def __init__(self, in_dim: int, kernel: int, stride: int, channels: int, hidden_dim: int, norm: str) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv1d(in_dim, channels, kernel, stride=stride)
        self.norm = MaskedBatchNorm(channels) if norm == "batch" else None
        self.lstm = nn.LSTM(channels, hidden_dim, batch_first=True)

    def windows(self, lengths: Tensor) -> Tensor:
        """How many conv windows lie inside a video of each length (at least one; shorter ones are zero-padded)."""
        return (torch.div(lengths - self.kernel, self.stride, rounding_mode="floor") + 1).clamp(min=1)

    def forward(self, x: Tensor, lengths: Tensor, strided: bool = True) -> Tensor:
        """``x [B, N, C]`` (padding zero), ``lengths [B]`` -> the last valid hidden state ``[B, H]``.

        ``strided=False`` convolves at every position and lets the LSTM update only every ``stride``
        steps: the same numbers without a length derived from N (what ``torch.export`` needs).
        """
        count = self.windows(lengths)
        xt = F.pad(x.transpose(1, 2), (0, self.kernel - 1))  # right zeros: any N >= 1 gives a window
        if strided:
            y = F.relu(self.conv(xt)).transpose(1, 2)  # [B, (N - 1) // s + 1, C']
            valid = torch.arange(y.shape[1], device=x.device).unsqueeze(0) < count.unsqueeze(1)
            if self.norm is not None:
                y = self.norm(y, valid)
            h = lstm_states(self.lstm, y)  # causal: steps after the last window never reach it
            last = count - 1
        else:
            y = F.relu(F.conv1d(xt, self.conv.weight, self.conv.bias)).transpose(1, 2)  # [B, N, C']
            if self.norm is not None:
                y = self.norm(y)  # eval statistics: per position, no mask needed
            update = torch.arange(y.shape[1], device=x.device) % self.stride == 0
            h = lstm_scan(self.lstm, y, update)
            last = (count - 1) * self.stride
        return h.gather(1, last.view(-1, 1, 1).expand(-1, 1, h.shape[-1])).squeeze(1)


@ATTENTION.register("multiscale_lstm")
class MultiScaleLSTM(Attention):
    """MS-LSTM's M-LSTM: per scale Conv1d(k, stride s) - ReLU - BN - LSTM; the last valid states concatenated.

    Kernels (2, 4, 8) with strides (1, 2, 4) as in the authors' code. Each video is read at the last
    conv window that lies inside it (zero-padded when it is shorter than a kernel), so padding never
    changes a video's feature. The authors' LSTMs learn to skip state updates (Skip-RNN); here the
    skipping is the fixed subsampling of the strided convolution and the LSTM is a plain one.
    ``proj_dim`` adds the authors' per-scale ``Linear(hidden, proj_dim) - ReLU``. No instance weights.
    """

    def __init__(
        self,
        in_dim: int,
        kernels: tuple[int, ...] = (2, 4, 8),
        strides: tuple[int, ...] | None = (1, 2, 4),
        channels: int = 256,
        hidden_dim: int = 256,
        proj_dim: int | None = None,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        strides = tuple(strides) if strides is not None else tuple(kernels)
        if len(strides) != len(kernels) or min(kernels, default=0) < 1 or min(strides, default=0) < 1:
            raise ConfigError(
                f"multiscale_lstm: needs one stride per kernel, all >= 1; got kernels {list(kernels)}, "
                f"strides {list(strides)}"
            )
        if norm not in NORMS:
            raise ConfigError(f"multiscale_lstm: norm must be one of {NORMS}, got {norm!r}")
        self.scales = nn.ModuleList(_Scale(in_dim, k, s, channels, hidden_dim, norm) for k, s in zip(kernels, strides))
        self.proj = None
        if proj_dim:
            self.proj = nn.ModuleList(nn.Sequential(nn.Linear(hidden_dim, proj_dim), nn.ReLU()) for _ in kernels)
        self.out_dim = len(kernels) * (proj_dim or hidden_dim)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, None]:
        x = x * mask.unsqueeze(-1).to(x.dtype)
        lengths = mask.sum(1)
        strided = not torch.compiler.is_exporting()
        states = [scale(x, lengths, strided) for scale in self.scales]
        if self.proj is not None:
            states = [p(s) for p, s in zip(self.proj, states)]
        return torch.cat(states, -1), None
