"""Write a synthetic set to disk: H.264 MP4 videos, RG-format annotations, latents, per-frame metadata.

Layout of ``out_dir``::

    videos/Synth_001.mp4 ...       H.264, yuv420p, ``size`` x ``size``, ``fps``
    annotations/train.txt, test.txt  the RG annotation format (tab-separated, one header line)
    latents.json                   every latent factor, the score parts and measured statistics per video
    meta/Synth_001.json ...        per frame: the athlete's box, the phase and the element
    params.json                    the parameters of the set being written
    done.json                      the same parameters, written last: the set is complete

Every file appears under its final name only when complete (written to a hidden temporary name, then renamed),
so an interrupted run leaves no half-written file; the next run with the same parameters keeps the finished
videos and renders the rest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .config import DEFAULT_CONFIG, SyntheticConfig
from .motion import PHASES
from .render import check_size, figure_boxes, render_frames
from .routine import Routine, sample_routine
from registry import ConfigError

FORMAT_VERSION = 2  # bump when the same parameters would give different files
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
) -> str:
    """A short digest of everything that shapes a set's files (renderer version included): its folder name."""
    params = _params(videos, seed, width, height, fps, duration, test_fraction, config)
    return hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]


def _params(videos, seed, width, height, fps, duration, test_fraction, config) -> dict:
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
) -> Path:
    """Render a synthetic rhythmic-gymnastics set into ``out_dir`` (or return at once if it is already there).

    ``workers`` processes render videos in parallel (default: the CPU count; 1 renders in this process); the
    result is the same for any number. Returns ``out_dir``.
    """
    out = Path(out_dir)
    width, height = width or size or 128, height or size or 128
    if width != height:
        raise ConfigError(f"make_synthetic: frames are square for now, got {width}x{height}")
    size = width
    if videos < 1:
        raise ConfigError(f"make_synthetic: videos must be >= 1, got {videos}")
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError(f"make_synthetic: test_fraction must be in [0, 1), got {test_fraction}")
    check_size(size)
    params = _params(videos, seed, width, height, fps, duration, test_fraction, config)
    if _read_json(out / "done.json") == params:
        return out
    for sub in ("videos", "annotations", "meta"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "done.json").unlink(missing_ok=True)
    if _read_json(out / "params.json") != params:
        _clear(out)  # files of another set must not be taken for this one
        _write_atomic(out / "params.json", json.dumps(params, indent=1))
    else:
        _clear(out, partial_only=True)  # what an interrupted run left half-written

    todo = [i for i in range(videos) if not (out / "videos" / f"{video_name(i)}.mp4").is_file()]
    job = _Job(out, seed, size, fps, duration, config)
    n_workers = min(workers or os.cpu_count() or 1, max(len(todo), 1))
    done = 0
    if n_workers <= 1:
        for i in todo:
            job(i)
            done = _report(progress, done + 1, len(todo))
    else:
        # spawn, not fork: a process that already runs threads (torch's pools, a decoder) can deadlock a forked child
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n_workers, mp_context=spawn) as pool:
            for _ in pool.map(job, todo, chunksize=1):
                done = _report(progress, done + 1, len(todo))

    routines = [sample_routine(i, seed, fps, duration, config) for i in range(videos)]
    for r in routines:  # metadata of videos kept from an interrupted run may be missing
        if not (out / "meta" / f"{video_name(r.index)}.json").is_file():
            _write_meta(out, r, size)
    test = set(split_test(videos, test_fraction, seed))
    length = round(round(duration * fps) / fps)
    for split, keep in (("train", lambda i: i not in test), ("test", lambda i: i in test)):
        rows = [r for r in routines if keep(r.index)]
        _write_atomic(out / "annotations" / f"{split}.txt", annotation_text(rows, length))
    latents = {video_name(r.index): {**r.latents(), "split": "test" if r.index in test else "train"} for r in routines}
    _write_atomic(out / "latents.json", json.dumps(latents, indent=1))
    _write_atomic(out / "done.json", json.dumps(params, indent=1))  # last: the set is complete
    return out


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
    size: int
    fps: float
    duration: float
    config: SyntheticConfig

    def __call__(self, index: int) -> int:
        import cv2

        cv2.setNumThreads(1)  # the processes are the parallelism
        routine = sample_routine(index, self.seed, self.fps, self.duration, self.config)
        _write_meta(self.out, routine, self.size)
        final = self.out / "videos" / f"{video_name(index)}.mp4"
        tmp = final.with_name(f".{final.name}.{os.getpid()}.part")
        try:
            encode_mp4(tmp, render_frames(routine, self.size), self.size, self.fps, self.config.crf)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return index


def encode_mp4(path: str | os.PathLike, frames, size: int, fps: float, crf: int = 23) -> None:
    """Encode RGB uint8 frames [size, size, 3] to an H.264 (yuv420p) MP4 at ``path``, deterministically."""
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        # One thread: x264's output then does not depend on the machine.
        stream.codec_context.options = {"crf": str(crf), "preset": "medium", "threads": "1"}
        stream.codec_context.thread_count = 1
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _write_meta(out: Path, routine: Routine, size: int) -> None:
    meta = {
        "name": video_name(routine.index),
        "fps": routine.fps,
        "size": size,
        "frames": routine.n_frames,
        "phases": list(PHASES),
        "box": figure_boxes(routine, size).tolist(),  # x0, y0, x1, y1 in pixels, per frame
        "phase": routine.phase.tolist(),
        "element": routine.element_of_frame.tolist(),  # index into latents' "elements", -1 between them
    }
    _write_atomic(out / "meta" / f"{video_name(routine.index)}.json", json.dumps(meta, separators=(",", ":")))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _clear(out: Path, partial_only: bool = False) -> None:
    """Remove the files a synthetic set writes (and only those) from ``out``; or only its temporary files."""
    patterns = {
        "videos": (f"{PREFIX}_*.mp4", ".*.part"),
        "meta": (f"{PREFIX}_*.json", ".*.part"),
        "annotations": ("train.txt", "test.txt", ".*.part"),
        ".": ("latents.json", "params.json", ".*.part"),
    }
    for sub, globs in patterns.items():
        for pattern in globs[-1:] if partial_only else globs:
            for path in (out / sub).glob(pattern):
                path.unlink(missing_ok=True)


def _report(progress: bool, done: int, total: int, echo: Callable[[str], None] = print) -> int:
    if progress and (done == total or done % max(1, total // 20) == 0):
        echo(f"synthetic: {done}/{total} videos rendered")
    return done
