"""Write a synthetic set to disk: H.264 MP4 videos, RG-format annotations, latents, per-frame metadata.

Layout of ``out_dir``::

    videos/Synth_001.mp4 ...       H.264, yuv420p, ``width`` x ``height``, ``fps`` (and AAC music with a soundtrack)
    annotations/train.txt, test.txt  the RG annotation format (tab-separated, one header line)
    latents.json                   every latent factor, the score parts and measured statistics per video
    meta/Synth_001.json ...        per frame: the athlete's box, the phase and the element
    params.json                    the parameters of the set being written
    done.json                      the same parameters, written last: the set is complete

Every file appears under its final name only when complete (``registry.write_atomic``: a hidden temporary name,
then a rename), so an interrupted run leaves no half-written file; the next run with the same parameters keeps
the finished videos and renders the rest. A folder holding a set made with other parameters is refused unless
``overwrite=True``, which removes that set's files (and only those) first.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import multiprocessing
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from registry import ConfigError, write_atomic
from registry.files import TMP_SUFFIX, remove_stale_temporaries

from ...progress import progress as progress_bar
from .config import DEFAULT_CONFIG, SyntheticConfig
from .motion import PHASES
from .render import check_size, figure_boxes, render_frames
from .routine import Routine, sample_routine
from .soundtrack import Soundtrack, as_soundtrack, soundtrack_params, synthesize

FORMAT_VERSION = 3  # bump when the same parameters would give different files (3: x264's canonical algorithms)
# x264's AVX-512 code reads memory it never wrote: on a CPU with AVX-512 the bytes of some videos (7 of 40 routines at
# 64 x 64) depended on what the process's heap held before, so a set rendered twice, or serially and in workers, could
# differ. cpu-independent makes x264 take its canonical algorithms: the bytes its C code writes, on every CPU, at the
# same speed (bench/encode_x264.py).
X264_PARAMS = "cpu-independent=1"
PREFIX = "Synth"
RG_HEADER = ("Video_Name", "Difficulty_Score", "Execution_Score", "Total_Score", "Penalty", "Video_length")


def video_name(index: int) -> str:
    """``Synth_001`` for index 0 (the RG naming, ``<Class>_<id>`` with a 1-based id)."""
    return f"{PREFIX}_{index + 1:03d}"


def render_key(
    videos: int = 200,
    seed: int = 0,
    width: int = 128,
    height: int = 128,
    fps: float = 10.0,
    duration: float = 20.0,
    test_fraction: float = 0.25,
    config: SyntheticConfig = DEFAULT_CONFIG,
    soundtrack: Soundtrack | Mapping | bool | None = None,
) -> str:
    """A short digest of everything that shapes a set's files (renderer version included): its folder name."""
    params = _params(videos, seed, width, height, fps, duration, test_fraction, config, as_soundtrack(soundtrack))
    return hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]


def _params(videos, seed, width, height, fps, duration, test_fraction, config, soundtrack=None) -> dict:
    params = {
        "format_version": FORMAT_VERSION,
        "videos": videos,
        "seed": seed,
        "size": width if width == height else [width, height],
        "fps": fps,
        "duration": duration,
        "test_fraction": test_fraction,
        "config": dataclasses.asdict(config),
    }
    if soundtrack is not None:  # only then: a set without music keeps the parameters (and folder) it always had
        params["soundtrack"] = soundtrack_params(soundtrack)
    return json.loads(json.dumps(params))  # tuples -> lists, as they come back from the file


