"""MCMoE's reconstruction loss: generated modalities against the real ones, mixtures against own experts.

MCMoE (XuHuangbiao/MCMoE, models/model.py ``forward_train``, models/loss.py): ``recon_loss`` is, for each
modality dropped in training, ``MSE(generated, real encoded features)``, plus for every modality
``KL(softmax(own expert on the real features) || softmax(the modality's expert mixture))`` over the
channels (``F.kl_div(log_softmax(mixed), softmax(own))``, mean over every element). ``LossFun`` adds it
with weight 1 to ``10 * MSE + alpha * triplet``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from registry import ConfigError

from ..kinds import LOSSES
from .base import Loss


def _masked_mean(values: Tensor, rows: Tensor) -> Tensor:
    """Mean of ``values [B, N, D]`` over the rows ``rows [B, N]`` (0 when there are none)."""
    keep = rows.unsqueeze(-1).to(values.dtype)
    count = keep.sum() * values.shape[-1]
    return (values * keep).sum() / count.clamp(min=1)


@LOSSES.register("modality_reconstruction")
class ModalityReconstruction(Loss):
    """``mse`` x sum of MSEs of generated modalities + ``kl`` x sum of KL terms of the expert mixtures.

    Reads the model output ``completion`` (``model: {type: mcmoe}`` gives it in training). MSEs count
    the valid clips of the videos whose modality was dropped and generated; KL terms the valid clips of
    the videos that have the modality. Means over clips and channels, as their ``reduction='mean'``.
    """

    requires = ("completion",)

    def __init__(self, mse: float = 1.0, kl: float = 1.0) -> None:
        super().__init__()
        self.mse, self.kl = mse, kl

    def forward(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        if "completion" not in outputs:
            raise ConfigError(
                "loss 'modality_reconstruction' needs the model output 'completion' (given in training by "
                f"model: {{type: mcmoe}}); the outputs are {sorted(outputs)}"
            )
        c = outputs["completion"]
        mask = c["mask"]
        total = target.new_zeros(())
        for name, gen in c["generated"].items():
            rows = mask & c["dropped"][name].unsqueeze(1)
            total = total + self.mse * _masked_mean((gen - c["target"][name]) ** 2, rows)
        for name, mixed in c["mixed"].items():
            goal = torch.softmax(c["own"][name], -1)
            kl = F.kl_div(torch.log_softmax(mixed, -1), goal, reduction="none")
            total = total + self.kl * _masked_mean(kl, mask & c["has"][name].unsqueeze(1))
        return total
