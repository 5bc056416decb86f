"""Feature datasets: per-video instance features in memory, windowed and batched with masks.

Layouts read here (one ``<name>.npy`` of shape ``[n_instances, C]`` per video and input):

* ACTION-NET: ``<root>/dynamic/<name>.npy`` (clips, 1024) and ``<root>/static/<name>.npy`` (crops, 2048);
* single stream (GDLT's Video-Swin features): one folder of ``<name>.npy``;
* anything else: ``features: {input: folder}`` maps each model input to a folder under the root.

Every file is read once, checked (2-D, the width the model expects, finite) and kept in memory
(or memory-mapped) for the whole run; batches are sliced from it, never re-read from disk.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from registry import ConfigError, MissingFileError

from ..errors import DataError
from .annotations import Annotation, check_features_present


class FeatureError(DataError):
    """A feature file that cannot be read, or has the wrong shape, width, dtype or non-finite values."""


def load_feature(path: Path, width: int | None, mmap: bool = False) -> np.ndarray:
    """One ``[n, C]`` float array, checked; the error names the file, its shape and what was expected."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"feature file {path} does not exist")
    if path.stat().st_size == 0:
        raise FeatureError(f"{path}: the feature file is empty (0 bytes); extract it again")
    try:
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except Exception as e:  # numpy raises OSError, ValueError, EOFError, UnpicklingError... for bad files
        raise FeatureError(f"{path}: not a readable .npy feature file ({type(e).__name__}: {e})") from None
    if not isinstance(arr, np.ndarray):
        raise FeatureError(f"{path}: holds a {type(arr).__name__}, expected one .npy array [n_instances, C]")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise FeatureError(f"{path}: features of dtype {arr.dtype}; expected a float array [n_instances, C]")
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise FeatureError(f"{path}: features of shape {list(arr.shape)}; expected [n_instances > 0, {width or 'C'}]")
    if width is not None and arr.shape[1] != width:
        raise FeatureError(
            f"{path}: features of shape {list(arr.shape)}, but the recipe's model expects width {width} "
            f"(model.inputs); extract features with the matching backbone or fix model.inputs"
        )
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise FeatureError(f"{path}: {bad} NaN/inf value(s) in features of shape {list(arr.shape)}")
    return arr if mmap else np.ascontiguousarray(arr, dtype=np.float32)


@dataclass
class Split:
    """The videos of one split: names, classes, raw and normalised targets, features per input."""

    names: list[str]
    classes: list[str]
    raw: Tensor
    target: Tensor
    features: dict[str, list[np.ndarray]]
    lengths: dict[str, Tensor] = field(init=False)

    def __post_init__(self) -> None:
        self.lengths = {k: torch.tensor([len(a) for a in v]) for k, v in self.features.items()}

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, index: Sequence[int]) -> Split:
        idx = list(index)
        return Split(
            [self.names[i] for i in idx],
            [self.classes[i] for i in idx],
            self.raw[idx],
            self.target[idx],
            {k: [v[i] for i in idx] for k, v in self.features.items()},
        )


def _tensor(a: np.ndarray) -> Tensor:
    """A float32 tensor view of an in-memory array (a copy for memory-mapped, read-only ones)."""
    return torch.from_numpy(a) if a.flags.writeable and a.dtype == np.float32 else torch.tensor(a, dtype=torch.float32)


@dataclass
class Windowing:
    """How instances are cut into a batch: fixed windows per input (None = whole video), masks or not."""

    window: dict[str, int | None]
    pad_mask: bool = True

    def cut(
        self, seqs: list[np.ndarray], key: str, train: bool, generator: torch.Generator | None
    ) -> tuple[Tensor, Tensor]:
        """``[B, N, C]`` and its mask ``[B, N]`` from one input's sequences."""
        lengths = [len(s) for s in seqs]
        size = self.window.get(key)
        n = size or max(lengths)
        spare = torch.tensor([max(length - n, 0) for length in lengths])
        if size and train:  # random start in training (the authors' protocol), centred otherwise
            starts = (torch.rand(len(seqs), generator=generator) * (spare + 1)).floor().long()
        else:
            starts = spare // 2
        pieces = [_tensor(s[start : start + n]) for s, start in zip(seqs, starts.tolist())]
        valid = torch.tensor([len(p) for p in pieces])
        if bool((valid == n).all()):
            out = torch.stack(pieces)  # the common case: one copy, no padding
        else:
            out = torch.zeros(len(seqs), n, seqs[0].shape[1])
            for b, piece in enumerate(pieces):
                out[b, : len(piece)] = piece
        if size and not self.pad_mask:  # the authors' model sees zero-padding as instances
            return out, torch.ones(len(seqs), n, dtype=torch.bool)
        return out, torch.arange(n).unsqueeze(0) < valid.unsqueeze(1)


