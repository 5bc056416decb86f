"""From video files to per-instance features: decode once -> sample -> crop -> resize -> backbone.

``Extractor`` builds every input's plan (sampler, cropper, transform) and backbone from a resolved
``extract`` section. ``stream(videos)`` prepares the videos (``prepare.py``: one decode per video,
fanned out to every input) in worker processes (``loader.py``) and runs the backbones here, on
the device: each uint8 batch is copied (asynchronously from pinned memory on a GPU), normalised
and passed through its input's backbone, under autocast when ``extract.amp`` says so. Results come
back in the order of the videos, one ``VideoResult`` each, with the reason when a video failed.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from registry import ConfigError, RegistryError

from ...amp import autocast_dtype
from ...kinds import AUDIO_BACKBONES, BACKBONES, CROPPERS, DECODERS, SAMPLERS
from ..transforms import transform_for
from .config import EXTRACTOR_VERSION, resolve_config
from .loader import VideoStream, auto_workers, messages
from .prepare import Batch, ExtractError, Plan, VideoDone, VideoFailed

if TYPE_CHECKING:
    from zoo.backbones.audio import AudioBackbone, AudioSpec
    from zoo.backbones.base import Backbone, InputSpec


__all__ = ["ExtractError", "Extractor", "InputPipeline", "VideoResult", "extract_video"]


@dataclass
class InputPipeline:
    """One model input: its plan (how instances are made) and its backbone (what features they give)."""

    plan: Plan
    backbone: Backbone | AudioBackbone
    spec: InputSpec | AudioSpec  # the backbone's input spec with the recipe's size override applied
    channels_last: bool = False  # the backbone and its inputs in channels-last memory order

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def cropper(self) -> Any:
        return self.plan.cropper

    @property
    def sampler(self) -> Any:
        return self.plan.sampler

    def describe(self) -> dict[str, Any]:
        """What the manifest records about this input."""
        from ...backbones.flow import FlowBackbone

        # Audio and flow inputs say so; an RGB input's description is as it was before they existed.
        extra: dict[str, Any] = {"modality": "audio"} if self.plan.kind == "audio" else {}
        if isinstance(self.backbone, FlowBackbone):
            extra = {"modality": "flow", "flow": self.backbone.settings.to_dict()}
        return {
            **extra,
            "backbone": self.backbone.name,
            "feature_dim": self.backbone.feature_dim,
            "input_spec": self.spec.to_dict(),
            "sampler": repr(self.plan.sampler),
            "instance_seconds": self.plan.sampler.seconds_per_instance,
            "cropper": None if self.plan.cropper is None else self.plan.cropper.name,
        }


def memory_format(kind: str) -> torch.memory_format:
    """Channels-last order for a backbone's inputs: oneDNN's and cuDNN's fast convolution layout."""
    return torch.channels_last_3d if kind == "video" else torch.channels_last


def build_input(
    name: str, entry: Mapping[str, Any], seed: int, device: torch.device, channels_last: bool = False
) -> InputPipeline:
    """One input's pipeline from its resolved recipe entry; the backbone's weights are drawn from ``seed``."""
    modality = entry.get("modality", "rgb")
    if modality != "rgb":
        return _build_other(name, entry, seed, device, channels_last)
    where = f"extract.inputs.{name}"
    sampler = _build(SAMPLERS, entry["sampler"], f"{where}.sampler")
    cropper = _build(CROPPERS, entry["cropper"], f"{where}.cropper")
    # The same seed before every backbone: an input's random weights do not depend on the others.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        backbone = _build(BACKBONES, entry["backbone"], f"{where}.backbone")
    spec = backbone.input_spec
    if entry["size"] is not None:
        spec = dataclasses.replace(spec, size=tuple(entry["size"]))
    if cropper is not None and spec.kind == "video":
        raise ConfigError(
            f"{where}: a cropper crops one key frame for an image backbone, but {backbone.name} is a video "
            "backbone that takes whole clips; remove the cropper or pick a timm: backbone"
        )
    backbone.requires_grad_(False)
    backbone.eval()
    plan = Plan(name, spec.kind, sampler, cropper, transform_for(spec))
    backbone = backbone.to(device)
    if channels_last:
        backbone = backbone.to(memory_format=memory_format(spec.kind))
    return InputPipeline(plan, backbone, spec, channels_last)


