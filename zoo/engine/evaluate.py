"""Scoring a split with a model: predictions in score units, instance weights, and the metrics."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..data.features import FeatureData, Split
from .metrics import score_metrics


@dataclass
class Predictions:
    names: list[str]
    scores: list[float]  # in the annotation's units
    targets: list[float]
    weights: dict[str, list[list[float] | None]]  # per stream, per video, over its instances

    def metrics(self, bounds: tuple[float, float]) -> dict[str, float]:
        return score_metrics(self.scores, self.targets, bounds)


def to_device(batch: dict[str, Tensor], device: torch.device) -> dict[str, Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def predict_split(
    model: nn.Module,
    data: FeatureData,
    split: Split,
    device: torch.device,
    batch_size: int = 64,
    autocast: torch.dtype | None = None,
) -> Predictions:
    """Every video of ``split`` scored (centred windows or whole videos), in eval mode."""
    was_training = model.training
    model.eval()
    scores: list[float] = []
    weights: dict[str, list[list[float] | None]] = {}
    for start in range(0, len(split), batch_size):
        idx = list(range(start, min(start + batch_size, len(split))))
        batch = to_device(data.batch(split, idx, train=False), device)
        with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
            out = model(batch)
        scores += (out["score"].float() * data.score_scale).tolist()
        for stream, w in out["weights"].items():
            rows = weights.setdefault(stream, [])
            key = getattr(model, "streams", {})[stream].input if hasattr(model, "streams") else stream
            mask = batch.get(f"{key}_mask")
            for b in range(len(idx)):
                if w is None:
                    rows.append(None)
                else:
                    wb = w[b].float()
                    wb = wb.mean(0) if wb.dim() > 1 else wb  # multi-head weights: mean over heads
                    rows.append(wb[mask[b]].tolist() if mask is not None else wb.tolist())
    model.train(was_training)
    return Predictions(list(split.names), scores, split.raw.tolist(), weights)
