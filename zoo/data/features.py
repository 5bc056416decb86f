"""Feature datasets: per-video instance features in memory, windowed and batched with masks.

Layouts read here (one ``<name>.npy`` of shape ``[n_instances, C]`` per video and input):

* ACTION-NET: ``<root>/dynamic/<name>.npy`` (clips, 1024) and ``<root>/static/<name>.npy`` (crops, 2048);
* single stream (GDLT's Video-Swin features): one folder of ``<name>.npy``;
* anything else: ``features: {input: folder}`` maps each model input to a folder under the root.

Every file is read once, checked (2-D, the width the model expects, finite) and kept in memory
(or memory-mapped) for the whole run; batches are sliced from it, never re-read from disk.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from registry import ConfigError, MissingFileError
from registry.provenance import digest, file_digest

from ..errors import DataError
from .annotations import Annotation, check_features_present

if TYPE_CHECKING:
    from .extract.manifest import FolderRecords


class FeatureError(DataError):
    """A feature file that cannot be read, or has the wrong shape, width, dtype or non-finite values."""


def load_feature(path: Path, width: int | None, mmap: bool = False) -> np.ndarray:
    """One ``[n, C]`` float array, checked; the error names the file, its shape and what was expected."""
    return read_feature(path, width, mmap)[0]


def read_feature(path: Path, width: int | None, mmap: bool = False) -> tuple[np.ndarray, str]:
    """One ``[n, C]`` float array, checked, and the SHA-256 of the file's bytes (what an extraction recorded)."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"feature file {path} does not exist")
    if path.stat().st_size == 0:
        raise FeatureError(f"{path}: the feature file is empty (0 bytes); extract it again")
    try:
        if mmap:
            sha = file_digest(path)
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        else:  # one read of the bytes: hashed, then parsed
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            arr = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:  # numpy raises OSError, ValueError, EOFError, UnpicklingError... for bad files
        raise FeatureError(f"{path}: not a readable .npy feature file ({type(e).__name__}: {e})") from None
    check_array(arr, str(path), width)
    return (arr if mmap else np.ascontiguousarray(arr, dtype=np.float32)), sha


def check_array(arr: Any, where: str, width: int | None) -> None:
    """One video's features must be a finite numeric ``[n > 0, width]`` array; ``where`` names the file (and video)."""
    if not isinstance(arr, np.ndarray):
        raise FeatureError(f"{where}: holds a {type(arr).__name__}, expected one .npy array [n_instances, C]")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise FeatureError(f"{where}: features of dtype {arr.dtype}; expected a float array [n_instances, C]")
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise FeatureError(f"{where}: features of shape {list(arr.shape)}; expected [n_instances > 0, {width or 'C'}]")
    if width is not None and arr.shape[1] != width:
        raise FeatureError(
            f"{where}: features of shape {list(arr.shape)}, but the recipe's model expects width {width} "
            f"(model.inputs); extract features with the matching backbone or fix model.inputs"
        )
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise FeatureError(f"{where}: {bad} NaN/inf value(s) in features of shape {list(arr.shape)}")


@dataclass
class Split:
    """The videos of one split: names, classes, raw and normalised targets, features per input.

    ``digests`` holds each feature file's SHA-256 (per input, in video order): what the features'
    fingerprint is made of.
    """

    names: list[str]
    classes: list[str]
    raw: Tensor
    target: Tensor
    features: dict[str, list[np.ndarray]]
    digests: dict[str, list[str]] = field(default_factory=dict)
    lengths: dict[str, Tensor] = field(init=False)
    # Per input, every video zero-padded into one [videos, longest, C] tensor on a device (``make_resident``):
    # batches are then gathered there, with the same values, instead of copied over from memory each step.
    resident: dict[str, Tensor] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.lengths = {k: torch.tensor([len(a) for a in v]) for k, v in self.features.items()}
        self.resident = {}

    def __len__(self) -> int:
        return len(self.names)

    def resident_bytes(self) -> int:
        """Bytes ``make_resident`` takes: every input padded to its longest video, float32."""
        return sum(len(v) * max(len(a) for a in v) * v[0].shape[1] * 4 for v in self.features.values() if v)

    def make_resident(self, device: torch.device) -> None:
        """Keep every input on ``device`` as one padded tensor (batches then come out on that device)."""
        for key, arrays in self.features.items():
            if key in self.resident and self.resident[key].device == device:
                continue
            padded = torch.zeros(len(arrays), max(len(a) for a in arrays), arrays[0].shape[1])
            for i, a in enumerate(arrays):
                padded[i, : len(a)] = _tensor(a)
            self.resident[key] = padded.to(device)

    def subset(self, index: Sequence[int]) -> Split:
        idx = list(index)
        return Split(
            [self.names[i] for i in idx],
            [self.classes[i] for i in idx],
            self.raw[idx],
            self.target[idx],
            {k: [v[i] for i in idx] for k, v in self.features.items()},
            {k: [v[i] for i in idx] for k, v in self.digests.items()},
        )


