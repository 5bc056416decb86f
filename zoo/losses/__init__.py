"""Losses: ``(outputs, target) -> scalar``."""

from . import auxiliary, regression

__all__ = ["auxiliary", "regression"]
