"""Scoring a split with a model: predictions in score units, instance weights, and the metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..data.features import FeatureData, Split
from ..errors import NonFiniteError
from .metrics import Metrics, score_metrics


@dataclass
class Predictions:
    names: list[str]
    scores: list[float]  # in the annotation's units
    targets: list[float]
    weights: dict[str, list[list[float] | None]]  # per stream, per video, over its instances

    def metrics(self, bounds: tuple[float, float]) -> Metrics:
        return score_metrics(self.scores, self.targets, bounds)


def to_device(batch: dict[str, Tensor], device: torch.device) -> dict[str, Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def check_finite(out: Mapping[str, Any], names: Sequence[str]) -> None:
    """A NaN or inf in a score or an instance weight is an error naming the videos, never a printed ``nan``."""
    bad = ~torch.isfinite(out["score"].detach().float())
    for w in out.get("weights", {}).values():
        if w is not None:
            bad |= ~torch.isfinite(w.detach().float()).flatten(1).all(1)
    if bool(bad.any()):
        which = [names[i] for i in bad.nonzero().flatten().tolist()]
        raise NonFiniteError(
            f"the model's output is NaN or inf for {len(which)} video(s): {', '.join(which[:10])}"
            f"{', ...' if len(which) > 10 else ''}. Their features are finite but overflow inside the model (values "
            "far outside what it was trained on, e.g. 1e38?); check those feature files or videos."
        )


def without(batch: dict[str, Tensor], drop: Sequence[str]) -> dict[str, Tensor]:
    """The batch with the inputs ``drop`` names (and their masks) absent."""
    gone = {*drop, *(f"{k}_mask" for k in drop)}
    return {k: v for k, v in batch.items() if k not in gone}


@torch.no_grad()
def predict_split(
    model: nn.Module,
    data: FeatureData,
    split: Split,
    device: torch.device,
    batch_size: int = 64,
    autocast: torch.dtype | None = None,
    drop: Sequence[str] = (),
    forward: Callable[[dict[str, Tensor]], Any] | None = None,
) -> Predictions:
    """Every video of ``split`` scored (centred windows or whole videos), in eval mode.

    ``forward`` runs the model (``train.compile``: compiled, ``zoo.engine.compiled``); default ``model``.

    ``drop`` names inputs the model scores without (a missing modality): they are left out of every
    batch, and a model that cannot score without one says which (``ConfigError``)."""
    was_training = model.training
    model.eval()
    scores: list[float] = []
    weights: dict[str, list[list[float] | None]] = {}
    try:
        for start in range(0, len(split), batch_size):
            idx = list(range(start, min(start + batch_size, len(split))))
            batch = to_device(data.batch(split, idx, train=False), device)
            batch = without(batch, drop)
            with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                out = (forward or model)(batch)
            check_finite(out, [split.names[i] for i in idx])
            scores += (out["score"].float() * data.score_scale).tolist()
            for stream, rows in model.instance_weights(out, batch).items():
                weights.setdefault(stream, []).extend(rows)
    finally:
        model.train(was_training)
    return Predictions(list(split.names), scores, split.raw.tolist(), weights)
