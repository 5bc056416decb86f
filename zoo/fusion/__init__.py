"""Fusion of the streams' vectors into one (contract: ``base.Fusion``)."""

from . import base, fusions
from .base import Fusion

__all__ = ["Fusion", "base", "fusions"]
