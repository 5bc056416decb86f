"""Registered datasets: annotation format + feature folders -> ``FeatureData`` for the trainer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry import DATASETS

from .annotations import read_fisv, read_rg
from .features import FeatureData, Windowing, carve_validation, read_split, resolve_root

READERS = {"rg": read_rg, "fisv": read_fisv}


def read_annotations(path: Any, format: str, target: str, classes: list[str] | None) -> list:
    if format not in READERS:
        raise ValueError(f"data.format must be one of {sorted(READERS)}, got {format!r}")
    if format == "rg":
        return read_rg(path, target=target, classes=classes)
    return read_fisv(path, target=target)


@DATASETS.register("features")
def feature_dataset(
    root: str,
    inputs: dict[str, int],
    format: str = "rg",
    annotations: Mapping[str, str] | None = None,
    features: Mapping[str, str] | None = None,
    classes: list[str] | None = None,
    target: str = "total",
    score_scale: float = 1.0,
    window: Mapping[str, int | None] | None = None,
    pad_mask: bool = True,
    val_fraction: float = 0.0,
    split_seed: int = 0,
    mmap: bool = False,
) -> FeatureData:
    """Pre-extracted features (``<root>/<folder>/<name>.npy`` per input) with RG or Fis-V annotations.

    ``window`` gives fixed windows per input (random start in training, centred at test, zero-padded
    when short; ``pad_mask: false`` hides the padding from the masks as the authors' code did);
    an input without a window is taken whole, batches padded with masks.
    """
    base = resolve_root(root)
    files = dict(annotations or {"train": "train.txt", "test": "test.txt"})
    for split in ("train", "test"):
        if split not in files:
            raise ValueError(f"data.annotations needs a '{split}' file, got {sorted(files)}")
    folders = {key: base / (features or {}).get(key, key) for key in inputs}
    rows = {s: read_annotations(base / files[s], format, target, classes) for s in ("train", "test")}
    for s, r in rows.items():
        if not r:
            raise ValueError(f"{base / files[s]}: no videos left for classes {classes}")
    train = read_split(rows["train"], folders, inputs, score_scale, mmap)
    test = read_split(rows["test"], folders, inputs, score_scale, mmap)
    train, val = carve_validation(train, val_fraction, split_seed)
    scores = [a.score for r in rows.values() for a in r]
    return FeatureData(
        train=train,
        test=test,
        val=val,
        windowing=Windowing(dict(window or {}), pad_mask),
        score_scale=float(score_scale),
        score_bounds=(min(scores), max(scores)),
        inputs=dict(inputs),
    )
