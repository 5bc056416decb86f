"""Fusion of the streams' vectors into one (contract: ``base.Fusion``)."""

from . import base, completion, experts, fusions
from .base import Fusion

__all__ = ["Fusion", "base", "completion", "experts", "fusions"]
