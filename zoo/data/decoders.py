"""Decoders: a video file -> its frames, each decoded once, with their times (``extract.decoder``).

``pyav`` (the default) decodes on the CPU with FFmpeg through PyAV. ``torchcodec`` decodes with
TorchCodec, on the CPU or, with ``device: cuda``, on the GPU's NVDEC; it is used only when the
``torchcodec`` package is installed (``pip install torchcodec``, which needs FFmpeg's shared
libraries on the system) and is never a dependency of the zoo.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from registry import ConfigError

from ..kinds import DECODERS
from .video import MAX_MISSING, RateWatch, VideoError, VideoReader, check_complete, quarter_turns


class Video(Protocol):
    """An opened video: ``fps``, ``size`` (H, W as displayed), ``duration`` (s), ``num_frames``, ``frames()``.

    After a full pass of ``frames()``: ``decoded`` (frames), ``missing`` (the share of the promised
    frames that did not decode) and ``variable_rate``; ``facts()`` is what the manifest records.
    """

    path: Path
    fps: float
    size: tuple[int, int]
    duration: float
    num_frames: int
    rotation: float
    decoded: int | None
    missing: float | None
    variable_rate: bool

    def frames(self) -> Iterator[Any]: ...

    def facts(self) -> dict[str, Any]: ...


class Decoder(ABC):
    """The contract of a decoder: ``open(path, max_missing) -> Video``.

    ``open`` checks the file at once (missing, empty, not a video: a ``VideoError`` naming it).
    ``Video.frames()`` yields every frame once, in order, each with ``index``, ``time`` (seconds from
    the first frame) and ``rgb(size=None) -> uint8 [h, w, 3]`` (converted, and resized to ``(h, w)``
    when given, by the decoder), upright: a display rotation is applied. A decode error mid-file
    raises ``VideoError`` where it happens; a file cut short raises it at its end when more than
    ``max_missing`` of the frames it promises are missing. A decoder is pickled into the
    extraction's worker processes, so it holds settings, not open files. ``share_cores(n)`` tells it,
    in a worker process, how many cores it may use (a decoder with threads of its own takes them).
    """

    declares: ClassVar[tuple[str, ...]] = ("name",)  # checked when built
    name = "decoder"

    @abstractmethod
    def open(self, path: str | os.PathLike[str], max_missing: float = MAX_MISSING) -> Video: ...

    def share_cores(self, cores: int) -> None:  # noqa: B027  (optional: most decoders have no threads to size)
        """Use at most ``cores`` cores (default: the decoder has no threads to size)."""


DECODERS.contract = Decoder


@DECODERS.register("pyav")
class PyAVDecoder(Decoder):
    """FFmpeg through PyAV on the CPU; RGB conversion and resizing in FFmpeg's scaler."""

    name = "pyav"

    def __init__(self, threads: int = 0) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise ConfigError(f"decoder pyav: threads must be an integer >= 0 (0: FFmpeg chooses), got {threads!r}")
        self.threads = threads

    def open(self, path: str | os.PathLike[str], max_missing: float = MAX_MISSING) -> VideoReader:
        return VideoReader(path, threads=self.threads, max_missing=max_missing)

    def share_cores(self, cores: int) -> None:
        if self.threads == 0:  # FFmpeg would start a thread per core in every worker: one share each instead
            self.threads = max(1, cores)


@DECODERS.register("torchcodec")
class TorchCodecDecoder(Decoder):
    """TorchCodec (FFmpeg) on the CPU or NVDEC on a GPU (``device: cuda``); needs the torchcodec package."""

    name = "torchcodec"

    def __init__(self, device: str = "cpu", threads: int = 0, chunk: int = 32) -> None:
        self.device, self.threads, self.chunk = device, int(threads), int(chunk)
        import_torchcodec()  # fail at build time, with the reason, not at the first video

    def share_cores(self, cores: int) -> None:
        if self.threads == 0:
            self.threads = max(1, cores)

    def open(self, path: str | os.PathLike[str], max_missing: float = MAX_MISSING) -> TorchCodecVideo:
        return TorchCodecVideo(Path(path), self, max_missing)


def import_torchcodec() -> Any:
    try:
        from torchcodec import decoders
    except Exception as e:  # ImportError, or an OSError when FFmpeg's shared libraries are missing
        raise ConfigError(
            f"extract.decoder torchcodec needs the torchcodec package and FFmpeg's shared libraries "
            f"(pip install torchcodec; apt-get install ffmpeg): {type(e).__name__}: {e}. "
            "Use extract.decoder={type: pyav} (the default) instead."
        ) from None
    return decoders


