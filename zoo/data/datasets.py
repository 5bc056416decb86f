"""Registered datasets: annotation format + feature folders -> ``FeatureData`` for the trainer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
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


@DATASETS.register("synthetic")
def synthetic_dataset(
    inputs: dict[str, int],
    extract: Mapping[str, Any] | None = None,
    root: str = "data/synthetic",
    videos: int = 200,
    seed: int = 0,
    size: int = 128,
    fps: float = 10.0,
    duration: float = 20.0,
    test_fraction: float = 0.25,
    score_scale: float = 25.0,
    window: Mapping[str, int | None] | None = None,
    pad_mask: bool = True,
    val_fraction: float = 0.2,
    split_seed: int = 0,
    device: str = "cpu",
) -> FeatureData:
    """The built-in synthetic gymnastics set: rendered, features extracted with the recipe's extract: (both cached).

    Videos go to ``<root>/render``; features to ``<root>/features/<digest of the extract section>``, so
    recipes with other backbones never share (or overwrite) each other's features.
    """
    from .extract import extract_features
    from .synthetic import make_synthetic

    if not extract:
        raise ValueError("data.type synthetic needs the recipe's extract: section (how to turn videos into features)")
    base = Path(root)
    render = make_synthetic(
        base / "render", videos=videos, seed=seed, size=size, fps=fps, duration=duration,
        test_fraction=test_fraction, progress=True,
    )
    digest = hashlib.sha1(json.dumps(_feature_relevant(extract), sort_keys=True).encode()).hexdigest()[:10]
    features = base / "features" / digest
    report = extract_features(extract, render / "videos", features, device=device, progress=True)
    if not report.ok:
        raise RuntimeError(f"feature extraction failed for some synthetic videos:\n{report.summary()}")
    return feature_dataset(
        root=str(render),
        inputs=inputs,
        format="rg",
        annotations={"train": "annotations/train.txt", "test": "annotations/test.txt"},
        features={key: str((features / key).resolve()) for key in inputs},
        score_scale=score_scale,
        window=window,
        pad_mask=pad_mask,
        val_fraction=val_fraction,
        split_seed=split_seed,
    )


def _feature_relevant(extract: Mapping[str, Any]) -> dict[str, Any]:
    """The extract section without what only changes speed (a batch size)."""
    return {k: v for k, v in extract.items() if k != "batch_size"}
