"""One video, decoded once, fanned out to every input: sample -> crop -> resize, as uint8 batches.

Each input has a ``Plan`` (its sampler, cropper and transform; no backbone, so a plan is cheap to
send to a worker process). ``prepare_video`` decodes the video once and hands each frame to every
input that reads it (resampled by timestamps to the input's rate), decoded at the size that input
needs (FFmpeg converts and resizes in one pass; inputs that crop get the full frame). It yields
``Batch`` messages as instances fill them, then ``VideoDone`` with the counts, or ``VideoFailed``
with the reason, so one bad video never stops the others. An audio input (``audio.py``) is sampled
from the same frame times, but its instances are log-mel spectrograms of the audio track.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
import torch
from torch import Tensor

from registry import UserError

from ...errors import DataError
from ..audio import AudioTrack, NoAudioError, read_audio
from ..video import MAX_MISSING, WARN_MISSING, Frame, Resampler

if TYPE_CHECKING:
    from ..croppers import Cropper
    from ..decoders import Decoder
    from ..transforms import ClipTransform, ImageTransform
    from .audio import AudioFrontEnd


class ExtractError(DataError):
    """A video that could not be turned into features, or a backbone that failed; the message names the video."""


@dataclass
class Plan:
    """How one input's instances are made: sampler, optional cropper, and the backbone's transform."""

    name: str
    kind: str  # "video" (clips), "image" (single frames) or "audio" (log-mel of a clip's seconds) backbone
    sampler: Any
    cropper: Cropper | None
    transform: ClipTransform | ImageTransform | AudioFrontEnd
    track: int | None = None  # audio inputs: the audio stream they read

    def frame_size(self, height: int, width: int) -> tuple[int, int] | None:
        """The size this input decodes frames at: the transform's (FFmpeg resizes), or full size to crop from."""
        return None if self.cropper is not None else self.transform.frame_size(height, width)

    def prepare(self, frames: Any) -> Tensor:
        """One instance's frames uint8 [T, H, W, 3] (key frame last) -> the backbone's input, still uint8."""
        if self.cropper is not None:
            return self.transform.geometry(self.cropper(frames))
        if self.kind == "image":
            return self.transform.geometry(frames[-1])
        return self.transform.geometry(frames)


# -- the messages a preparation sends (in this process, or from a worker) -------------------------
@dataclass
class Batch:
    """Up to ``batch_size`` prepared instances of one input of one video, uint8."""

    video: int
    input: str
    frames: Tensor

    def pin_memory(self) -> Batch:  # DataLoader(pin_memory=True) calls this: the copy to the GPU can overlap
        return dataclasses.replace(self, frames=self.frames.pin_memory())


@dataclass
class VideoDone:
    """Every batch of the video was sent; what it took (decoded frames, instances and crops per input).

    ``source``: what the decoder learnt of the file (fps, size, duration, rotation, frames promised
    and decoded, the share missing, a variable frame rate); ``warnings``: what passed but is worth
    saying (a few frames missing).
    """

    video: int
    frames: int
    instances: dict[str, int]
    crops: dict[str, dict[str, int]] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class VideoFailed:
    """The video could not be prepared; its batches already sent are to be dropped."""

    video: int
    error: str


Message = Batch | VideoDone | VideoFailed


class _InputRun:
    """One input while one video is decoded: its resampler, sampler state and the batch being filled."""

    def __init__(self, plan: Plan, video: Any, batch_size: int) -> None:
        self.plan, self.batch_size = plan, batch_size
        check_rate(plan, video)
        self.keep = Resampler(plan.sampler.fps)
        self.sampling = plan.sampler.start(video.num_frames)
        self.size = plan.frame_size(*video.size)
        self.pending: list[Tensor] = []
        self.instances = 0
        self.crops_before = dict(plan.cropper.stats) if plan.cropper is not None else None
        if plan.cropper is not None:
            plan.cropper.start_video()

    def push(self, frame: Any) -> list[Tensor]:
        if not self.keep.take(frame.time):
            return []
        return self._add(self.sampling.push(Frame(frame.index, frame.time, self.image(frame))))

    def image(self, frame: Any) -> Any:
        """What the sampler holds of a frame: the picture at this input's size."""
        return frame.rgb(self.size)

    def prepare(self, instance: Any) -> Tensor:
        """One instance -> the backbone's input, still uint8 (RGB inputs)."""
        return self.plan.prepare(instance.frames)

    def finish(self) -> list[Tensor]:
        out = self._add(self.sampling.finish())
        if self.pending:
            out.append(torch.stack(self.pending))
            self.pending = []
        return out

    def _add(self, instances: list[Any]) -> list[Tensor]:
        out = []
        for instance in instances:
            self.pending.append(self.prepare(instance))
            self.instances += 1
            if len(self.pending) == self.batch_size:
                out.append(torch.stack(self.pending))
                self.pending = []
        return out

    def crops(self) -> dict[str, int] | None:
        if self.crops_before is None or self.plan.cropper is None:
            return None
        return {k: v - self.crops_before[k] for k, v in self.plan.cropper.stats.items()}


# A video slower than a sampler's rate by more than this share cannot give that rate's frames.
_RATE_SLACK = 0.01


def check_rate(plan: Plan, video: Any) -> None:
    """A sampler that reads ``fps`` frames a second needs a video that has them; one that reads every frame
    (``fps`` None) takes the video's own rate, which must then be regular."""
    want = plan.sampler.fps
    if want is not None and video.fps < want * (1 - _RATE_SLACK):
        raise ExtractError(
            f"{video.path}: the video has {video.fps:g} frames per second, but input {plan.name!r} samples "
            f"{want:g} per second ({plan.sampler!r}); its instances would span {want / video.fps:.2f}x the "
            "time they stand for. Lower the sampler's fps to at most the video's, or re-encode the video."
        )


