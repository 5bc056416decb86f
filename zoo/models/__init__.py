"""Whole models (contract: ``base.Model``): the multi-stream scorer built from streams, fusion and a head; PAMFN."""

from . import base, mcmoe, pamfn, pyramid, scorer, stream
from .base import Model
from .init import init_weights

__all__ = ["Model", "base", "init_weights", "mcmoe", "pamfn", "pyramid", "scorer", "stream"]