def make_synthetic(
    out_dir: str | os.PathLike,
    videos: int = 200,
    seed: int = 0,
    size: int | None = None,
    width: int | None = None,
    height: int | None = None,
    fps: float = 10.0,
    duration: float = 20.0,
    workers: int | None = None,
    test_fraction: float = 0.25,
    config: SyntheticConfig = DEFAULT_CONFIG,
    progress: bool = False,
    overwrite: bool = False,
    soundtrack: Soundtrack | Mapping | bool | None = None,
) -> Path:
    """Render a synthetic rhythmic-gymnastics set into ``out_dir`` (or return at once if it is already there).

    Frames are ``width`` x ``height`` pixels (``size`` for square ones; default 128 x 128). ``workers`` processes
    render videos in parallel (default: the CPU count; 1 renders in this process); the result is the same for any
    number. A folder holding a set made with other parameters is refused unless ``overwrite``, which replaces it.
    ``soundtrack`` (True, or a mapping of ``Soundtrack`` settings) adds music with a beat to every video and a
    rhythm term to the score (docs/SYNTHETIC.md). Returns ``out_dir``.
    """
    out = Path(out_dir)
    width, height = _frame_size(size, width, height)
    if videos < 1:
        raise ConfigError(f"make_synthetic: videos must be >= 1, got {videos}")
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError(f"make_synthetic: test_fraction must be in [0, 1), got {test_fraction}")
    music = as_soundtrack(soundtrack)
    params = _params(videos, seed, width, height, fps, duration, test_fraction, config, music)
    if _read_json(out / "done.json") == params:
        return out
    _prepare(out, params, overwrite)
    todo = [i for i in range(videos) if not (out / "videos" / f"{video_name(i)}.mp4").is_file()]
    job = _Job(out, seed, width, height, fps, duration, config, music)
    _render(job, todo, videos, workers, progress)
    routines = [sample_routine(i, seed, fps, duration, config, music) for i in range(videos)]
    _write_tables(out, routines, width, height, round(round(duration * fps) / fps), test_fraction, seed)
    write_atomic(out / "done.json", json.dumps(params, indent=1))  # last: the set is complete
    return out


def _frame_size(size: int | None, width: int | None, height: int | None) -> tuple[int, int]:
    """``(width, height)`` from the arguments: ``width`` and ``height`` override ``size``, the default is 128."""
    side = 128 if size is None else size
    return check_size(side if width is None else width, side if height is None else height)


def _prepare(out: Path, params: dict, overwrite: bool) -> None:
    """Make ``out`` ready for the set of ``params``: keep what an interrupted run of it finished, refuse another."""
    there = _read_json(out / "params.json") or _read_json(out / "done.json")
    if there != params:
        if not overwrite:
            _refuse(out, there, params)
        _clear(out)  # files of another set must not be taken for this one
    for sub in ("videos", "annotations", "meta"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "done.json").unlink(missing_ok=True)
    if there != params:
        write_atomic(out / "params.json", json.dumps(params, indent=1))
    else:
        _clear(out, partial_only=True)  # what an interrupted run left half-written


def _refuse(out: Path, there: dict | None, params: dict) -> None:
    """Raise unless ``out`` holds no set at all (nothing of the user's would be replaced)."""
    if there is None and not _set_files(out):
        return
    again = "pass overwrite=True (--overwrite in tools/make_synthetic.py) to replace it, or choose another folder"
    if there is None:
        raise ConfigError(f"make_synthetic: {out} holds synthetic-set files but no readable params.json; {again}")
    differing = "; ".join(_differences(there, params))
    raise ConfigError(f"make_synthetic: {out} holds a set made with other parameters ({differing}); {again}")


def _differences(there: object, asked: object, key: str = "") -> list[str]:
    """``"seed: 0 there, 1 asked"`` for every differing leaf of two parameter dicts (nested keys joined by dots)."""
    if isinstance(there, dict) and isinstance(asked, dict):
        keys = sorted(set(there) | set(asked))
        return [d for k in keys for d in _differences(there.get(k), asked.get(k), f"{key}.{k}" if key else k)]
    return [] if there == asked else [f"{key}: {json.dumps(there)} there, {json.dumps(asked)} asked"]


def _render(job: _Job, todo: list[int], videos: int, workers: int | None, progress: bool) -> None:
    """Render the videos ``todo`` of a set of ``videos`` with ``job``, in this process or in ``workers`` others."""
    n_workers = min(workers or os.cpu_count() or 1, max(len(todo), 1))
    bar = progress_bar(videos, "render", "video", enabled=progress, initial=videos - len(todo))
    try:
        if n_workers <= 1:
            for i in todo:
                job(i)
                bar.update(1)
        else:
            # spawn, not fork: a process already running threads (torch's pools, a decoder) can deadlock a fork
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=n_workers, mp_context=spawn) as pool:
                for _ in pool.map(job, todo, chunksize=1):
                    bar.update(1)
    finally:
        bar.close()