def _build_other(
    name: str, entry: Mapping[str, Any], seed: int, device: torch.device, channels_last: bool
) -> InputPipeline:
    """An audio or flow input: clips from its sampler, made into log-mel or RAFT flow before its backbone."""
    from ...backbones.flow import FlowBackbone, FlowSettings
    from ..samplers import ClipSampler
    from .audio import AudioFrontEnd

    where = f"extract.inputs.{name}"
    modality = entry["modality"]
    sampler = _build(SAMPLERS, entry["sampler"], f"{where}.sampler")
    if not isinstance(sampler, ClipSampler):
        raise ConfigError(
            f"{where}: a {modality} input covers the seconds of clips, so it needs a clips sampler "
            f"(the same as the RGB input it goes with), got {sampler!r}"
        )
    with torch.random.fork_rng(devices=[]):  # seeded as every backbone: random weights repeat
        torch.manual_seed(seed)
        if modality == "audio":
            backbone = _build(AUDIO_BACKBONES, entry["backbone"], f"{where}.backbone")
        else:
            video_cfg = {"in_channels": 2, **entry["backbone"]}
            video = _build(BACKBONES, video_cfg, f"{where}.backbone")
            try:
                backbone = FlowBackbone(FlowSettings.parse(entry["flow"], f"{where}.flow"), video)
            except ConfigError as e:
                raise ConfigError(f"{where}: {e}") from e
    backbone.requires_grad_(False)
    backbone.eval()
    spec = backbone.input_spec
    if modality == "audio":
        plan = Plan(name, "audio", sampler, None, AudioFrontEnd(spec), track=entry["audio"]["track"])
        return InputPipeline(plan, backbone.to(device), spec, channels_last=False)
    plan = Plan(name, "video", sampler, None, transform_for(spec))
    backbone = backbone.to(device)
    if channels_last:
        backbone.to_channels_last()
    return InputPipeline(plan, backbone, spec, channels_last)


def _build(registry: Any, cfg: Mapping[str, Any] | None, where: str) -> Any:
    try:
        return registry.build(cfg)
    except (ConfigError, RegistryError) as e:
        raise ConfigError(f"{where}: {e}") from e


@dataclass
class VideoResult:
    """One video through every input: its features, or the reason it failed."""

    path: Path
    features: dict[str, np.ndarray] = field(default_factory=dict)
    error: str | None = None
    frames: int = 0  # source frames decoded (once, for every input)
    crops: dict[str, dict[str, int]] = field(default_factory=dict)  # cropper frames / fallbacks / kept
    seconds: float = 0.0
    source: dict[str, Any] = field(default_factory=dict)  # what the decoder learnt of the file (VideoDone.source)
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def instances(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.features.items()}


@dataclass
class _Assembly:
    """A video whose batches are arriving: features so far, until its ``VideoDone`` or ``VideoFailed``."""

    path: Path
    started: float
    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)
    result: VideoResult | None = None