def _tensor(a: np.ndarray) -> Tensor:
    """A float32 tensor view of an in-memory array (a copy for memory-mapped, read-only ones)."""
    return torch.from_numpy(a) if a.flags.writeable and a.dtype == np.float32 else torch.tensor(a, dtype=torch.float32)


@dataclass
class Windowing:
    """How instances are cut into a batch: fixed windows per input (None = whole video), masks or not.

    ``eval_window`` cuts evaluation batches when it differs from training's (GDLT, CoFInAl: 68-clip
    windows in training, whole videos at test); None: evaluation uses ``window`` too.
    """

    window: dict[str, int | None]
    pad_mask: bool = True
    eval_window: dict[str, int | None] | None = None

    def size(self, key: str, train: bool) -> int | None:
        """Input ``key``'s window in training (``train``) or evaluation; None: whole videos."""
        return (self.window if train or self.eval_window is None else self.eval_window).get(key)

    def cut(
        self,
        seqs: list[np.ndarray],
        key: str,
        train: bool,
        generator: torch.Generator | None,
        draws: Tensor | None = None,
        resident: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``[B, N, C]`` and its mask ``[B, N]`` from one input's sequences; ``draws`` ([B] in [0, 1)) place
        training windows (None: drawn here from ``generator``). ``resident``: the split's padded tensor of
        this input and the batch's video indices: the same batch, gathered on that tensor's device."""
        lengths = [len(s) for s in seqs]
        size = self.size(key, train)
        n = size or max(lengths)
        spare = torch.tensor([max(length - n, 0) for length in lengths])
        if size and train:  # random start in training (the authors' protocol), centred otherwise
            if draws is None:
                draws = torch.rand(len(seqs), generator=generator)
            starts = (draws * (spare + 1)).floor().long()
        else:
            starts = spare // 2
        if resident is not None:
            return self._gather(*resident, torch.tensor(lengths), starts, n, bool(size))
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

    def _gather(
        self, padded: Tensor, idx: Tensor, lengths: Tensor, starts: Tensor, n: int, windowed: bool
    ) -> tuple[Tensor, Tensor]:
        """``cut``'s batch from a resident [videos, longest, C] tensor: rows ``idx``, instances ``start`` to
        ``start + n`` of each (zeros past its end), the same values and mask, on ``padded``'s device."""
        dev = padded.device
        steps = torch.arange(n, device=dev)
        starts, lengths = starts.to(dev), lengths.to(dev)
        valid = (lengths - starts).clamp(min=0, max=n)  # len(s[start : start + n])
        inside = steps.unsqueeze(0) < valid.unsqueeze(1)
        where = (starts.unsqueeze(1) + steps.unsqueeze(0)).clamp(max=padded.shape[1] - 1)
        out = padded[idx.to(dev).unsqueeze(1), where]
        out = torch.where(inside.unsqueeze(-1), out, torch.zeros((), device=dev))
        if windowed and not self.pad_mask:  # the authors' model sees zero-padding as instances
            return out, torch.ones(len(idx), n, dtype=torch.bool, device=dev)
        return out, inside

    def cut_inputs(
        self,
        seqs: Mapping[str, list[np.ndarray]],
        train: bool,
        generator: torch.Generator | None,
        resident: Mapping[str, tuple[Tensor, Tensor]] | None = None,
    ) -> dict[str, tuple[Tensor, Tensor]]:
        """Every input's ``cut``, with training windows aligned across inputs.

        Inputs with the same window size whose lengths are equal for a video (one instance per same
        time span, as PAMFN's rgb, flow and audio) start that video's window at the same instance, as
        the authors cut one start for all modalities. Each input still draws its own numbers, in input
        order, so the random stream (and every recipe whose inputs differ in window or length) is as it was.
        """
        out: dict[str, tuple[Tensor, Tensor]] = {}
        drawn: list[tuple[int, Tensor, Tensor]] = []  # (window, lengths, draws) of the inputs cut so far
        for key, part in seqs.items():
            size, draws = self.size(key, train), None
            if size and train:
                draws = torch.rand(len(part), generator=generator)
                lengths = torch.tensor([len(s) for s in part])
                taken = torch.zeros(len(part), dtype=torch.bool)
                # The first earlier input of the same window and length already carries the shared draw.
                for other_size, other_lengths, other_draws in drawn:
                    if other_size == size:
                        same = (other_lengths == lengths) & ~taken
                        draws, taken = torch.where(same, other_draws, draws), taken | same
                drawn.append((size, lengths, draws))
            out[key] = self.cut(part, key, train, generator, draws, resident.get(key) if resident else None)
        return out


@dataclass(frozen=True)
class Scoring:
    """How a model's outputs become scores and how videos are cut into batches: what training used.

    Checkpoints keep it (``ckpt["scoring"]``), so ``test`` and ``predict`` score exactly as training
    evaluated: ``score = output * score_scale``; ``window`` per input (None: the whole video),
    ``pad_mask``; the judged scores' range (for relative L2); each input's seconds per instance
    (from its sampler; None when unknown), for timelines; which annotation column the scores are
    (``target``, of the annotation ``format``), so a judged score shown beside a prediction is of
    the same kind; and the autocast dtype evaluation ran under (``amp``).
    """

    score_scale: float
    window: dict[str, int | None]
    pad_mask: bool = True
    score_bounds: tuple[float, float] | None = None
    instance_seconds: dict[str, float | None] = field(default_factory=dict)
    eval_window: dict[str, int | None] | None = None
    target: str | None = None
    format: str | None = None
    amp: str | None = None

    @property
    def windowing(self) -> Windowing:
        return Windowing(dict(self.window), self.pad_mask, None if self.eval_window is None else dict(self.eval_window))

    def to_dict(self) -> dict[str, object]:
        return {
            "score_scale": self.score_scale,
            "window": dict(self.window),
            "pad_mask": self.pad_mask,
            "score_bounds": list(self.score_bounds) if self.score_bounds else None,
            "instance_seconds": dict(self.instance_seconds),
            "eval_window": None if self.eval_window is None else dict(self.eval_window),
            "target": self.target,
            "format": self.format,
            "amp": self.amp,
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
            eval_window=dict(d["eval_window"]) if d.get("eval_window") is not None else None,  # type: ignore[arg-type]
            target=d.get("target"),  # type: ignore[arg-type]
            format=d.get("format"),  # type: ignore[arg-type]
            amp=d.get("amp"),  # type: ignore[arg-type]
        )

    def identity(self) -> dict[str, object]:
        """What a checkpoint's scores depend on here (the score range and seconds only describe them)."""
        d = self.to_dict()
        return {k: d[k] for k in ("score_scale", "window", "eval_window", "pad_mask", "target", "format", "amp")}


@dataclass
class FeatureData:
    """Train / validation / test splits of features, how they are scored (``Scoring``), and what made them.

    ``made_by``: per input, what the extraction that made its folder says made it (None: features
    made elsewhere, which nothing here can vouch for); ``sources``: the files read (annotations'
    SHA-256, feature folders). ``fingerprint()`` is what a checkpoint, run and table cell carry.
    """

    train: Split
    test: Split
    val: Split | None
    scoring: Scoring
    inputs: dict[str, int]
    made_by: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> dict[str, Any]:
        """What these features and splits are: per input what made them and a digest of their bytes; the
        annotation files and target; each split's videos."""
        content = {
            key: digest(
                sorted((n, d) for part in self.splits().values() for n, d in zip(part.names, part.digests[key]))
            )
            for key in self.inputs
        }
        return {
            "inputs": {key: {"made_by": self.made_by.get(key), "content": content[key]} for key in self.inputs},
            "annotations": dict(self.sources.get("annotations") or {}),
            "splits": {name: digest(part.names) for name, part in self.splits().items()},
        }

    def input_stats(self) -> dict[str, dict[str, Any]]:
        """Per input, statistics of the training features: per-channel mean and std, the largest magnitude."""
        return {key: feature_stats(self.train.features[key]) for key in self.inputs}

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
        seqs = {key: [split.features[key][i] for i in idx.tolist()] for key in self.inputs}
        resident = {key: (split.resident[key], idx) for key in self.inputs if key in split.resident}
        for key, (x, mask) in self.windowing.cut_inputs(seqs, train, generator, resident).items():
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
    records: Mapping[str, FolderRecords] | None = None,
) -> Split:
    """Load every input's features for the annotated videos (all missing files reported at once).

    Where ``records`` says an extraction made an input's folder, every file read must be one it
    vouches for (made with the folder's section, bytes as written); the error lists every other.
    """
    features: dict[str, list[np.ndarray]] = {}
    digests: dict[str, list[str]] = {}
    for key, width in inputs.items():
        paths = check_features_present(annotations, folders[key])
        loaded = [read_feature(paths[a.name], width, mmap) for a in annotations]
        features[key], digests[key] = [a for a, _ in loaded], [d for _, d in loaded]
        folder_records = (records or {}).get(key)
        if folder_records is not None and folder_records.manifest is not None:
            check_vouched(folder_records, folders[key], [a.name for a in annotations], digests[key])
    raw = torch.tensor([a.score for a in annotations], dtype=torch.float32)
    names, classes = [a.name for a in annotations], [a.cls for a in annotations]
    return Split(names, classes, raw, raw / score_scale, features, digests)


