"""From video files to per-instance features: decode -> sample -> crop -> transform -> backbone.

One background thread per input decodes, samples, crops and transforms (PyAV, OpenCV, numpy and
torch release the GIL) into its own bounded queue of ready batches, while the calling thread runs
the backbones; so decoding overlaps the backbones, and at most ``prefetch`` batches per input wait
in memory however long the video is. The threads run ahead across videos, so the backbones never
wait at a video's start either.

Each input decodes the video in its own pass: simpler than sharing one decode between samplers
that ask for different frame rates (clips at 5 fps, key frames with context at 10 fps), and the
passes run in parallel (on a GPU, decoding is what bounds the speed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from registry import ConfigError, RegistryError
from ...kinds import BACKBONES, CROPPERS, SAMPLERS

from ..transforms import transform_for
from ..video import Frame, VideoReader
from .config import resolve_config

if TYPE_CHECKING:
    from zoo.backbones.base import Backbone, InputSpec

    from ..croppers import Cropper

PREFETCH = 3  # batches waiting per input: enough to ride out a slow decode, little memory


class ExtractError(RuntimeError):
    """A video that could not be turned into features, or a backbone that failed; the message names the video."""


@dataclass
class InputPipeline:
    """One model input: how its instances are sampled, cropped and transformed, and its backbone."""

    name: str
    sampler: Any
    cropper: Cropper | None
    backbone: Backbone
    spec: InputSpec  # the backbone's input spec with the recipe's size override applied
    transform: Callable[[np.ndarray], Tensor]

    def prepare(self, frames: np.ndarray) -> Tensor:
        """One instance's frames uint8 [T, H, W, 3] (key frame last) -> the backbone's input for it."""
        if self.cropper is not None:
            return self.transform(self.cropper(frames))
        if self.spec.kind == "image":
            return self.transform(frames[-1])
        return self.transform(frames)

    def batches(self, path: Path, batch_size: int, stats: dict[str, Any]) -> Iterator[Tensor]:
        """Batches of ready inputs from one video, streamed; fills ``stats`` (frames, instances, crops)."""
        before = dict(self.cropper.stats) if self.cropper is not None else None
        if self.cropper is not None:
            self.cropper.start_video()
        with VideoReader(path) as reader:
            frames = _counted(reader.iter_frames(self.sampler.fps), stats)
            pending: list[Tensor] = []
            for instance in self.sampler(frames, reader.num_frames):
                pending.append(self.prepare(instance.frames))
                stats["instances"] += 1
                if len(pending) == batch_size:
                    yield torch.stack(pending)
                    pending = []
            if pending:
                yield torch.stack(pending)
            if not stats["instances"]:
                raise ExtractError(
                    f"{path}: input {self.name!r} got no instances from {self.sampler!r}: the video holds "
                    f"{stats['frames']} frames ({reader.duration:.2f} s at {reader.fps:g} fps), less than one "
                    "instance (a clip sampler can pad a short video with pad_last: true)"
                )
        if before is not None:
            assert self.cropper is not None
            stats["crops"] = {k: v - before[k] for k, v in self.cropper.stats.items()}

    def describe(self) -> dict[str, Any]:
        """What the manifest records about this input."""
        return {
            "backbone": self.backbone.name,
            "feature_dim": self.backbone.feature_dim,
            "input_spec": self.spec.to_dict(),
            "sampler": repr(self.sampler),
            "cropper": None if self.cropper is None else self.cropper.name,
        }


def _counted(frames: Iterator[Frame], stats: dict[str, Any]) -> Iterator[Frame]:
    """Pass frames through; ``stats['frames']``: source frames decoded up to the last one read."""
    for frame in frames:
        stats["frames"] = frame.index + 1
        yield frame


def build_input(name: str, entry: Mapping[str, Any], seed: int, device: torch.device) -> InputPipeline:
    """One input's pipeline from its resolved recipe entry; the backbone's weights are drawn from ``seed``."""
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
    return InputPipeline(name, sampler, cropper, backbone.to(device), spec, transform_for(spec))


def _build(registry: Any, cfg: Mapping[str, Any] | None, where: str) -> Any:
    try:
        return registry.build(cfg)
    except (ConfigError, RegistryError, ValueError, TypeError) as e:
        raise ConfigError(f"{where}: {e}") from e


@dataclass
class VideoResult:
    """One video through every input: its features, or the reason it failed."""

    path: Path
    features: dict[str, np.ndarray] = field(default_factory=dict)
    error: str | None = None
    frames: dict[str, int] = field(default_factory=dict)  # source frames decoded, per input's pass
    crops: dict[str, dict[str, int]] = field(default_factory=dict)  # cropper frames / fallbacks
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def instances(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.features.items()}


class Extractor:
    """Every input's pipeline, built once from an ``extract`` section; turns videos into features.

    >>> extractor = Extractor(recipe["extract"], device="cpu")       # doctest: +SKIP
    >>> extractor.video("Ball_001.mp4")["dynamic"].shape               # doctest: +SKIP
    (28, 2048)
    """

    def __init__(
        self, extract_cfg: Mapping[str, Any], device: str | torch.device = "cpu", prefetch: int = PREFETCH, workers: int | None = None
    ):
        self.config = resolve_config(extract_cfg)
        self.device = torch.device(device)
        self.batch_size = self.config["batch_size"]
        self.prefetch = max(1, int(prefetch))
        self.inputs = {
            name: build_input(name, entry, self.config["seed"], self.device)
            for name, entry in self.config["inputs"].items()
        }

    def describe(self) -> dict[str, dict[str, Any]]:
        return {name: inp.describe() for name, inp in self.inputs.items()}

    def video(self, path: str | Path) -> dict[str, np.ndarray]:
        """One video's features ``{input: float32 [n_instances, feature_dim]}``, in memory."""
        results = self.stream([Path(path)])
        try:
            result = next(results)
        finally:
            results.close()  # joins the decoding threads now, not whenever the generator is collected
        if result.error is not None:
            raise ExtractError(result.error)
        return result.features

    def stream(self, videos: Sequence[Path]) -> Iterator[VideoResult]:
        """A ``VideoResult`` per video, in order; a video that cannot be read is a result with ``error``.

        A backbone that fails raises an ``ExtractError`` naming the video (it would fail on every one).
        """
        videos = [Path(v) for v in videos]
        stop = threading.Event()
        queues: dict[str, queue.Queue[tuple[str, int, Any]]] = {n: queue.Queue(self.prefetch) for n in self.inputs}
        # Reading the count first also fixes this thread's own OpenMP team size before the producers
        # lower the global default (a thread takes the default at its first parallel op).
        threads = torch.get_num_threads()
        producers = [
            threading.Thread(
                target=self._produce,
                args=(inp, videos, queues[name], stop, threads),
                name=f"extract-{name}",
                daemon=True,  # an interrupted caller must not wait for them
            )
            for name, inp in self.inputs.items()
        ]
        for producer in producers:
            producer.start()
        try:
            started = time.perf_counter()
            for index, path in enumerate(videos):
                result = VideoResult(path)
                for name in self.inputs:
                    parts: list[np.ndarray] = []
                    while True:
                        kind, at, payload = queues[name].get()
                        if kind == "fatal":
                            raise payload
                        assert at == index, f"input {name!r} sent video {at} while video {index} was due"
                        if kind == "batch":
                            if result.error is None:  # a failed video's other batches are dropped
                                parts.append(self._forward(name, payload, path))
                        else:  # "done" or "failed": this input is through with this video
                            break
                    if kind == "failed":
                        result.error = result.error or payload
                    elif result.error is None:
                        result.features[name] = np.concatenate(parts)
                        result.frames[name] = payload["frames"]
                        if "crops" in payload:
                            result.crops[name] = payload["crops"]
                if result.error is not None:
                    result.features, result.frames, result.crops = {}, {}, {}
                now = time.perf_counter()
                result.seconds, started = now - started, now
                yield result
        finally:
            stop.set()
            while any(p.is_alive() for p in producers):  # unblock producers waiting on a full queue
                for ready in queues.values():
                    with contextlib.suppress(queue.Empty):
                        ready.get_nowait()
                time.sleep(0.01)
            for producer in producers:
                producer.join()

    def _forward(self, name: str, batch: Tensor, path: Path | None) -> np.ndarray:
        backbone = self.inputs[name].backbone
        try:
            with torch.inference_mode():
                out = backbone(batch.to(self.device, non_blocking=True))
        except Exception as e:
            raise ExtractError(
                f"{path}: backbone {backbone.name} of input {name!r} failed on a batch of shape {list(batch.shape)}: "
                f"{type(e).__name__}: {e}"
            ) from e
        return out.float().cpu().numpy()

    def _produce(
        self, inp: InputPipeline, videos: list[Path], ready: queue.Queue, stop: threading.Event, threads: int
    ) -> None:
        """One input's thread: its batches of every video, each video closed by "done" or "failed".

        Its torch ops (resizing) run on one thread: a second OpenMP team beside the backbone's
        oversubscribes the cores, and on a busy 2-core machine made extraction 3-30x slower.
        """
        torch.set_num_threads(1)  # this thread's team; also the default for threads started meanwhile
        try:
            self._produce_input(inp, videos, ready, stop)
        finally:
            torch.set_num_threads(threads)  # give the default back (this thread ends here)

    def _produce_input(self, inp: InputPipeline, videos: list[Path], ready: queue.Queue, stop: threading.Event) -> None:
        pin = self.device.type == "cuda"  # pinned memory lets the copy to the GPU run asynchronously

        def put(item: tuple[str, int, Any]) -> bool:
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for index, path in enumerate(videos):
                stats: dict[str, Any] = {"frames": 0, "instances": 0}
                try:
                    for batch in inp.batches(path, self.batch_size, stats):
                        if not put(("batch", index, batch.pin_memory() if pin else batch)):
                            return
                except Exception as e:  # this video fails; the next one may be fine
                    message = str(e) if str(path) in str(e) else f"{path}: {type(e).__name__}: {e}"
                    if not put(("failed", index, message)):
                        return
                    continue
                if not put(("done", index, stats)):
                    return
        except BaseException as e:  # anything else reaches the caller's thread
            put(("fatal", -1, e))


def extract_video(
    extract_cfg: Mapping[str, Any] | Extractor, video: str | Path, device: str = "cpu"
) -> dict[str, np.ndarray]:
    """One video's features in memory, ``{input: float32 [n_instances, feature_dim]}`` (no files written).

    Pass an ``Extractor`` to reuse its backbones across videos; a mapping builds one (seeded).
    """
    extractor = extract_cfg if isinstance(extract_cfg, Extractor) else Extractor(extract_cfg, device)
    return extractor.video(video)
