"""Decoders: a video file -> its frames, each decoded once, with their times (``extract.decoder``).

``pyav`` (the default) decodes on the CPU with FFmpeg through PyAV. ``torchcodec`` decodes with
TorchCodec, on the CPU or, with ``device: cuda``, on the GPU's NVDEC; it is used only when the
``torchcodec`` package is installed (``pip install torchcodec``, which needs FFmpeg's shared
libraries on the system) and is never a dependency of the zoo.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from registry import ConfigError

from ..kinds import DECODERS
from .video import VideoError, VideoReader, _MIN_DECODED_SHARE


class Video(Protocol):
    """An opened video: ``fps``, ``size`` (H, W), ``duration`` (s), ``num_frames``, and ``frames()``."""

    path: Path
    fps: float
    size: tuple[int, int]
    duration: float
    num_frames: int

    def frames(self) -> Iterator[Any]: ...


class Decoder:
    """The contract of a decoder: ``open(path) -> Video``.

    ``open`` checks the file at once (missing, empty, not a video: a ``VideoError`` naming it).
    ``Video.frames()`` yields every frame once, in order, each with ``index``, ``time`` (seconds from
    the first frame) and ``rgb(size=None) -> uint8 [h, w, 3]`` (converted, and resized to ``(h, w)``
    when given, by the decoder); a file cut short raises ``VideoError`` at its end. A decoder is
    pickled into the extraction's worker processes, so it holds settings, not open files.
    """

    name = "decoder"

    def open(self, path: str | os.PathLike[str]) -> Video:
        raise NotImplementedError


DECODERS.contract = Decoder


@DECODERS.register("pyav")
class PyAVDecoder(Decoder):
    """FFmpeg through PyAV on the CPU; RGB conversion and resizing in FFmpeg's scaler."""

    name = "pyav"

    def __init__(self, threads: int = 0) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise ConfigError(f"decoder pyav: threads must be an integer >= 0 (0: FFmpeg chooses), got {threads!r}")
        self.threads = threads

    def open(self, path: str | os.PathLike[str]) -> VideoReader:
        return VideoReader(path, threads=self.threads)


@DECODERS.register("torchcodec")
class TorchCodecDecoder(Decoder):
    """TorchCodec (FFmpeg) on the CPU or NVDEC on a GPU (``device: cuda``); needs the torchcodec package."""

    name = "torchcodec"

    def __init__(self, device: str = "cpu", threads: int = 0, chunk: int = 32) -> None:
        self.device, self.threads, self.chunk = device, int(threads), int(chunk)
        import_torchcodec()  # fail at build time, with the reason, not at the first video

    def open(self, path: str | os.PathLike[str]) -> TorchCodecVideo:
        return TorchCodecVideo(Path(path), self)


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

    __slots__ = ("_cache", "_data", "index", "time")

    def __init__(self, index: int, time: float, data: Any) -> None:
        self.index, self.time, self._data = index, time, data
        self._cache: dict[tuple[int, int] | None, np.ndarray] = {}

    def rgb(self, size: tuple[int, int] | None = None) -> np.ndarray:
        if size not in self._cache:
            x = self._data
            if size is not None and tuple(x.shape[-2:]) != tuple(size):
                import torch.nn.functional as F

                x = F.interpolate(x[None].float(), size=size, mode="bilinear", antialias=True, align_corners=False)
                x = x[0].round().clamp(0, 255).byte()
            self._cache[size] = x.permute(1, 2, 0).contiguous().cpu().numpy()
        return self._cache[size]


class TorchCodecVideo:
    """A video opened by TorchCodec: its metadata, and its frames in chunks with their times."""

    def __init__(self, path: Path, decoder: TorchCodecDecoder) -> None:
        self.path, self._settings = path, decoder
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
        self.size = (int(meta.height), int(meta.width))
        self.duration = float(meta.duration_seconds or 0.0)
        self.num_frames = int(meta.num_frames or 0) or max(1, round(self.duration * self.fps))

    def frames(self) -> Iterator[TorchCodecFrame]:
        index, start, t = 0, None, 0.0
        while True:
            try:
                batch = self._decoder.get_frames_in_range(index, min(index + self._settings.chunk, self.num_frames))
            except (IndexError, RuntimeError) as e:
                if index == 0:
                    raise VideoError(f"{self.path}: decoding failed at its first frame: {e}") from e
                break  # past the last frame the header counted
            if len(batch.data) == 0:
                break
            for data, pts in zip(batch.data, batch.pts_seconds.tolist()):
                start = pts if start is None else start
                t = pts - start
                yield TorchCodecFrame(index, t, data)
                index += 1
            if index >= self.num_frames:
                break
        if index < _MIN_DECODED_SHARE * self.num_frames:
            raise VideoError(f"{self.path}: decoded only {index} of the {self.num_frames} frames it promises; truncated?")