def check_vouched(records: FolderRecords, folder: Path, names: Sequence[str], digests: Sequence[str]) -> None:
    """Every ``<folder>/<name>.npy`` must be a file the folder's extraction wrote with its section."""
    bad = [
        f"{name}.npy: {why}"
        for name, sha in zip(names, digests)
        if (why := records.vouch(name, folder.name, sha)) is not None
    ]
    if bad:
        shown = "\n  ".join(bad[:10]) + (f"\n  ... ({len(bad) - 10} more)" if len(bad) > 10 else "")
        raise FeatureError(
            f"{len(bad)} feature file(s) in {folder} are not vouched for by {records.root / 'extract.json'}, so "
            f"they may come from another extract section or another video:\n  {shown}\nExtract them again "
            f"(tools/extract_features.py RECIPE --videos DIR --out {records.root}), or point data.root at a "
            "folder made in one extraction."
        )


# A video whose features exceed the training features' largest magnitude by this factor is absurd.
ABSURD_FACTOR = 100.0


def feature_stats(arrays: Sequence[np.ndarray]) -> dict[str, Any]:
    """Per-channel mean and std (float64) and the largest magnitude of ``[n_i, C]`` arrays."""
    total = sq = 0.0
    n, peak = 0, 0.0
    for a in arrays:
        x = np.asarray(a, dtype=np.float64)
        total = total + x.sum(0)
        sq = sq + (x * x).sum(0)
        n += x.shape[0]
        peak = max(peak, float(np.abs(x).max()))
    mean = np.asarray(total) / max(n, 1)
    std = np.sqrt(np.maximum(np.asarray(sq) / max(n, 1) - mean * mean, 0.0))
    return {"instances": n, "mean": mean.tolist(), "std": std.tolist(), "max_abs": peak}


