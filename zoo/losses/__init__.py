"""Losses: ``(outputs, target) -> scalar``."""

from . import regression

__all__ = ["regression"]
