"""Scoring new videos (or feature files) with a checkpoint, and where its attention went.

A video is turned into features in memory with the recipe's ``extract:`` section (the same
pipeline ``tools/extract_features.py`` runs), cut the way the recipe evaluates (centred windows or
the whole video) and scored. ``plot_attention`` draws each stream's instance weights over time.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from registry import build_model, load_checkpoint, load_state

from ..data.annotations import VIDEO_SUFFIXES
from ..data.features import Windowing, load_feature
from .runlog import write_atomic


@dataclass
class VideoScore:
    name: str
    score: float  # in the annotation's units (the model's output times data.score_scale)
    weights: dict[str, list[float] | None] = field(default_factory=dict)
    seconds_per_instance: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "score": self.score, "weights": self.weights}


def instance_seconds(extract: Mapping[str, Any] | None) -> dict[str, float | None]:
    """Seconds between consecutive instances of each input, from its sampler (None when unknown)."""
    out: dict[str, float | None] = {}
    for key, entry in ((extract or {}).get("inputs") or {}).items():
        s = dict(entry.get("sampler") or {})
        fps = s.get("fps")
        if s.get("type") == "clips" and fps:
            out[key] = (s.get("stride") or s.get("length", 16)) / fps
        elif s.get("type") == "frames" and fps:
            out[key] = 1.0 / fps
        else:
            out[key] = None
    return out


class Predictor:
    """A checkpoint ready to score videos or features."""

    def __init__(self, checkpoint: str | Path, device: str = "cpu") -> None:
        ckpt = load_checkpoint(checkpoint)
        self.recipe = ckpt["recipe"]
        self.model = build_model(self.recipe)
        load_state(self.model, ckpt["model"], source=str(checkpoint))
        self.model.eval().to(device)
        self.device = torch.device(device)
        data = self.recipe.get("data", {})
        self.scale = float(data.get("score_scale", 1.0))
        self.windowing = Windowing(dict(data.get("window") or {}), bool(data.get("pad_mask", True)))
        self.folders = {k: (data.get("features") or {}).get(k, k) for k in self.model.inputs}
        self.seconds = instance_seconds(self.recipe.get("extract"))
        self._extractor: Any = None

    def features_of_video(self, path: Path) -> dict[str, np.ndarray]:
        if not self.recipe.get("extract"):
            raise ValueError(
                f"cannot score {path}: the checkpoint's recipe has no extract: section saying how its features "
                "were made; extract them yourself and pass --feature-root"
            )
        from ..data.extract import Extractor

        if self._extractor is None:
            self._extractor = Extractor(self.recipe["extract"], str(self.device))
        feats = self._extractor.video(path)
        return {k: feats[k] for k in self.model.inputs}

    def features_of_files(self, name: str, root: Path | None) -> dict[str, np.ndarray]:
        path = Path(name)
        if path.suffix == ".npy":
            if len(self.model.inputs) != 1:
                raise ValueError(
                    f"{path}: one .npy file feeds a one-input model; this one reads {sorted(self.model.inputs)}. "
                    "Use --feature-root DIR with DIR/<input>/<name>.npy"
                )
            (key,) = self.model.inputs
            return {key: load_feature(path, self.model.inputs[key])}
        if root is None:
            raise ValueError(f"{name!r} is neither a video ({', '.join(VIDEO_SUFFIXES)}) nor a .npy file")
        return {k: load_feature(root / self.folders[k] / f"{name}.npy", w) for k, w in self.model.inputs.items()}

    @torch.no_grad()
    def score(self, name: str, feats: Mapping[str, np.ndarray]) -> VideoScore:
        batch: dict[str, torch.Tensor] = {}
        for key in self.model.inputs:
            x, mask = self.windowing.cut([feats[key]], key, train=False, generator=None)
            batch[key], batch[f"{key}_mask"] = x.to(self.device), mask.to(self.device)
        out = self.model(batch)
        weights: dict[str, list[float] | None] = {}
        for stream, w in out["weights"].items():
            key = self.model.streams[stream].input
            if w is None:
                weights[stream] = None
                continue
            w = w[0].float().mean(0) if w.dim() == 3 else w[0].float()
            weights[stream] = w[batch[f"{key}_mask"][0]].tolist()
        seconds = {s: self.seconds.get(self.model.streams[s].input) for s in out["weights"]}
        return VideoScore(Path(name).stem, float(out["score"][0]) * self.scale, weights, seconds)

    def __call__(self, item: str, feature_root: Path | None = None) -> VideoScore:
        path = Path(item)
        feats = (
            self.features_of_video(path)
            if path.suffix.lower() in VIDEO_SUFFIXES
            else self.features_of_files(item, feature_root)
        )
        return self.score(item, feats)


def plot_attention(result: VideoScore, path: str | Path) -> Path:
    """A PNG timeline per stream: the weight of each instance over the video's time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    streams = [s for s, w in result.weights.items() if w]
    fig, axes = plt.subplots(max(len(streams), 1), 1, figsize=(10, 1.9 * max(len(streams), 1) + 0.6), squeeze=False)
    for ax, stream in zip(axes[:, 0], streams):
        w = np.asarray(result.weights[stream])
        step = result.seconds_per_instance.get(stream)
        t = np.arange(len(w)) * step if step else np.arange(len(w))
        ax.bar(t, w, width=(step or 1) * 0.9, align="edge", color="tab:orange" if stream == "static" else "tab:blue")
        ax.set_ylabel(f"{stream}\nweight")
        ax.set_xlim(0, (len(w)) * (step or 1))
        ax.set_xlabel("seconds" if step else "instance")
    if not streams:
        axes[0, 0].text(0.5, 0.5, "this model has no instance weights (e.g. mean pooling)", ha="center")
    fig.suptitle(f"{result.name}: predicted score {result.score:.2f} — where the model looked")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buf.getvalue())
    return path


def predict(
    checkpoint: str | Path,
    items: Sequence[str],
    feature_root: str | Path | None = None,
    plot_dir: str | Path | None = None,
    device: str = "cpu",
) -> list[VideoScore]:
    """Score every item (video file, .npy, or name under ``feature_root``); optional attention PNGs."""
    predictor = Predictor(checkpoint, device)
    root = Path(feature_root) if feature_root else None
    results = []
    for item in items:
        result = predictor(item, root)
        if plot_dir is not None:
            plot_attention(result, Path(plot_dir) / f"{result.name}_attention.png")
        results.append(result)
    return results
