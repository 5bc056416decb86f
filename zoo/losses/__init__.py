"""Losses: ``(outputs, target) -> scalar`` (contract: ``base.Loss``)."""

from . import auxiliary, base, cofinal, regression
from .base import Loss

__all__ = ["Loss", "auxiliary", "base", "cofinal", "regression"]
