"""Losses: ``(outputs, target) -> scalar`` (contract: ``base.Loss``)."""

from . import auxiliary, base, cofinal, completion, regression
from .base import Loss

__all__ = ["Loss", "auxiliary", "base", "cofinal", "completion", "regression"]
