"""Whole models: a stream, and the multi-stream scorer built from streams, fusion and a head."""

from . import scorer, stream
from .init import init_weights

__all__ = ["init_weights", "scorer", "stream"]
