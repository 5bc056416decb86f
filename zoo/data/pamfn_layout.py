"""PAMFN's shared features: one pickled dict per class and modality, ``<root>/<Prefix>_<modality>_<FEAT>.npy``.

Each file is ``np.save`` of ``{video name: [T, C] or [T, K, C] array}``; PAMFN (and MCMoE on RG and
Fis-V) read them with ``np.load(allow_pickle=True)``. Here they go through ``safe_pickle``, which
rebuilds numpy arrays only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from registry import ConfigError
from registry.provenance import file_digest
from registry.sections import option

from ..kinds import DATASETS
from .annotations import Annotation
from .datasets import READERS, Dataset, read_annotations
from .feature_split import SQUEEZE, VideoArray, array_digest, split_from_arrays
from .features import FeatureData, FeatureError, Split, carve_validation, check_disjoint, resolve_root
from .safe_pickle import load_array_dict

# PAMFN's feature set 1 (configs/*_feats1.py): Video-Swin RGB, I3D flow, AST audio.
DEFAULT_FILES = {"rgb": "rgb_VST", "flow": "flow_I3D", "audio": "audio_AST"}
DEFAULT_ANNOTATIONS = {"train": "train.txt", "test": "test.txt"}
DEFAULT_TARGET = {"rg": "total", "fisv": "tes"}
AUTHORS_SCALE = {"rg": 25.0, "fisv": 45.0}  # PAMFN's datasets.py divides every score by these
FISV_PREFIX = "FISV"


@DATASETS.register("pamfn_features")
@dataclass(frozen=True)
class PamfnFeatureDataset(Dataset):
    """PAMFN's per-class feature dicts (``<root>/<Class>_<files[input]>.npy``; Fis-V: ``FISV_...``) with RG or
    Fis-V annotations.

    ``files`` maps each model input to its ``<modality>_<FEAT>`` (default PAMFN's set 1: rgb_VST,
    flow_I3D, audio_AST); for RG the files of every class in the annotations (after ``classes``) are
    read and merged. ``[T, K, C]`` arrays are averaged over K (``squeeze: mean``, PAMFN's
    ``squeeze_rgb_feat``) or refused (``squeeze: error``). ``target`` defaults to total (RG) / tes
    (Fis-V) and ``score_scale`` to PAMFN's 25 (RG) / 45 (Fis-V). Windows, masks, validation split and
    overlap work as in ``features``; inputs of one window and equal length share a video's training
    window start, as PAMFN cuts one start for all modalities.
    """

    root: str = option()
    format: str = option("rg", choices=tuple(READERS))
    annotations: dict[str, str] | None = option(None)  # {train: file, test: file} under root
    files: dict[str, str] | None = option(None)  # {input: "<modality>_<FEAT>"}
    classes: list[str] | None = option(None)
    target: str | None = option(None)
    score_scale: float | None = option(None, gt=0)  # the model regresses score / score_scale
    squeeze: str = option("mean", choices=SQUEEZE)
    window: dict[str, int | None] | None = option(None)
    eval_window: dict[str, int | None] | None = option(None)  # evaluation's windows when not window's
    pad_mask: bool = option(True)
    val_fraction: float = option(0.0, min=0, max=0.95)
    split_seed: int = option(0, min=0)
    allow_overlap: bool = option(False)

    def __post_init__(self) -> None:
        # Defaults that depend on the format, filled in so the section (and checkpoints) say what was used.
        if self.target is None:
            object.__setattr__(self, "target", DEFAULT_TARGET.get(self.format, "total"))
        if self.score_scale is None:
            object.__setattr__(self, "score_scale", AUTHORS_SCALE.get(self.format, 1.0))
        super().__post_init__()
        missing = [s for s in ("train", "test") if s not in (self.annotations or DEFAULT_ANNOTATIONS)]
        if missing:
            raise ConfigError(f"data.annotations needs a file for {missing}, got {sorted(self.annotations or {})}")

    def load(
        self, inputs: Mapping[str, int], extract: Mapping[str, Any] | None = None, progress: bool = True
    ) -> FeatureData:
        base = resolve_root(self.root)
        files = dict(self.files or DEFAULT_FILES)
        unnamed = [k for k in inputs if k not in files]
        if unnamed:
            raise ConfigError(
                f"data.files names no <modality>_<FEAT> for model input(s) {unnamed}; it maps {files}. Name the "
                "file of every input, e.g. data.files={rgb: rgb_VST, flow: flow_I3D, audio: audio_AST}"
            )
        notes = dict(self.annotations or DEFAULT_ANNOTATIONS)
        rows = {
            s: read_annotations(base / notes[s], self.format, str(self.target), self.classes) for s in ("train", "test")
        }
        for s in rows:
            if not rows[s]:
                raise FeatureError(f"{base / notes[s]}: no videos left for classes {self.classes}")
        prefixes = sorted({a.cls for r in rows.values() for a in r}) if self.format == "rg" else [FISV_PREFIX]
        read = {key: read_class_files(base, prefixes, files[key]) for key in inputs}
        check_present(read, [a.name for s in ("train", "test") for a in rows[s]])
        train, test = (self._split(rows[s], read, inputs) for s in ("train", "test"))
        check_disjoint({"train": train, "test": test}, self.allow_overlap)
        train, val = carve_validation(train, self.val_fraction, self.split_seed)
        scores = [a.score for s in ("train", "test") for a in rows[s]]
        sources = {
            "annotations": {
                "format": self.format,
                "target": self.target,
                "classes": self.classes,
                **{s: file_digest(base / notes[s]) for s in ("train", "test")},
            },
            "folders": {key: str(base / f"{{{','.join(prefixes)}}}_{files[key]}.npy") for key in inputs},
            "files": {key: {path.name: sha for path, sha in read[key].shas.items()} for key in inputs},
        }
        return FeatureData(
            train,
            test,
            val,
            self.scoring(extract, (min(scores), max(scores))),
            dict(inputs),
            dict.fromkeys(inputs),  # made elsewhere: no extraction of ours vouches for them
            sources,
        )

    def _split(self, rows: list[Annotation], read: Mapping[str, ClassFiles], inputs: Mapping[str, int]) -> Split:
        arrays = {key: read[key].videos([a.name for a in rows]) for key in inputs}
        return split_from_arrays(rows, arrays, inputs, float(self.score_scale or 1.0), self.squeeze)


@dataclass
class ClassFiles:
    """One input's dicts, merged over the class files read: video -> array, the file each came from, digests."""

    arrays: dict[str, np.ndarray]
    source: dict[str, Path]
    shas: dict[Path, str]

    def videos(self, names: list[str]) -> list[VideoArray]:
        """The ``names``' arrays in order (``check_present`` has made sure every one is there)."""
        return [
            VideoArray(self.arrays[n], f"{self.source[n]}: video {n!r}", array_digest(self.arrays[n])) for n in names
        ]


