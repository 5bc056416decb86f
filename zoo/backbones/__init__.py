"""Backbones: frames -> one feature vector per instance (``ptv:`` video models, ``timm:`` image models)."""

from . import image, video
from .base import Backbone, InputSpec, read_state_dict
from .image import TimmBackbone
from .video import PTV_MODELS, PtvBackbone, input_spec_of

__all__ = [
    "PTV_MODELS",
    "Backbone",
    "InputSpec",
    "PtvBackbone",
    "TimmBackbone",
    "image",
    "input_spec_of",
    "read_state_dict",
    "video",
]