def _write_tables(
    out: Path, routines: list[Routine], width: int, height: int, length: int, test_fraction: float, seed: int
) -> None:
    """Missing metadata, the two annotation files and ``latents.json`` of a set whose videos are all rendered."""
    for r in routines:  # metadata of videos kept from an interrupted run may be missing
        if not (out / "meta" / f"{video_name(r.index)}.json").is_file():
            _write_meta(out, r, width, height)
    test = set(split_test(len(routines), test_fraction, seed))
    for split, keep in (("train", lambda i: i not in test), ("test", lambda i: i in test)):
        rows = [r for r in routines if keep(r.index)]
        write_atomic(out / "annotations" / f"{split}.txt", annotation_text(rows, length))
    latents = {video_name(r.index): {**r.latents(), "split": "test" if r.index in test else "train"} for r in routines}
    write_atomic(out / "latents.json", json.dumps(latents, indent=1))


def split_test(videos: int, test_fraction: float, seed: int) -> list[int]:
    """The sorted indices of the test videos: a seeded random ``round(videos * test_fraction)`` of them."""
    n_test = round(videos * test_fraction)
    order = np.random.default_rng([seed, 2**31 - 1]).permutation(videos)  # a stream no video uses
    return sorted(int(i) for i in order[:n_test])


def annotation_text(routines: list[Routine], length: int) -> str:
    """The RG annotation file for these routines: a header, then name, D, E, Total, P and length per line."""
    lines = ["\t".join(RG_HEADER)]
    for r in routines:
        d, e, t, p = r.score.cents
        lines.append("\t".join([video_name(r.index), *(_cents(c) for c in (d, e, t, p)), str(length)]))
    return "\n".join(lines) + "\n"


def _cents(c: int) -> str:
    """Hundredths as a 2-decimal string, exactly (no float rounding)."""
    sign = "-" if c < 0 else ""
    return f"{sign}{abs(c) // 100}.{abs(c) % 100:02d}"


@dataclasses.dataclass(frozen=True)
class _Job:
    """Render and write one video (a picklable callable for the worker processes)."""

    out: Path
    seed: int
    width: int
    height: int
    fps: float
    duration: float
    config: SyntheticConfig
    soundtrack: Soundtrack | None = None

    def __call__(self, index: int) -> int:
        import cv2

        cv2.setNumThreads(1)  # the processes are the parallelism
        routine = sample_routine(index, self.seed, self.fps, self.duration, self.config, self.soundtrack)
        _write_meta(self.out, routine, self.width, self.height)
        final = self.out / "videos" / f"{video_name(index)}.mp4"
        frames = render_frames(routine, self.width, self.height)
        audio = None
        if self.soundtrack is not None and routine.rhythm is not None:
            n_samples = round(routine.n_frames * self.soundtrack.sample_rate / self.fps)  # as long as the video
            audio = Audio(synthesize(routine.rhythm.beat, n_samples, self.soundtrack), self.soundtrack)
        # write_atomic leaves no temporary behind, not even after an interruption (KeyboardInterrupt).
        write_atomic(
            final, lambda tmp: encode_mp4(tmp, frames, self.width, self.height, self.fps, self.config.crf, audio)
        )
        return index


@dataclasses.dataclass(frozen=True)
class Audio:
    """Mono samples [n] float32 in [-1, 1] to mux into a video, with the soundtrack's rate and bitrate."""

    samples: np.ndarray
    soundtrack: Soundtrack