def read_class_files(base: Path, prefixes: list[str], stem: str) -> ClassFiles:
    """``<base>/<prefix>_<stem>.npy`` for every prefix, merged; a video in two files is refused."""
    out = ClassFiles({}, {}, {})
    for prefix in prefixes:
        path = base / f"{prefix}_{stem}.npy"
        arrays, out.shas[path] = load_array_dict(path)
        twice = sorted(n for n in arrays if n in out.arrays)
        if twice:
            raise FeatureError(f"{path}: videos also in {out.source[twice[0]]}: {', '.join(twice[:10])}")
        out.arrays.update(arrays)
        out.source.update(dict.fromkeys(arrays, path))
    return out


def check_present(read: Mapping[str, ClassFiles], names: list[str]) -> None:
    """Every annotated video must be in every input's files; one error lists each input's missing names."""
    lines = []
    for key, files in read.items():
        missing = [n for n in names if n not in files.arrays]
        if missing:
            shown = ", ".join(missing[:20]) + (f", ... ({len(missing) - 20} more)" if len(missing) > 20 else "")
            where = ", ".join(str(p) for p in files.shas)
            lines.append(f"input {key!r}: {len(missing)} of {len(names)} are in none of {where}: {shown}")
    if lines:
        raise FeatureError("annotated videos missing from the feature files:\n  " + "\n  ".join(lines))
