"""Registered dataset types: a recipe's ``data:`` section, typed, and how it becomes ``FeatureData``.

Each type is a frozen dataclass: building it from the recipe checks every key, type and range and
reads nothing; ``load(inputs, extract)`` reads (and for the synthetic set renders and extracts).
Its ``scoring(...)`` says how outputs become scores, the same for training, ``test`` and ``predict``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from registry import ConfigError
from registry.provenance import file_digest
from registry.sections import check_fields, option

from ..errors import DataError
from ..kinds import DATASETS, SAMPLERS
from .annotations import Annotation, read_fisv, read_rg
from .features import FeatureData, Scoring, carve_validation, check_disjoint, read_split, resolve_root

READERS = {"rg": read_rg, "fisv": read_fisv}


class Dataset(ABC):
    """The contract of a dataset type: a typed ``data:`` section that can load itself.

    Built from the recipe's ``data:`` keys (checked; nothing is read). ``load(inputs, extract,
    progress)`` -> ``FeatureData`` (train / optional validation / test splits, disjoint by video,
    and their ``Scoring``). ``scoring(extract)`` -> the ``Scoring`` without reading the data
    (what ``predict`` needs when a checkpoint predates stored scoring).
    """

    section: ClassVar[str] = "data"
    declares: ClassVar[tuple[str, ...]] = ("score_scale", "target", "format", "window", "eval_window", "pad_mask")
    score_scale: float
    target: str  # the annotation column that is the score (Scoring.target)
    format: str  # the annotation format (rg, fisv)
    window: dict[str, int | None] | None
    eval_window: dict[str, int | None] | None
    pad_mask: bool

    def __post_init__(self) -> None:
        check_fields(self, self.section)

    @abstractmethod
    def load(
        self, inputs: Mapping[str, int], extract: Mapping[str, Any] | None = None, progress: bool = True
    ) -> FeatureData: ...

    def video_folder(self) -> Path | None:
        """Where the videos of this data set are, when the zoo knows (the synthetic set); else None."""
        return None

    def scoring(self, extract: Mapping[str, Any] | None = None, bounds: tuple[float, float] | None = None) -> Scoring:
        return Scoring(
            score_scale=self.score_scale,
            window=dict(self.window or {}),
            eval_window=None if self.eval_window is None else dict(self.eval_window),
            pad_mask=self.pad_mask,
            score_bounds=bounds,
            instance_seconds=instance_seconds(extract),
            target=self.target,
            format=self.format,
        )


DATASETS.contract = Dataset


def instance_seconds(extract: Mapping[str, Any] | None) -> dict[str, float | None]:
    """Each input's seconds between instances, as its sampler reports them (None when it cannot know)."""
    out: dict[str, float | None] = {}
    for key, entry in ((extract or {}).get("inputs") or {}).items():
        sampler = (entry or {}).get("sampler")
        out[key] = SAMPLERS.build(sampler).seconds_per_instance if sampler else None
    return out


def read_annotations(path: Path, format: str, target: str, classes: list[str] | None) -> list[Annotation]:
    if format == "rg":
        return read_rg(path, target=target, classes=classes)
    return read_fisv(path, target=target, classes=classes)  # Fis-V's one class: a filter naming another is refused


@DATASETS.register("features")
@dataclass(frozen=True)
class FeatureDataset(Dataset):
    """Pre-extracted features (``<root>/<folder>/<name>.npy`` per input) with RG or Fis-V annotations.

    ``window`` gives fixed windows per input (random start in training, centred at test, zero-padded
    when short; ``pad_mask: false`` hides the padding from the masks as the authors' code did);
    ``eval_window`` cuts evaluation otherwise (``{dynamic: null}``: whole videos, as GDLT tests);
    an input without a window is taken whole, batches padded with masks. A video in two splits is
    refused unless ``allow_overlap``.
    """

    root: str = option()
    format: str = option("rg", choices=tuple(READERS))
    annotations: dict[str, str] | None = option(None)  # {train: file, test: file} under root
    features: dict[str, str] | None = option(None)  # {input: folder} under root (default: the input's name)
    classes: list[str] | None = option(None)
    target: str = option("total")
    score_scale: float = option(1.0, gt=0)  # the model regresses score / score_scale
    window: dict[str, int | None] | None = option(None)
    eval_window: dict[str, int | None] | None = option(None)  # evaluation's windows when not window's
    pad_mask: bool = option(True)
    val_fraction: float = option(0.0, min=0, max=0.95)
    split_seed: int = option(0, min=0)
    mmap: bool = option(False)
    allow_overlap: bool = option(False)

    def __post_init__(self) -> None:
        super().__post_init__()
        files = dict(self.annotations or {"train": "train.txt", "test": "test.txt"})
        missing = [s for s in ("train", "test") if s not in files]
        if missing:
            raise ConfigError(f"data.annotations needs a file for {missing}, got {sorted(files)}")

    def load(
        self, inputs: Mapping[str, int], extract: Mapping[str, Any] | None = None, progress: bool = True
    ) -> FeatureData:
        from .extract.manifest import FolderRecords

        base = resolve_root(self.root)
        files = dict(self.annotations or {"train": "train.txt", "test": "test.txt"})
        folders = {key: base / (self.features or {}).get(key, key) for key in inputs}
        rows = {s: read_annotations(base / files[s], self.format, self.target, self.classes) for s in ("train", "test")}
        for s, r in rows.items():
            if not r:
                raise DataError(f"{base / files[s]}: no videos left for classes {self.classes}")
        roots: dict[Path, FolderRecords] = {}  # one read of each extraction's logs, whatever reads it
        records = {k: roots.setdefault(f.parent, FolderRecords.read(f.parent)) for k, f in folders.items()}
        train = read_split(rows["train"], folders, inputs, self.score_scale, self.mmap, records)
        test = read_split(rows["test"], folders, inputs, self.score_scale, self.mmap, records)
        check_disjoint({"train": train, "test": test}, self.allow_overlap)
        train, val = carve_validation(train, self.val_fraction, self.split_seed)
        scores = [a.score for r in rows.values() for a in r]
        recorded = {k: records[k].instance_seconds(f.name) for k, f in folders.items()}
        guessed = instance_seconds(extract)
        scoring = dataclasses.replace(
            self.scoring(extract, (min(scores), max(scores))),
            instance_seconds={k: recorded[k] if recorded[k] is not None else guessed.get(k) for k in inputs},
        )
        sources = {
            "annotations": {
                "format": self.format,
                "target": self.target,
                "classes": self.classes,
                **{s: file_digest(base / files[s]) for s in ("train", "test")},
            },
            "folders": {k: str(f) for k, f in folders.items()},
        }
        made_by = {k: records[k].made_by(f.name) for k, f in folders.items()}
        return FeatureData(train, test, val, scoring, dict(inputs), made_by, sources)


