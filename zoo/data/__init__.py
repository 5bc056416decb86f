"""Data: annotations (RG, Fis-V), video decoding, samplers, croppers and transforms.

Importing this package registers the samplers and croppers.
"""

from . import annotations, croppers, datasets, decoders, extract, features, samplers, transforms, video

__all__ = [
    "annotations",
    "croppers",
    "datasets",
    "decoders",
    "extract",
    "features",
    "samplers",
    "transforms",
    "video",
]
