"""FS1000 (Skating-Mixer's figure-skating set, as MCMoE reads it): one folder of ``<video>.npy`` per modality."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from registry import ConfigError
from registry.provenance import file_digest
from registry.sections import option

from ..kinds import DATASETS
from .annotations import FS1000_TARGETS, Annotation, check_features_present, read_fs1000
from .datasets import Dataset, instance_seconds
from .feature_split import SQUEEZE, VideoArray, split_from_arrays
from .features import FeatureData, Split, carve_validation, check_disjoint, check_vouched, resolve_root
from .safe_pickle import load_npy

if TYPE_CHECKING:
    from .extract.manifest import FolderRecords

# MCMoE's options.py folder names (Video-Swin RGB [T, K, C], AST audio, its own I3D flow).
DEFAULT_FEATURES = {
    "rgb": "output_feature_fs1000_new",
    "audio": "ast_feature_fs1000_new",
    "flow": "i3d_avg_clip8_5s_fs1000",
}
DEFAULT_ANNOTATIONS = {"train": "train_fs1000_new.txt", "test": "val_fs1000_new.txt"}
# MCMoE's datasets.py divides each target by its range: TES 130, PCS (already / factor) 60, components 10.
AUTHORS_SCALE = {"tes": 130.0, "pcs": 60.0, "ss": 10.0, "tr": 10.0, "pe": 10.0, "co": 10.0, "in": 10.0}


@DATASETS.register("fs1000")
@dataclass(frozen=True)
class FS1000Dataset(Dataset):
    """FS1000 features (``<root>/<folder>/<video>.npy`` per input) with its annotation files.

    Annotations: ``train_fs1000_new.txt`` and ``val_fs1000_new.txt`` (the authors' test split), no
    header, ``name TES PCS SS TR PE CO IN factor``. ``target`` tes, pcs, ss, tr, pe, co or in; pcs is
    PCS divided by the line's factor, exactly as MCMoE's (and Skating-Mixer's) loader does, and
    ``score_scale`` defaults to MCMoE's range for the target (130, 60, 10 for the components).
    ``[T, K, C]`` features are averaged over K (``squeeze: mean``; MCMoE averages the RGB features'
    second axis), or refused (``squeeze: error``). Windows as in ``features``; inputs of one window
    and equal length share a video's training window start (MCMoE cuts one start for all three).
    """

    format: ClassVar[str] = "fs1000"

    root: str = option()
    annotations: dict[str, str] | None = option(None)  # {train: file, test: file} under root
    features: dict[str, str] | None = option(None)  # {input: folder} under root (default: MCMoE's folders)
    target: str = option("tes", choices=FS1000_TARGETS)
    score_scale: float | None = option(None, gt=0)  # the model regresses score / score_scale
    squeeze: str = option("mean", choices=SQUEEZE)
    window: dict[str, int | None] | None = option(None)
    eval_window: dict[str, int | None] | None = option(None)  # evaluation's windows when not window's
    pad_mask: bool = option(True)
    val_fraction: float = option(0.0, min=0, max=0.95)
    split_seed: int = option(0, min=0)
    allow_overlap: bool = option(False)

    def __post_init__(self) -> None:
        if self.score_scale is None:  # filled in, so the section (and checkpoints) say what was used
            object.__setattr__(self, "score_scale", AUTHORS_SCALE.get(self.target, 1.0))
        super().__post_init__()
        missing = [s for s in ("train", "test") if s not in (self.annotations or DEFAULT_ANNOTATIONS)]
        if missing:
            raise ConfigError(f"data.annotations needs a file for {missing}, got {sorted(self.annotations or {})}")

    def load(
        self, inputs: Mapping[str, int], extract: Mapping[str, Any] | None = None, progress: bool = True
    ) -> FeatureData:
        from .extract.manifest import FolderRecords

        base = resolve_root(self.root)
        notes = dict(self.annotations or DEFAULT_ANNOTATIONS)
        named = self.features or DEFAULT_FEATURES
        folders = {key: base / named.get(key, key) for key in inputs}
        rows = {s: read_fs1000(base / notes[s], target=self.target) for s in ("train", "test")}
        roots: dict[Path, FolderRecords] = {}  # one read of each extraction's logs, whatever reads it
        records = {k: roots.setdefault(f.parent, FolderRecords.read(f.parent)) for k, f in folders.items()}
        # One listing per input of every file missing from either split.
        paths = {k: check_features_present(rows["train"] + rows["test"], f) for k, f in folders.items()}
        train, test = (self._split(rows[s], folders, paths, inputs, records) for s in ("train", "test"))
        check_disjoint({"train": train, "test": test}, self.allow_overlap)
        train, val = carve_validation(train, self.val_fraction, self.split_seed)
        scores = [a.score for s in ("train", "test") for a in rows[s]]
        sources = {
            "annotations": {
                "format": self.format,
                "target": self.target,
                **{s: file_digest(base / notes[s]) for s in ("train", "test")},
            },
            "folders": {k: str(f) for k, f in folders.items()},
        }
        recorded = {k: records[k].instance_seconds(f.name) for k, f in folders.items()}
        guessed = instance_seconds(extract)
        scoring = dataclasses.replace(
            self.scoring(extract, (min(scores), max(scores))),
            instance_seconds={k: recorded[k] if recorded[k] is not None else guessed.get(k) for k in inputs},
        )
        made_by = {k: records[k].made_by(f.name) for k, f in folders.items()}
        return FeatureData(train, test, val, scoring, dict(inputs), made_by, sources)

    def _split(
        self,
        rows: list[Annotation],
        folders: Mapping[str, Path],
        paths: Mapping[str, Mapping[str, Path]],
        inputs: Mapping[str, int],
        records: Mapping[str, FolderRecords],
    ) -> Split:
        arrays: dict[str, list[VideoArray]] = {}
        for key, folder in folders.items():
            arrays[key] = [_read(paths[key][a.name]) for a in rows]
            if records[key].manifest is not None:  # features our extraction made: it must vouch for each file
                check_vouched(records[key], folder, [a.name for a in rows], [v.digest for v in arrays[key]])
        return split_from_arrays(rows, arrays, inputs, float(self.score_scale or 1.0), self.squeeze)


def _read(path: Path) -> VideoArray:
    """One video's file (plain ``.npy``; a pickled one only through the numpy-only unpickler), named by its path."""
    array, sha = load_npy(path)
    return VideoArray(array, str(path), sha)