class TorchCodecFrame:
    """One frame decoded by TorchCodec ([3, H, W] uint8, on the decoder's device); ``rgb(size)`` on demand."""

    __slots__ = ("_cache", "_data", "index", "quarter_turns", "time")

    def __init__(self, index: int, time: float, data: Any, turns: int = 0) -> None:
        self.index, self.time, self._data, self.quarter_turns = index, time, data, turns
        self._cache: dict[tuple[int, int] | None, np.ndarray] = {}

    def rgb(self, size: tuple[int, int] | None = None) -> np.ndarray:
        if size not in self._cache:
            x = self._data
            if self.quarter_turns:  # upright first: sizes are the displayed picture's
                x = x.rot90(self.quarter_turns, (-2, -1))
            if size is not None and tuple(x.shape[-2:]) != tuple(size):
                import torch.nn.functional as F

                x = F.interpolate(x[None].float(), size=size, mode="bilinear", antialias=True, align_corners=False)
                x = x[0].round().clamp(0, 255).byte()
            self._cache[size] = x.permute(1, 2, 0).contiguous().cpu().numpy()
        return self._cache[size]


class TorchCodecVideo:
    """A video opened by TorchCodec: its metadata, and its frames in chunks with their times."""

    def __init__(self, path: Path, decoder: TorchCodecDecoder, max_missing: float = MAX_MISSING) -> None:
        self.path, self._settings, self.max_missing = path, decoder, float(max_missing)
        if not path.is_file():
            raise VideoError(f"video file {path} does not exist")
        if path.stat().st_size == 0:
            raise VideoError(f"video file {path} is empty (0 bytes)")
        try:
            self._decoder = import_torchcodec().VideoDecoder(
                str(path), device=decoder.device, num_ffmpeg_threads=decoder.threads, seek_mode="approximate"
            )
        except Exception as e:  # torchcodec raises RuntimeError / ValueError for files it cannot open
            raise VideoError(f"cannot open {path} as a video with torchcodec: {e}") from e
        meta = self._decoder.metadata
        self.fps = float(meta.average_fps or 0.0)
        if not self.fps > 0:
            raise VideoError(f"{path}: the video stream has no frame rate")
        # TorchCodec returns frames as stored; the display rotation is applied here, as PyAV's reader does.
        self.rotation = float(getattr(meta, "rotation", None) or 0.0)
        try:
            self.quarter_turns = quarter_turns(self.rotation)
        except ValueError as e:
            raise VideoError(f"{path}: {e}; it cannot be shown upright without resampling") from None
        stored = (int(meta.height), int(meta.width))
        self.size = stored if self.quarter_turns % 2 == 0 else stored[::-1]
        self.duration = float(meta.duration_seconds or 0.0)
        self.num_frames = int(meta.num_frames or 0) or max(1, round(self.duration * self.fps))
        self.decoded: int | None = None
        self.missing: float | None = None
        self.variable_rate = False

    def facts(self) -> dict[str, Any]:
        return {
            "fps": round(self.fps, 4),
            "size": list(self.size),
            "duration": round(self.duration, 3),
            "rotation": self.rotation,
            "frames_expected": self.num_frames,
            "frames_decoded": self.decoded,
            "missing": None if self.missing is None else round(self.missing, 4),
            "variable_rate": self.variable_rate,
        }

    def frames(self) -> Iterator[TorchCodecFrame]:
        index, start = 0, None
        rate = RateWatch(self.fps)
        while index < self.num_frames:
            batch = self._chunk(index, min(index + self._settings.chunk, self.num_frames))
            if batch is None or len(batch.data) == 0:
                break  # the stream ends before its header says: checked against max_missing below
            for data, pts in zip(batch.data, batch.pts_seconds.tolist()):
                start = pts if start is None else start
                self.variable_rate |= rate.irregular(pts - start)
                yield TorchCodecFrame(index, pts - start, data, self.quarter_turns)
                index += 1
        self.decoded = index
        self.missing = check_complete(self.path, index, self.num_frames, "frames", self.max_missing)

    def _chunk(self, start: int, stop: int) -> Any:
        """Frames ``[start, stop)``; None at the stream's end. A chunk that fails is decoded frame by frame, so
        the end of a short stream (no frame left) is told from a decode error mid-file (a ``VideoError``)."""
        try:
            return self._decoder.get_frames_in_range(start, stop)
        except IndexError:
            return None
        except RuntimeError:
            pass
        for i in range(start, stop):
            try:
                self._decoder.get_frames_in_range(i, i + 1)
            except IndexError:
                break
            except RuntimeError as e:
                if "no more frames" in str(e):  # TorchCodec's words for the end of the stream
                    break
                raise VideoError(f"{self.path}: decoding failed after {i} frames; truncated or corrupt? {e}") from e
        else:
            i = stop
        return self._decoder.get_frames_in_range(start, i) if i > start else None