def _check_regular(video: Any, plans: list[Plan]) -> None:
    every = [p.name for p in plans if p.sampler.fps is None]
    if video.variable_rate and every:
        raise ExtractError(
            f"{video.path}: the video has a variable frame rate (frame intervals far from 1/{video.fps:g} s), and "
            f"input(s) {every} read every frame (sampler fps null), so their instances would not be evenly spaced "
            "in time. Give those samplers an fps (frames are then picked by their timestamps), or re-encode the "
            "video at a constant rate."
        )


def prepare_video(
    index: int, path: Path, plans: list[Plan], decoder: Decoder, batch_size: int, max_missing: float = MAX_MISSING
) -> Iterator[Message]:
    """Decode ``path`` once and send every input's batches, then ``VideoDone`` (or ``VideoFailed``)."""
    try:
        video = decoder.open(path, max_missing=max_missing)
        tracks = read_tracks(path, plans, video, max_missing)
        runs = [
            _InputRun(plan, video, batch_size) if plan.track is None else AudioRun(plan, video, batch_size, tracks)
            for plan in plans
        ]
        decoded = 0
        for frame in video.frames():
            decoded += 1
            _check_regular(video, plans)
            for run in runs:
                if not run.sampling.done:
                    yield from (Batch(index, run.plan.name, b) for b in run.push(frame))
            if all(run.sampling.done for run in runs):
                break  # every sampler has what it needs: the rest of the video need not be decoded
        for run in runs:
            yield from (Batch(index, run.plan.name, b) for b in run.finish())
        for run in runs:
            if not run.instances:
                raise ExtractError(
                    f"{path}: input {run.plan.name!r} got no instances from {run.plan.sampler!r}: the video holds "
                    f"{decoded} frames ({video.duration:.2f} s at {video.fps:g} fps), less than one instance "
                    "(a clip sampler can pad a short video with pad_last: true)"
                )
        crops = {run.plan.name: c for run in runs if (c := run.crops()) is not None}
        source = video.facts()
        if tracks:
            source["audio"] = {str(k[1]): t.facts() for k, t in tracks.items()}
        warnings = []
        if (source.get("missing") or 0) > WARN_MISSING:
            warnings.append(
                f"{path}: {source['missing']:.1%} of its frames are missing ({source['frames_decoded']} of "
                f"{source['frames_expected']} decoded), within extract.max_missing_frames={max_missing:g}"
            )
        yield VideoDone(index, decoded, {run.plan.name: run.instances for run in runs}, crops, source, warnings)
    except (UserError, OSError, av.FFmpegError) as e:  # this video fails; the next one may be fine
        message = str(e) if str(path) in str(e) else f"{path}: {type(e).__name__}: {e}"
        yield VideoFailed(index, message)


# -- audio inputs (audio.py: their front-end) ----------------------------------------------------
_NO_PICTURE = np.zeros((1, 1, 3), np.uint8)  # what an audio input's sampler holds of a frame: only its time counts


class AudioRun(_InputRun):
    """An audio input while one video is decoded: its sampler sees the frame times; its instances are log-mel."""

    def __init__(self, plan: Plan, video: Any, batch_size: int, tracks: dict[tuple[int, int], AudioTrack]) -> None:
        super().__init__(plan, video, batch_size)
        front: AudioFrontEnd = plan.transform  # type: ignore[assignment]
        self.front = front
        self.track = tracks[(front.spec.sample_rate, plan.track or 0)]
        self.rate = plan.sampler.fps or video.fps  # of the frames a clip is made of

    def image(self, frame: Any) -> Any:
        return _NO_PICTURE

    def prepare(self, instance: Any) -> Tensor:
        seconds = len(instance.frames) / self.rate  # a clip of T frames covers T frame intervals
        return self.front.spectrogram(self.track.span(instance.time, seconds))


def read_tracks(path: Path, plans: list[Plan], video: Any, max_missing: float) -> dict[tuple[int, int], AudioTrack]:
    """The audio tracks the audio inputs of ``plans`` read, each decoded once: ``(sample_rate, track) -> track``.

    A missing track, or one that leaves more than ``max_missing`` of the video's seconds without sound,
    is an ``ExtractError`` naming the video and the input.
    """
    tracks: dict[tuple[int, int], AudioTrack] = {}
    for plan in plans:
        if plan.track is None:
            continue
        key = (plan.transform.spec.sample_rate, plan.track)  # type: ignore[union-attr]
        if key not in tracks:
            try:
                tracks[key] = read_audio(path, *key)
            except NoAudioError as e:
                raise ExtractError(
                    f"{e}; input {plan.name!r} (modality: audio) needs it. Leave this video out of that input's "
                    "extraction, or give the input another audio.track"
                ) from None
        track = tracks[key]
        silent = max(0.0, track.offset) + max(0.0, video.duration - track.offset - track.duration)
        if video.duration > 0 and silent / video.duration > max_missing:
            raise ExtractError(
                f"{path}: its audio track {plan.track} covers {track.duration:.2f} s from {track.offset:+.2f} s of "
                f"the video's {video.duration:.2f} s, so {silent / video.duration:.1%} of the seconds input "
                f"{plan.name!r} (modality: audio) reads would be silence made up, more than "
                f"extract.max_missing_frames={max_missing:g}"
            )
    return tracks
