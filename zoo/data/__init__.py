"""Data: annotations (RG, Fis-V, FS1000), video decoding, samplers, croppers and transforms.

Importing this package registers the samplers, croppers and dataset types.
"""

from . import (
    annotations,
    croppers,
    datasets,
    decoders,
    extract,
    features,
    fs1000,
    pamfn_layout,
    samplers,
    transforms,
    video,
)

__all__ = [
    "annotations",
    "croppers",
    "datasets",
    "decoders",
    "extract",
    "features",
    "fs1000",
    "pamfn_layout",
    "samplers",
    "transforms",
    "video",
]