@DATASETS.register("synthetic")
@dataclass(frozen=True)
class SyntheticDataset(Dataset):
    """The built-in synthetic gymnastics set: rendered, features extracted with the recipe's extract: (both cached).

    Videos go to ``<root>/render/<digest of the render parameters>`` and features to
    ``<root>/features/<digest of that render and the extract section>``: another seed, size or
    length renders a set of its own, and features are only ever reused for the videos they came from.
    """

    target: ClassVar[str] = "total"  # the synthetic set writes RG-format annotations
    format: ClassVar[str] = "rg"

    root: str = option("data/synthetic")
    videos: int = option(200, min=1)
    seed: int = option(0, min=0)
    size: int = option(128, min=32)  # pixels, square frames (width and height override it)
    width: int | None = option(None, min=32)
    height: int | None = option(None, min=32)
    fps: float = option(10.0, gt=0)
    duration: float = option(20.0, gt=0)  # seconds per routine
    test_fraction: float = option(0.25, gt=0, max=0.9)
    score_scale: float = option(25.0, gt=0)
    window: dict[str, int | None] | None = option(None)
    eval_window: dict[str, int | None] | None = option(None)  # evaluation's windows when not window's
    pad_mask: bool = option(True)
    val_fraction: float = option(0.2, min=0, max=0.95)
    split_seed: int = option(0, min=0)
    device: str = option("cpu")  # where the extraction's backbones run
    soundtrack: bool | dict[str, Any] = option(False)  # music with a beat, and a rhythm term in the score

    def render_params(self) -> dict[str, Any]:
        return {
            "videos": self.videos,
            "seed": self.seed,
            "width": self.width or self.size,
            "height": self.height or self.size,
            "fps": self.fps,
            "duration": self.duration,
            "test_fraction": self.test_fraction,
            # Only when asked: a set without music keeps its render folder (synthetic.Soundtrack's settings).
            **({"soundtrack": self.soundtrack} if self.soundtrack is not False else {}),
        }

    def render_dir(self) -> Path:
        """``<root>/render/<digest of the render parameters>``: videos/, annotations/, latents.json, meta/."""
        from .synthetic import render_key

        return Path(self.root) / "render" / render_key(**self.render_params())

    def video_folder(self) -> Path | None:
        return self.render_dir() / "videos"

    def load(
        self, inputs: Mapping[str, int], extract: Mapping[str, Any] | None = None, progress: bool = True
    ) -> FeatureData:
        from .extract import extract_features
        from .synthetic import make_synthetic

        if not extract:
            raise ConfigError(
                "data.type synthetic needs the recipe's extract: section (how to turn videos into features)"
            )
        render = make_synthetic(self.render_dir(), progress=progress, **self.render_params())
        features = synthetic_features_dir(self.root, render.name, extract)
        report = extract_features(extract, render / "videos", features, device=self.device, progress=progress)
        if not report.ok:
            raise DataError(f"feature extraction failed for some synthetic videos:\n{report.summary()}")
        return FeatureDataset(
            root=str(render),
            format="rg",
            annotations={"train": "annotations/train.txt", "test": "annotations/test.txt"},
            features={key: str((features / key).resolve()) for key in inputs},
            score_scale=self.score_scale,
            window=self.window,
            eval_window=self.eval_window,
            pad_mask=self.pad_mask,
            val_fraction=self.val_fraction,
            split_seed=self.split_seed,
        ).load(inputs, extract, progress)


def synthetic_features_dir(root: str | Path, render: str, extract: Mapping[str, Any]) -> Path:
    """The feature folder of render ``render`` made by ``extract``: named by the render, the section as checked
    (defaults filled, so a raw recipe section and the typed one name the same folder) and the extractor version."""
    from .extract.config import EXTRACTOR_VERSION, resolve_config

    relevant = _feature_relevant(resolve_config(extract))
    return Path(root) / "features" / _digest({"render": render, "extract": relevant, "extractor": EXTRACTOR_VERSION})


def _digest(obj: Any) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:10]


def _feature_relevant(extract: Mapping[str, Any]) -> dict[str, Any]:
    """The extract section without what does not change features (see extract.config.NOT_FEATURES)."""
    from .extract.config import NOT_FEATURES

    return {k: v for k, v in extract.items() if k not in NOT_FEATURES}
