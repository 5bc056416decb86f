"""Feature extraction: raw videos -> per-instance backbone features, the layout ``features.py`` reads.

``extract_features(recipe["extract"], videos, out)`` writes ``<out>/<input>/<video>.npy`` (float32
``[n_instances, feature_dim]``) and the manifest ``<out>/extract.json``; ``extract_video`` gives one
video's features in memory. The recipe's ``extract:`` section is described in ``config.py``; the
path of a video: ``prepare.py`` (decode once, sample, crop, resize), ``loader.py`` (worker
processes), ``pipeline.py`` (backbones), ``run.py`` (files, resume, sharding), ``manifest.py``.
Besides RGB inputs, an input may be ``modality: audio`` (``audio.py``: log-mel of the seconds each clip
covers, through an ``audio_backbones`` model) or ``modality: flow`` (``zoo/backbones/flow.py``: RAFT flow
clips through a 2-channel video backbone), on the same path and with the same files and records.
"""

from .config import config_differences, resolve_config
from .manifest import read_manifest
from .pipeline import Extractor, InputPipeline, VideoResult, extract_video
from .prepare import ExtractError
from .run import ExtractReport, extract_features, list_videos, shard

__all__ = [
    "ExtractError",
    "ExtractReport",
    "Extractor",
    "InputPipeline",
    "VideoResult",
    "config_differences",
    "extract_features",
    "extract_video",
    "list_videos",
    "read_manifest",
    "resolve_config",
    "shard",
]
