"""Backbones: frames -> one feature vector per instance (``ptv:`` video models, ``timm:`` image models), the
audio backbones (``audio_backbones``: log-mel -> one vector per instance, ``ast``, ``onset``) and optical-flow clips."""

from . import ast, audio, flow, image, onset, video
from .ast import ASTBackbone
from .audio import AudioBackbone, AudioSpec
from .base import Backbone, InputSpec, read_state_dict
from .flow import FlowBackbone, FlowSettings
from .image import TimmBackbone
from .onset import OnsetEnvelope
from .video import PTV_MODELS, PtvBackbone, input_spec_of

__all__ = [
    "PTV_MODELS",
    "ASTBackbone",
    "AudioBackbone",
    "AudioSpec",
    "Backbone",
    "FlowBackbone",
    "FlowSettings",
    "InputSpec",
    "OnsetEnvelope",
    "PtvBackbone",
    "TimmBackbone",
    "ast",
    "audio",
    "flow",
    "image",
    "input_spec_of",
    "onset",
    "read_state_dict",
    "video",
]
