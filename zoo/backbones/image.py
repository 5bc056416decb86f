"""timm models as frame backbones, ``timm:<name>``: ``[B, 3, H, W]`` -> ``[B, feature_dim]``.

Built with ``timm.create_model(name, num_classes=0)``: timm removes the classifier and keeps its
global pooling (and pre-logits layers), so the output is the pooled feature. timm is imported only
when the names are listed or a backbone is built.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from torch import Tensor

from ..kinds import BACKBONES
from .base import Backbone, InputSpec, check_sources, download_pretrained


def _hub_url(name: str) -> str | None:
    """Where timm would download ``name``'s default pretrained weights from (for the error message)."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    if cfg is None:
        return None
    if cfg.hf_hub_id:
        return f"https://huggingface.co/{cfg.hf_hub_id}"
    return cfg.url or None


class TimmBackbone(Backbone):
    """A timm image model without its classifier: frames ``[B, 3, H, W]`` -> ``[B, feature_dim]``."""

    def __init__(
        self,
        name: str,
        pretrained: bool = False,
        weights: str | os.PathLike[str] | None = None,
        freeze: bool = False,
        zero_init_last: bool = True,
    ) -> None:
        """``pretrained`` downloads timm's default weights (Hugging Face hub); ``weights`` reads a local file."""
        import timm

        full_name = f"timm:{name}"
        check_sources(full_name, pretrained, weights)
        build = functools.partial(timm.create_model, name, pretrained=pretrained, num_classes=0)
        net = download_pretrained(full_name, build, _hub_url(name)) if pretrained else build()
        cfg = timm.data.resolve_data_config({}, model=net)
        spec = InputSpec(
            kind="image",
            frames=1,
            sampling_rate=1,
            size=tuple(cfg["input_size"][-2:]),
            mean=tuple(cfg["mean"]),
            std=tuple(cfg["std"]),
        )
        # timm >= 1.0: models with a pre-logits layer (MobileNetV3, ...) output head_hidden_size, not num_features.
        feature_dim = getattr(net, "head_hidden_size", None) or net.num_features
        super().__init__(full_name, feature_dim, spec)
        self.net = net
        classifier = net.pretrained_cfg.get("classifier") or ()
        self.classifier_keys = tuple(f"{c}." for c in ((classifier,) if isinstance(classifier, str) else classifier))
        self.finish(weights=weights, freeze=freeze, zero_init_last=zero_init_last or pretrained)

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        return self.net(x)


def _names() -> list[str]:
    import timm

    return timm.list_models()


def _resolve(name: str) -> Callable[..., Any]:
    """``timm:<name>`` -> a factory whose signature shows the keyword arguments (the registry checks them)."""
    factory = functools.partial(TimmBackbone, name)
    factory.__doc__ = f"timm {name}: [B, 3, H, W] -> [B, num_features], classifier removed"
    return factory


BACKBONES.add_namespace(
    "timm",
    names=_names,
    resolve=_resolve,
    description="timm image model, classifier removed (num_classes=0)",
)
