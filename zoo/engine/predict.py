"""Scoring new videos (or feature files) with a checkpoint, and where its attention went.

A video is turned into features in memory by the extraction that made the checkpoint's training
features (the ``made_by`` its provenance records: the same pipeline ``tools/extract_features.py``
runs), cut the way training evaluated (the checkpoint's ``scoring``: windows, score scale,
autocast) and scored. Feature files given instead must come from that extraction too: a folder
whose manifest says another section, a file its manifest does not vouch for, or features far
outside the training features' range are refused with the reason (``--accept-mismatch`` scores
them anyway, and the result says so). Every item is scored on its own: a bad video is listed as
failed and the others are still scored. ``plot_attention`` (``timeline.py``) draws each stream's
instance weights over time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from registry import ConfigError, UserError, build_model, load_checkpoint, load_state
from registry.provenance import ACCEPT_FLAG

from ..amp import autocast_dtype
from ..data.features import Scoring, check_plausible, read_feature
from ..data.video import VIDEO_SUFFIXES
from .evaluate import check_finite
from .provenance import check_made_by
from .run import checkpoint_scoring
from .scores import VideoScore


@dataclass
class Prediction:
    """What ``predict`` did: every item scored, and every item that failed with the reason."""

    scores: list[VideoScore] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what holds for every item (e.g. an accepted extraction)


class Predictor:
    """A checkpoint ready to score videos or features, exactly as its training evaluated them."""

    def __init__(
        self, checkpoint: str | Path, device: str = "cpu", trust_imports: bool = False, accept_mismatch: bool = False
    ) -> None:
        ckpt = load_checkpoint(checkpoint)
        if not isinstance(ckpt.get("recipe"), Mapping) or "model" not in ckpt:
            raise ConfigError(f"checkpoint {str(checkpoint)!r} has no recipe/model inside (keys: {sorted(ckpt)})")
        self.checkpoint = str(checkpoint)
        self.recipe = ckpt["recipe"]
        self.model = build_model(self.recipe, trust_imports or [], source=f"checkpoint {str(checkpoint)!r}")
        load_state(self.model, ckpt["model"], source=str(checkpoint))
        self.model.eval().to(device)
        self.device = torch.device(device)
        self.scoring: Scoring = checkpoint_scoring(ckpt, self.recipe)
        self.windowing = self.scoring.windowing
        self.accept = accept_mismatch
        provenance = ckpt.get("provenance") or {}
        trained = (provenance.get("data") or {}).get("inputs")
        # What made each input's training features; None: nothing records it (older checkpoints, foreign features).
        self.made_by: dict[str, dict[str, Any] | None] = {
            k: ((trained or {}).get(k) or {}).get("made_by") for k in self.model.inputs
        }
        self.input_stats = provenance.get("input_stats")
        data = self.recipe.get("data") or {}
        self.folders = {k: (data.get("features") or {}).get(k, k) for k in self.model.inputs}
        self._extractors: list[tuple[Any, list[str]]] | None = None
        self.notes: list[str] = []

    @property
    def seconds(self) -> dict[str, float | None]:
        """Seconds per instance of each stream (from the sampler of the input it reads)."""
        return {s: self.scoring.instance_seconds.get(i) for s, i in self.model.stream_inputs().items()}

    # -- features from a video: made as the training features were ------------------------------
    def extraction(self) -> list[tuple[dict[str, Any], list[str]]]:
        """The extract sections that make this model's inputs as its training features were made.

        One section per group of inputs that share seed, autocast and decoder (usually one). Inputs
        whose making nothing records are made by the recipe's ``extract:`` only with ``accept_mismatch``.
        """
        from ..data.extract.config import EXTRACTOR_VERSION

        unknown = [k for k, m in self.made_by.items() if m is None]
        if unknown:
            if not (self.accept and self.recipe.get("extract")):
                raise ConfigError(
                    f"cannot score a video with {self.checkpoint}: nothing records how the features of input(s) "
                    f"{unknown} it was trained on were made (no extraction record beside them, or a checkpoint from "
                    "before the zoo recorded it), so features made now could be of another kind. Extract features "
                    "the way the training ones were and pass --feature-root"
                    + (
                        f", or pass {ACCEPT_FLAG} to extract with the recipe's extract: section"
                        if self.recipe.get("extract")
                        else ""
                    )
                )
            self.notes.append(
                f"input(s) {unknown}: features made with the recipe's extract: section, which nothing shows made the "
                "training features (accepted)"
            )
        groups: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for key, made in self.made_by.items():
            if made is None:
                from ..data.extract.config import input_fingerprint, resolve_config

                made = input_fingerprint(resolve_config(self.recipe["extract"]), key)
            if made["extractor_version"] != EXTRACTOR_VERSION:
                raise ConfigError(
                    f"cannot score a video with {self.checkpoint}: its input {key!r} was trained on features of "
                    f"extractor version {made['extractor_version']}, and this code is version {EXTRACTOR_VERSION}, "
                    "which prepares frames differently. Extract with that version and pass --feature-root, or retrain"
                )
            shared = {"seed": made["seed"], "amp": made["amp"], "decoder": made["decoder"]}
            section, names = groups.setdefault(repr(sorted(shared.items())), ({**shared, "inputs": {}}, []))
            section["inputs"][key] = made["input"]
            names.append(key)
        return list(groups.values())

    def features_of_video(self, path: Path) -> dict[str, np.ndarray]:
        from ..data.extract import Extractor

        if self._extractors is None:
            self._extractors = [
                (Extractor(section, str(self.device), workers=0), names) for section, names in self.extraction()
            ]
        feats: dict[str, np.ndarray] = {}
        for extractor, _ in self._extractors:
            feats.update(extractor.video(path))
        return {k: feats[k] for k in self.model.inputs}

    # -- features from files: vouched for by their extraction, made as the training ones -----------
    def features_of_files(self, name: str, root: Path | None) -> tuple[dict[str, np.ndarray], list[str]]:
        path = Path(name)
        if path.suffix == ".npy":
            if len(self.model.inputs) != 1:
                raise ConfigError(
                    f"{path}: one .npy file feeds a one-input model; this one reads {sorted(self.model.inputs)}. "
                    "Use --feature-root DIR with DIR/<input>/<name>.npy"
                )
            (key,) = self.model.inputs
            files = {key: path}
        elif root is None:
            raise ConfigError(f"{name!r} is neither a video ({', '.join(VIDEO_SUFFIXES)}) nor a .npy file")
        else:
            files = {k: root / self.folders[k] / f"{name}.npy" for k in self.model.inputs}
        return self._read_files(files)

    def _read_files(self, files: Mapping[str, Path]) -> tuple[dict[str, np.ndarray], list[str]]:
        from ..data.extract.manifest import FolderRecords

        feats, accepted, made_by, folders = {}, [], {}, {}
        for key, path in files.items():
            feats[key], sha = read_feature(path, self.model.inputs[key])
            records = FolderRecords.read(path.parent.parent)
            made_by[key], folders[key] = records.made_by(path.parent.name), str(path.parent)
            if records.manifest is not None and (why := records.vouch(path.stem, path.parent.name, sha)) is not None:
                if not self.accept:
                    raise ConfigError(
                        f"{path} is not vouched for by {records.root / 'extract.json'}: {why}. Extract it again, or "
                        f"pass {ACCEPT_FLAG} to score it anyway"
                    )
                accepted.append(f"{path}: {why}")
        expected = {k: m for k, m in self.made_by.items() if k in files}
        more, unvouched = check_made_by(
            expected, made_by, folders, f"checkpoint {self.checkpoint}'s training features", self.accept
        )
        if unvouched and not self.accept:
            raise ConfigError(
                "\n".join(unvouched) + f"; the checkpoint's were made by a recorded extraction. Score files from such "
                f"an extraction, or pass {ACCEPT_FLAG}"
            )
        return feats, [*accepted, *more, *unvouched]

    # -- scoring --------------------------------------------------------------------------------
    @torch.no_grad()
    def score(self, name: str, feats: Mapping[str, np.ndarray], accepted: Sequence[str] = ()) -> VideoScore:
        stem = Path(name).stem
        found = check_plausible({k: [v] for k, v in feats.items()}, [stem], self.input_stats, f"{name!r}", self.accept)
        batch: dict[str, torch.Tensor] = {}
        for key in self.model.inputs:
            x, mask = self.windowing.cut([feats[key]], key, train=False, generator=None)
            batch[key], batch[f"{key}_mask"] = x.to(self.device), mask.to(self.device)
        amp = autocast_dtype(self.scoring.amp)
        with torch.autocast(self.device.type, dtype=amp, enabled=amp is not None):
            out = self.model(batch)
        check_finite(out, [stem])
        weights = {s: rows[0] for s, rows in self.model.instance_weights(out, batch).items()}
        score = float(out["score"][0].float()) * self.scoring.score_scale
        return VideoScore(
            stem, score, weights, self.seconds, str(name), target=self.scoring.target, accepted=[*accepted, *found]
        )

    def __call__(self, item: str, feature_root: Path | None = None) -> VideoScore:
        path = Path(item)
        if path.suffix.lower() in VIDEO_SUFFIXES:
            return self.score(item, self.features_of_video(path))
        feats, accepted = self.features_of_files(item, feature_root)
        return self.score(item, feats, accepted)


def predict(
    checkpoint: str | Path,
    items: Sequence[str],
    feature_root: str | Path | None = None,
    plot_dir: str | Path | None = None,
    device: str = "cpu",
    trust_imports: bool = False,
    judged: Mapping[str, float] | None = None,
    find_judged: bool = False,
    accept_mismatch: bool = False,
) -> Prediction:
    """Score every item (video file, .npy, or name under ``feature_root``); optional attention PNGs.

    An item that cannot be scored (a missing, empty, truncated or foreign file) goes to
    ``failed`` with its reason; the other items are scored all the same. ``judged`` gives judged
    scores by name; ``find_judged`` looks for them beside the videos (``judged_near``), in the
    column the checkpoint was trained on.
    """
    from .timeline import plot_attention

    predictor = Predictor(checkpoint, device, trust_imports, accept_mismatch)
    root = Path(feature_root) if feature_root else None
    if find_judged:
        judged = {**judged_near(items, predictor.scoring), **(judged or {})}
    if plot_dir is not None:
        from registry import make_folder

        make_folder(plot_dir, "write the attention timelines into")  # an unwritable folder fails before any work
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
    done.notes = list(predictor.notes)
    return done


def judged_near(items: Sequence[str], scoring: Scoring) -> dict[str, float]:
    """Judged scores of videos whose folder sits beside RG-format annotation files (``<set>/videos`` and
    ``<set>/annotations/*.txt``, as the synthetic set and extraction layouts keep them), in the column the
    model was trained on (``scoring.target``); empty when there are none or they hold no such column."""
    from ..data.annotations import RG_TARGETS, AnnotationError, read_rg

    target = scoring.target or "total"
    if (scoring.format or "rg") != "rg" or target not in RG_TARGETS:
        return {}  # no RG annotation file beside a video holds this model's kind of score
    found: dict[str, float] = {}
    for folder in {Path(i).resolve().parent for i in items if Path(i).suffix.lower() in VIDEO_SUFFIXES}:
        for txt in sorted((folder.parent / "annotations").glob("*.txt")):
            try:
                found.update({a.name: a.score for a in read_rg(txt, target=target)})
            except (AnnotationError, OSError):
                continue  # not RG annotations: no judged scores, which is fine
    return found
