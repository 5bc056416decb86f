"""Scoring new videos (or feature files) with a checkpoint, and where its attention went.

A video is turned into features in memory with the recipe's ``extract:`` section (the same
pipeline ``tools/extract_features.py`` runs), cut the way training evaluated (the checkpoint's
``scoring``: windows, score scale) and scored. Every item is scored on its own: a bad video is
listed as failed and the others are still scored. ``plot_attention`` (``timeline.py``) draws
each stream's instance weights over time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from registry import ConfigError, UserError, build_model, load_checkpoint, load_state

from ..data.features import Scoring, load_feature
from ..data.video import VIDEO_SUFFIXES
from .evaluate import check_finite
from .run import checkpoint_scoring


@dataclass
class VideoScore:
    name: str
    score: float  # in the annotation's units (the model's output times the training score scale)
    weights: dict[str, list[float] | None] = field(default_factory=dict)
    seconds_per_instance: dict[str, float | None] = field(default_factory=dict)
    source: str = ""  # the video or feature file scored
    judged: float | None = None  # the judged score, where the caller knows it

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "score": self.score, "weights": self.weights, "source": self.source}
        if self.judged is not None:
            out["judged"] = self.judged
        return out


@dataclass
class Prediction:
    """What ``predict`` did: every item scored, and every item that failed with the reason."""

    scores: list[VideoScore] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)


class Predictor:
    """A checkpoint ready to score videos or features, exactly as its training evaluated them."""

    def __init__(self, checkpoint: str | Path, device: str = "cpu", trust_imports: bool = False) -> None:
        ckpt = load_checkpoint(checkpoint)
        if not isinstance(ckpt.get("recipe"), Mapping) or "model" not in ckpt:
            raise ConfigError(f"checkpoint {str(checkpoint)!r} has no recipe/model inside (keys: {sorted(ckpt)})")
        self.recipe = ckpt["recipe"]
        self.model = build_model(self.recipe, trust_imports or [], source=f"checkpoint {str(checkpoint)!r}")
        load_state(self.model, ckpt["model"], source=str(checkpoint))
        self.model.eval().to(device)
        self.device = torch.device(device)
        self.scoring: Scoring = checkpoint_scoring(ckpt, self.recipe)
        self.windowing = self.scoring.windowing
        data = self.recipe.get("data") or {}
        self.folders = {k: (data.get("features") or {}).get(k, k) for k in self.model.inputs}
        self._extractor: Any = None

    @property
    def seconds(self) -> dict[str, float | None]:
        """Seconds per instance of each stream (from the sampler of the input it reads)."""
        return {s: self.scoring.instance_seconds.get(i) for s, i in self.model.stream_inputs().items()}

    def features_of_video(self, path: Path) -> dict[str, np.ndarray]:
        if not self.recipe.get("extract"):
            raise ConfigError(
                f"cannot score {path}: the checkpoint's recipe has no extract: section saying how its features "
                "were made; extract them yourself and pass --feature-root"
            )
        from ..data.extract import Extractor

        if self._extractor is None:
            self._extractor = Extractor(self.recipe["extract"], str(self.device), workers=0)
        feats = self._extractor.video(path)
        return {k: feats[k] for k in self.model.inputs}

    def features_of_files(self, name: str, root: Path | None) -> dict[str, np.ndarray]:
        path = Path(name)
        if path.suffix == ".npy":
            if len(self.model.inputs) != 1:
                raise ConfigError(
                    f"{path}: one .npy file feeds a one-input model; this one reads {sorted(self.model.inputs)}. "
                    "Use --feature-root DIR with DIR/<input>/<name>.npy"
                )
            (key,) = self.model.inputs
            return {key: load_feature(path, self.model.inputs[key])}
        if root is None:
            raise ConfigError(f"{name!r} is neither a video ({', '.join(VIDEO_SUFFIXES)}) nor a .npy file")
        return {k: load_feature(root / self.folders[k] / f"{name}.npy", w) for k, w in self.model.inputs.items()}

    @torch.no_grad()
    def score(self, name: str, feats: Mapping[str, np.ndarray]) -> VideoScore:
        batch: dict[str, torch.Tensor] = {}
        for key in self.model.inputs:
            x, mask = self.windowing.cut([feats[key]], key, train=False, generator=None)
            batch[key], batch[f"{key}_mask"] = x.to(self.device), mask.to(self.device)
        out = self.model(batch)
        stem = Path(name).stem
        check_finite(out, [stem])
        weights = {s: rows[0] for s, rows in self.model.instance_weights(out, batch).items()}
        return VideoScore(stem, float(out["score"][0]) * self.scoring.score_scale, weights, self.seconds, str(name))

    def __call__(self, item: str, feature_root: Path | None = None) -> VideoScore:
        path = Path(item)
        is_video = path.suffix.lower() in VIDEO_SUFFIXES
        feats = self.features_of_video(path) if is_video else self.features_of_files(item, feature_root)
        return self.score(item, feats)


def predict(
    checkpoint: str | Path,
    items: Sequence[str],
    feature_root: str | Path | None = None,
    plot_dir: str | Path | None = None,
    device: str = "cpu",
    trust_imports: bool = False,
    judged: Mapping[str, float] | None = None,
) -> Prediction:
    """Score every item (video file, .npy, or name under ``feature_root``); optional attention PNGs.

    An item that cannot be scored (a missing, empty, truncated or foreign file) goes to
    ``failed`` with its reason; the other items are scored all the same.
    """
    from .timeline import plot_attention

    predictor = Predictor(checkpoint, device, trust_imports)
    root = Path(feature_root) if feature_root else None
    done = Prediction()
    for item in items:
        try:
            result = predictor(item, root)
        except UserError as e:
            done.failed[item] = str(e)
            continue
        result.judged = (judged or {}).get(result.name)
        if plot_dir is not None:
            done.plots[result.name] = plot_attention(result, Path(plot_dir) / f"{result.name}_attention.png")
        done.scores.append(result)
    return done


def judged_near(items: Sequence[str]) -> dict[str, float]:
    """Judged scores of videos whose folder sits beside RG-format annotation files (``<set>/videos`` and
    ``<set>/annotations/*.txt``, as the synthetic set and extraction layouts keep them); empty otherwise."""
    from ..data.annotations import AnnotationError, read_rg

    found: dict[str, float] = {}
    for folder in {Path(i).resolve().parent for i in items if Path(i).suffix.lower() in VIDEO_SUFFIXES}:
        for txt in sorted((folder.parent / "annotations").glob("*.txt")):
            try:
                found.update({a.name: a.score for a in read_rg(txt)})
            except (AnnotationError, OSError):
                continue  # not RG annotations: no judged scores, which is fine
    return found