def implausible(
    features: Mapping[str, Sequence[np.ndarray]], names: Sequence[str], stats: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Lines naming the videos whose features lie absurdly far outside the training features (``stats``)."""
    out = []
    for key, arrays in features.items():
        if key not in stats:
            continue
        limit = ABSURD_FACTOR * max(float(stats[key]["max_abs"]), 1e-6)
        for name, a in zip(names, arrays):
            peak = float(np.abs(a).max())
            if peak > limit:
                i, c = np.unravel_index(int(np.abs(a).argmax()), a.shape)
                out.append(
                    f"{name}: input {key!r} holds {float(a[i, c]):.4g} (instance {i}, channel {c}); training "
                    f"features never exceeded {float(stats[key]['max_abs']):.4g} in magnitude"
                )
    return out


def check_plausible(
    features: Mapping[str, Sequence[np.ndarray]],
    names: Sequence[str],
    stats: Mapping[str, Mapping[str, Any]] | None,
    where: str,
    accept: bool = False,
) -> list[str]:
    """Refuse to score videos whose features lie more than ``ABSURD_FACTOR`` times beyond the training features'
    largest magnitude (a corrupt file, another backbone); with ``accept``, return the lines instead."""
    lines = implausible(features, names, stats or {})
    if lines and not accept:
        shown = "\n  ".join(lines[:10]) + (f"\n  ... ({len(lines) - 10} more)" if len(lines) > 10 else "")
        raise FeatureError(
            f"{len(lines)} video(s) of {where} have features more than {ABSURD_FACTOR:g}x beyond anything in the "
            f"training features, so any score for them would be noise:\n  {shown}\nCheck those files (re-extract "
            "them), or pass --accept-mismatch to score them anyway (the result then says so)."
        )
    return [f"implausible features accepted: {line}" for line in lines]


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