class Extractor:
    """Every input's pipeline, built once from an ``extract`` section; turns videos into features.

    ``workers`` (default: the section's ``workers``) processes decode and prepare; 0 does it in this
    process. ``device`` runs the backbones.

    >>> extractor = Extractor(recipe["extract"], device="cpu")       # doctest: +SKIP
    >>> extractor.video("Ball_001.mp4")["dynamic"].shape               # doctest: +SKIP
    (28, 2048)
    """

    def __init__(
        self, extract_cfg: Mapping[str, Any], device: str | torch.device = "cpu", workers: int | str | None = None
    ) -> None:
        self.config = resolve_config(extract_cfg)
        self.device = torch.device(device)
        self.batch_size, self.prefetch = self.config["batch_size"], self.config["prefetch"]
        self.workers = self.config["workers"] if workers is None else workers
        self.amp = autocast_dtype(self.config["amp"])
        if self.amp is torch.float16 and self.device.type != "cuda":
            raise ConfigError("extract.amp=fp16 needs a CUDA device; on the CPU use bf16 or null")
        self.decoder = _build(DECODERS, self.config["decoder"], "extract.decoder")
        self.inputs = {
            name: build_input(name, entry, self.config["seed"], self.device, self.config["channels_last"])
            for name, entry in self.config["inputs"].items()
        }

    def describe(self) -> dict[str, dict[str, Any]]:
        return {name: inp.describe() for name, inp in self.inputs.items()}

    @property
    def version(self) -> int:
        return EXTRACTOR_VERSION

    def video(self, path: str | Path) -> dict[str, np.ndarray]:
        """One video's features ``{input: float32 [n_instances, feature_dim]}``, in memory."""
        (result,) = self.stream([Path(path)])
        if result.error is not None:
            raise ExtractError(result.error)
        return result.features

    def stream(self, videos: Sequence[Path]) -> Iterator[VideoResult]:
        """A ``VideoResult`` per video, in order; a video that cannot be read is a result with ``error``.

        A backbone that fails raises an ``ExtractError`` naming the video (it would fail on every one).
        """
        videos = [Path(v) for v in videos]
        gpu = self.device.type == "cuda"
        workers = auto_workers(len(videos), gpu) if self.workers == "auto" else int(self.workers)
        plans = [inp.plan for inp in self.inputs.values()]
        stream = VideoStream(videos, plans, self.decoder, self.batch_size, self.config["max_missing_frames"])
        arriving: dict[int, _Assembly] = {}
        due = 0
        for message in messages(stream, workers, self.prefetch, pin_memory=self.device.type == "cuda"):
            job = arriving.setdefault(message.video, _Assembly(videos[message.video], time.perf_counter()))
            self._take(job, message)
            while due in arriving and arriving[due].result is not None:  # in order: finished videos wait
                yield arriving.pop(due).result  # type: ignore[misc]
                due += 1

    def _take(self, job: _Assembly, message: Batch | VideoDone | VideoFailed) -> None:
        if isinstance(message, Batch):
            if job.result is None:
                job.parts.setdefault(message.input, []).append(self._forward(message, job.path))
            return
        result = VideoResult(job.path, seconds=time.perf_counter() - job.started)
        if isinstance(message, VideoFailed):
            result.error = message.error
        else:
            result.features = {n: np.concatenate(job.parts[n]) for n in self.inputs}
            result.frames, result.crops = message.frames, message.crops
            result.source, result.warnings = message.source, message.warnings
        job.parts.clear()
        job.result = result

    def _forward(self, batch: Batch, path: Path) -> np.ndarray:
        inp = self.inputs[batch.input]
        try:
            with torch.inference_mode():
                x = inp.plan.transform.normalize(batch.frames.to(self.device, non_blocking=True))
                if inp.channels_last:
                    x = x.contiguous(memory_format=memory_format(inp.plan.kind))
                with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
                    out = inp.backbone(x)
        except Exception as e:
            raise ExtractError(
                f"{path}: backbone {inp.backbone.name} of input {batch.input!r} failed on a batch of shape "
                f"{list(batch.frames.shape)}: {type(e).__name__}: {e}"
            ) from e
        return out.float().cpu().numpy()


def extract_video(
    extract_cfg: Mapping[str, Any] | Extractor, video: str | Path, device: str = "cpu"
) -> dict[str, np.ndarray]:
    """One video's features in memory, ``{input: float32 [n_instances, feature_dim]}`` (no files written).

    Pass an ``Extractor`` to reuse its backbones across videos; a mapping builds one (seeded).
    """
    extractor = extract_cfg if isinstance(extract_cfg, Extractor) else Extractor(extract_cfg, device, workers=0)
    return extractor.video(video)
