"""A ``Split`` from per-video arrays already read (the authors' layouts): crops averaged, every array checked.

``FeatureDataset`` reads one file per video and input (``read_split``); the authors' layouts give
arrays from dicts (PAMFN) or ``[T, K, C]`` files (FS1000), which arrive here with where they came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch

from .annotations import Annotation
from .features import FeatureError, Split, check_array

SQUEEZE = ("mean", "error")


class VideoArray(NamedTuple):
    """One video's features for one input, as read: the array, where it is (file and video), its digest."""

    array: np.ndarray
    where: str
    digest: str


def squeeze_crops(arr: np.ndarray, mode: str, where: str) -> np.ndarray:
    """``[T, K, C]`` (K crops or views per instance) -> ``[T, C]``: their mean (``mode`` mean, as PAMFN's
    ``squeeze_rgb_feat`` and MCMoE's loader average the Video-Swin crops) or an error (``mode`` error).
    Other shapes pass unchanged (the checks that follow name them)."""
    if arr.ndim != 3:
        return arr
    if mode == "error":
        raise FeatureError(
            f"{where}: features of shape {list(arr.shape)} ([instances, crops, C]); expected [instances, C]. "
            "Set data.squeeze=mean to average the crops, as the authors do"
        )
    return arr.mean(axis=1, dtype=np.float64).astype(np.float32)


def array_digest(arr: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and bytes: one video's identity inside a file of many."""
    h = hashlib.sha256(f"{arr.dtype.str}{list(arr.shape)}".encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def split_from_arrays(
    annotations: Sequence[Annotation],
    arrays: Mapping[str, Sequence[VideoArray]],
    inputs: Mapping[str, int],
    score_scale: float,
    squeeze: str,
) -> Split:
    """The annotated videos with each input's ``arrays`` (in annotation order): squeezed, checked, float32."""
    features: dict[str, list[np.ndarray]] = {}
    digests: dict[str, list[str]] = {}
    for key, width in inputs.items():
        features[key], digests[key] = [], []
        for item in arrays[key]:
            arr = squeeze_crops(item.array, squeeze, item.where)
            check_array(arr, item.where, width)
            features[key].append(np.ascontiguousarray(arr, dtype=np.float32))
            digests[key].append(item.digest)
    raw = torch.tensor([a.score for a in annotations], dtype=torch.float32)
    names, classes = [a.name for a in annotations], [a.cls for a in annotations]
    return Split(names, classes, raw, raw / score_scale, features, digests)