def encode_mp4(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    width: int,
    height: int,
    fps: float,
    crf: int = 23,
    audio: Audio | None = None,
    x264_params: str = X264_PARAMS,
) -> None:
    """Encode RGB uint8 frames [height, width, 3] to an H.264 (yuv420p) MP4 at ``path``, deterministically.

    With ``audio``, the samples go in as a mono AAC stream beside the video, interleaved frame by frame.
    ``x264_params``: x264's own settings; other values than the set's are for comparisons (tests, benchmarks).
    """
    width, height = check_size(width, height)
    # An explicit format: the temporary name write_atomic gives the path does not end in .mp4.
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        # One thread and the canonical algorithms (X264_PARAMS): the bytes depend neither on the machine nor on memory.
        options = {"crf": str(crf), "preset": "medium", "threads": "1", "x264-params": x264_params}
        stream.codec_context.options = options
        stream.codec_context.thread_count = 1
        sound = _AudioWriter(container, audio, fps) if audio is not None else None
        for k, frame in enumerate(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
            if sound is not None:
                sound.write_until(k + 1)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            sound.close()


class _AudioWriter:
    """Feeds a video's samples to an AAC stream in step with its frames (the muxer then interleaves them)."""

    def __init__(self, container: av.container.OutputContainer, audio: Audio, fps: float) -> None:
        rate = audio.soundtrack.sample_rate
        self.container, self.samples, self.rate, self.fps = container, audio.samples, rate, fps
        self.stream = container.add_stream("aac", rate=rate)
        self.stream.codec_context.layout = "mono"
        self.stream.codec_context.bit_rate = audio.soundtrack.bitrate
        self.stream.codec_context.thread_count = 1  # one thread, as for the video: the same bytes on any machine
        self.done = 0

    def write_until(self, frames: int) -> None:
        """Encode the samples up to the end of video frame ``frames``."""
        self._encode_to(round(frames * self.rate / self.fps))

    def close(self) -> None:
        """Encode whatever samples are left and flush the encoder."""
        self._encode_to(len(self.samples))
        for packet in self.stream.encode(None):
            self.container.mux(packet)

    def _encode_to(self, end: int) -> None:
        end = min(end, len(self.samples))
        if end <= self.done:
            return
        chunk = av.AudioFrame.from_ndarray(self.samples[None, self.done : end], format="flt", layout="mono")
        chunk.sample_rate, chunk.pts = self.rate, self.done
        self.done = end
        for packet in self.stream.encode(chunk):
            self.container.mux(packet)


def _write_meta(out: Path, routine: Routine, width: int, height: int) -> None:
    meta = {
        "name": video_name(routine.index),
        "fps": routine.fps,
        "size": width if width == height else [width, height],  # as in params.json
        "frames": routine.n_frames,
        "phases": list(PHASES),
        "box": figure_boxes(routine, width, height).tolist(),  # x0, y0, x1, y1 in pixels, per frame
        "phase": routine.phase.tolist(),
        "element": routine.element_of_frame.tolist(),  # index into latents' "elements", -1 between them
    }
    write_atomic(out / "meta" / f"{video_name(routine.index)}.json", json.dumps(meta, separators=(",", ":")))


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# The files a set writes, per folder of the set (their temporaries are named after them).
SET_FILES = {
    "videos": (f"{PREFIX}_*.mp4",),
    "meta": (f"{PREFIX}_*.json",),
    "annotations": ("train.txt", "test.txt"),
    ".": ("latents.json", "params.json", "done.json"),
}


def _set_files(out: Path) -> list[Path]:
    """The files of a synthetic set that ``out`` holds (temporaries not included)."""
    return [path for sub, globs in SET_FILES.items() for pattern in globs for path in sorted((out / sub).glob(pattern))]


def _clear(out: Path, partial_only: bool = False) -> None:
    """Remove the files a synthetic set writes (and only those) from ``out``; or only its temporary files.

    Temporaries are ``.<name>.<pid>.tmp`` (registry.write_atomic; removed once their writer is gone, so a run
    beside this one keeps its own) and ``.<name>.<pid>.part`` (this writer's own, before write_atomic).
    """
    for sub, globs in SET_FILES.items():
        folder = out / sub
        for tmp in folder.glob(".*.part"):
            tmp.unlink(missing_ok=True)
        for tmp in folder.glob(f".*.*{TMP_SUFFIX}"):
            final = tmp.name[1:].rsplit(".", 2)[0]
            if any(fnmatch.fnmatchcase(final, pattern) for pattern in globs):
                remove_stale_temporaries(folder / final)
    if not partial_only:
        for path in _set_files(out):
            path.unlink(missing_ok=True)
