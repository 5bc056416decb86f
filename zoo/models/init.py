"""Weight initialisation schemes a recipe can ask for."""

from __future__ import annotations

from torch import nn

from registry import ConfigError

SCHEMES = ("xavier_uniform", "kaiming_normal", "default")


def init_weights(model: nn.Module, scheme: str) -> None:
    """Re-initialise every ``nn.Linear`` of ``model`` (ACTION-NET: Xavier-uniform weights, zero biases).

    Frozen backbones are left alone; ``default`` keeps PyTorch's own initialisation.
    """
    if scheme not in SCHEMES:
        raise ConfigError(f"model.init must be one of {SCHEMES}, got {scheme!r}")
    if scheme == "default":
        return
    for module in model.modules():
        if isinstance(module, nn.Linear) and module.weight.requires_grad:
            if scheme == "xavier_uniform":
                nn.init.xavier_uniform_(module.weight)
            else:
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