@dataclass(frozen=True)
class Scoring:
    """How a model's outputs become scores and how videos are cut into batches: what training used.

    Checkpoints keep it (``ckpt["scoring"]``), so ``test`` and ``predict`` score exactly as training
    evaluated: ``score = output * score_scale``; ``window`` per input (None: the whole video),
    ``pad_mask``; the judged scores' range (for relative L2); and each input's seconds per
    instance (from its sampler; None when unknown), for timelines.
    """

    score_scale: float
    window: dict[str, int | None]
    pad_mask: bool = True
    score_bounds: tuple[float, float] | None = None
    instance_seconds: dict[str, float | None] = field(default_factory=dict)

    @property
    def windowing(self) -> Windowing:
        return Windowing(dict(self.window), self.pad_mask)

    def to_dict(self) -> dict[str, object]:
        return {
            "score_scale": self.score_scale,
            "window": dict(self.window),
            "pad_mask": self.pad_mask,
            "score_bounds": list(self.score_bounds) if self.score_bounds else None,
            "instance_seconds": dict(self.instance_seconds),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Scoring:
        bounds = d.get("score_bounds")
        return cls(
            score_scale=float(d["score_scale"]),  # type: ignore[arg-type]
            window=dict(d.get("window") or {}),  # type: ignore[arg-type]
            pad_mask=bool(d.get("pad_mask", True)),
            score_bounds=tuple(bounds) if bounds else None,  # type: ignore[arg-type]
            instance_seconds=dict(d.get("instance_seconds") or {}),  # type: ignore[arg-type]
        )


@dataclass
class FeatureData:
    """Train / validation / test splits of features, and how they are scored (``Scoring``)."""

    train: Split
    test: Split
    val: Split | None
    scoring: Scoring
    inputs: dict[str, int]

    @property
    def windowing(self) -> Windowing:
        return self.scoring.windowing

    @property
    def score_scale(self) -> float:
        return self.scoring.score_scale

    @property
    def score_bounds(self) -> tuple[float, float]:
        assert self.scoring.score_bounds is not None, "a loaded data set knows its score range"
        return self.scoring.score_bounds

    def splits(self) -> dict[str, Split]:
        """The splits that exist, by name."""
        out = {"train": self.train, "val": self.val, "test": self.test}
        return {k: v for k, v in out.items() if v is not None}

    def batch(
        self, split: Split, index: Tensor | Sequence[int], train: bool = False, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """A model-ready batch: ``{input: [B,N,C], input_mask: [B,N], target: [B], index: [B]}``."""
        idx = torch.as_tensor(index, dtype=torch.long)
        out: dict[str, Tensor] = {}
        for key in self.inputs:
            x, mask = self.windowing.cut([split.features[key][i] for i in idx.tolist()], key, train, generator)
            out[key], out[f"{key}_mask"] = x, mask
        out["target"] = split.target[idx]
        out["index"] = idx
        return out


def read_split(
    annotations: list[Annotation],
    folders: Mapping[str, Path],
    inputs: Mapping[str, int],
    score_scale: float,
    mmap: bool = False,
) -> Split:
    """Load every input's features for the annotated videos (all missing files reported at once)."""
    features: dict[str, list[np.ndarray]] = {}
    for key, width in inputs.items():
        paths = check_features_present(annotations, folders[key])
        features[key] = [load_feature(paths[a.name], width, mmap) for a in annotations]
    raw = torch.tensor([a.score for a in annotations], dtype=torch.float32)
    return Split([a.name for a in annotations], [a.cls for a in annotations], raw, raw / score_scale, features)


def carve_validation(train: Split, fraction: float, seed: int) -> tuple[Split, Split | None]:
    """Hold out ``fraction`` of the training videos (a seeded permutation) for model selection."""
    if not fraction:
        return train, None
    if not 0 < fraction < 1:
        raise ConfigError(f"data.val_fraction must be in [0, 1), got {fraction}")
    n_val = max(1, round(len(train) * fraction))
    if n_val >= len(train):
        raise DataError(
            f"data.val_fraction={fraction} holds out {n_val} of the {len(train)} training video(s) for validation, "
            "leaving none to train on; lower data.val_fraction or use more training videos"
        )
    perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed)).tolist()
    return train.subset(sorted(perm[n_val:])), train.subset(sorted(perm[:n_val]))


def check_disjoint(splits: Mapping[str, Split], allowed: bool) -> None:
    """The same video in two splits makes the test number a training number: refuse it unless allowed."""
    if allowed:
        return
    seen: dict[str, str] = {}
    clashes = []
    for split, part in splits.items():
        for name in part.names:
            if name in seen and seen[name] != split:
                clashes.append(f"{name} ({seen[name]} and {split})")
            seen.setdefault(name, split)
    if clashes:
        listed = ", ".join(clashes[:10]) + (f", ... ({len(clashes) - 10} more)" if len(clashes) > 10 else "")
        raise DataError(
            f"{len(clashes)} video(s) are in more than one split: {listed}. A video scored in test that was trained "
            "on inflates the result; fix the annotation files, or set data.allow_overlap=true if it is deliberate"
        )


def resolve_root(root: str | os.PathLike, hint: str = "") -> Path:
    """The data folder, or an error saying how to point to it."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise MissingFileError(
            f"data folder {str(path)!r} does not exist (from data.root in the recipe). Point to it with "
            f"`data.root=/path/to/data` on the command line{hint}, or train on the built-in synthetic set: "
            "python tools/train.py actionnet/synthetic"
        )
    return path
