"""Whole models (contract: ``base.Model``): the multi-stream scorer built from streams, fusion and a head."""

from . import base, scorer, stream
from .base import Model
from .init import init_weights

__all__ = ["Model", "base", "init_weights", "scorer", "stream"]
