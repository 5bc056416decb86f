"""``extract_features``: a folder of videos -> ``<out>/<input>/<video>.npy`` for every input, resumable.

A video is finished when every input's file exists and the rank's log records, for this extract
section, the video's identity (its size and a hash of its first and last 64 KiB) as it is now and
the SHA-256 of each file as written: a rerun skips finished videos and extracts again any video
that changed since, any file that was replaced, and any file that no log vouches for. Files are written
atomically (``registry.write_atomic``), so an interrupted run leaves no half-written ``.npy`` under
a final name; a full disk stops the run (exit code 4) and keeps every finished file.
``rank``/``world`` take every world-th video (sorted by name) so ``torchrun --nproc_per_node=N``
ranks split a data set without talking.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from registry import ConfigError, MissingFileError, make_folder, write_atomic
from registry.provenance import file_digest

from ...errors import DataError
from ...progress import progress as progress_bar
from ..video import VIDEO_SUFFIXES
from .claim import Claim, folder_lock
from .config import resolve_config, section_digest
from .manifest import RankLog, describe_inputs, open_folder, read_manifest, remove_stale_rank_logs
from .pipeline import Extractor, VideoResult

_ENDS = 1 << 16  # bytes hashed at each end of a video: enough to tell a re-rendered or re-encoded file


@dataclass
class ExtractReport:
    """What a run did: videos done, skipped (finished before), failed (name -> reason), and counts."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # extracted again: the video differs from the one extracted
    failed: dict[str, str] = field(default_factory=dict)
    frames: int = 0  # source frames decoded (each once)
    instances: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    crops: dict[str, dict[str, int]] = field(default_factory=dict)  # input -> cropper counts, summed
    croppers: dict[str, str] = field(default_factory=dict)  # input -> the cropper's fallback summary
    inputs: dict[str, str] = field(default_factory=dict)  # input -> "2048-d ptv:x3d_xs"
    warnings: list[str] = field(default_factory=list)  # videos that passed with something worth saying

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """A few lines: totals, one line per input, then every failure with its reason."""
        rate = self.frames / self.seconds if self.seconds else 0.0
        changed = (
            f" ({len(self.changed)} of them again: their features came from another version of the video, "
            "or from a run that did not record which)"
            if self.changed
            else ""
        )
        lines = [
            f"extracted {len(self.done)} video(s){changed}, skipped {len(self.skipped)} finished, "
            f"{len(self.failed)} failed; {self.seconds:.1f} s, {self.frames} frames decoded ({rate:.0f} frames/s)"
        ]
        for name in self.inputs:
            line = f"  {name}: {self.instances.get(name, 0)} instances, {self.inputs[name]}"
            lines.append(line + (f"; {self.croppers[name]}" if name in self.croppers else ""))
        if self.warnings:
            lines.append(f"warnings ({len(self.warnings)}):")
            lines += [f"  {w}" for w in self.warnings]
        if self.failed:
            lines.append(f"failed ({len(self.failed)}):")
            lines += [f"  {name}: {reason}" for name, reason in self.failed.items()]
        return "\n".join(lines)


def list_videos(videos: Sequence[str | os.PathLike[str]] | str | os.PathLike[str]) -> list[Path]:
    """Video files sorted by name (the file stem); a folder gives its files with a video suffix."""
    if isinstance(videos, str | os.PathLike) and Path(videos).is_file():
        videos = [videos]
    if isinstance(videos, str | os.PathLike):
        folder = Path(videos)
        if not folder.is_dir():
            raise MissingFileError(f"video folder {folder} does not exist")
        paths = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
        if not paths:
            raise MissingFileError(f"no videos in {folder} (looked for files ending in {', '.join(VIDEO_SUFFIXES)})")
    else:
        paths = [Path(p) for p in videos]
    by_name: dict[str, list[Path]] = {}
    for p in paths:
        by_name.setdefault(p.stem, []).append(p)
    clashes = {n: ps for n, ps in by_name.items() if len(ps) > 1}
    if clashes:
        listed = "; ".join(f"{n}: {', '.join(map(str, ps))}" for n, ps in sorted(clashes.items()))
        raise DataError(f"feature files are named by the video's stem, and these videos share one: {listed}")
    return sorted(paths, key=lambda p: p.stem)


def shard(paths: Sequence[Path], rank: int, world: int) -> list[Path]:
    """Every ``world``-th video from ``rank`` on (of the name-sorted list)."""
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"rank must be in [0, world) and world >= 1, got rank={rank}, world={world}")
    return list(paths[rank::world])


def feature_path(out: Path, input_name: str, video_name: str) -> Path:
    return out / input_name / f"{video_name}.npy"


def video_identity(path: Path) -> dict[str, Any]:
    """What tells this video from another with the same name: its size and a hash of both ends."""
    size = path.stat().st_size
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        digest.update(f.read(_ENDS))
        if size > 2 * _ENDS:
            f.seek(size - _ENDS)
        digest.update(f.read(_ENDS))
    return {"bytes": size, "sha1_ends": digest.hexdigest()}


def save_npy(path: Path, array: np.ndarray) -> str:
    """``array`` as float32 ``.npy`` at ``path``, atomically; returns the SHA-256 of the bytes written."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
    data = buf.getvalue()
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest()


def _finished(path: Path, out: Path, names: Sequence[str], records: Mapping[str, Any], section: str) -> bool | None:
    """True: extracted from this very file with this section, files as written; False: files exist but no record
    vouches for them; None: no files."""
    files = [feature_path(out, n, path.stem) for n in names]
    if not all(f.exists() for f in files):
        return None
    record = records.get(path.stem) or {}
    if (
        record.get("status") != "done"
        or record.get("section") != section
        or record.get("video") != video_identity(path)
    ):
        return False
    written = record.get("files") or {}
    return all(written.get(n) == file_digest(f) for n, f in zip(names, files))


def extract_features(
    extract_cfg: Mapping[str, Any],
    videos: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    out: str | os.PathLike[str],
    device: str = "cpu",
    rank: int = 0,
    world: int = 1,
    progress: bool = True,
    overwrite: bool = False,
) -> ExtractReport:
    """Extract every input's features of ``videos`` (a folder, a file or a list) into ``out``; see the module doc.

    A video that cannot be decoded or gives no instances is listed in ``report.failed`` and the run
    goes on; finished videos are skipped unless ``overwrite`` (which also replaces a folder made
    with another ``extract`` section, removing its files, instead of refusing). While it runs the
    folder is claimed: another job that tries to write into it is refused, naming this one.
    """
    start = time.perf_counter()
    out = Path(out)
    config = resolve_config(extract_cfg)
    mine = shard(list_videos(videos), rank, world)
    claim = Claim(out, rank, section_digest(config))
    with folder_lock(out):  # before building backbones: a refusal comes at once
        report, todo = _plan(config, mine, out, overwrite)
        if not todo:  # every file there and vouched for: a reader, not a writer, so it claims nothing
            report.seconds = time.perf_counter() - start  # (two trainings loading one cache never refuse each other)
            return report
        claim.refuse_others()
        open_folder(out, config, overwrite, world)
        if overwrite and rank == 0:
            remove_stale_rank_logs(out, world)
        claim.hold()
    with claim:
        _extract(config, todo, out, device, rank, world, progress, overwrite, report)
    report.seconds = time.perf_counter() - start
    return report


def _plan(config: dict[str, Any], mine: list[Path], out: Path, overwrite: bool) -> tuple[ExtractReport, list[Path]]:
    """The videos of ``mine`` still to extract, and a report with the ones finished before (``skipped``)."""
    section = section_digest(config)
    records = {} if overwrite else read_manifest(out)["videos"]  # every rank's log: the shards may have moved
    report = ExtractReport(instances=dict.fromkeys(config["inputs"], 0))
    todo = []
    for path in mine:
        finished = None if overwrite else _finished(path, out, list(config["inputs"]), records, section)
        if finished:
            report.skipped.append(path.stem)
        else:
            todo.append(path)
            if finished is False:
                report.changed.append(path.stem)
    return report, todo


def _extract(
    config: dict[str, Any],
    todo: list[Path],
    out: Path,
    device: str,
    rank: int,
    world: int,
    progress: bool,
    overwrite: bool,
    report: ExtractReport,
) -> None:
    """Extract ``todo`` into ``out`` (claimed by this process), adding to ``report``."""
    section = section_digest(config)
    log = RankLog(out, rank, world, fresh=overwrite)
    names = list(config["inputs"])
    extractor = Extractor(config, device)
    report.inputs = {n: f"{i.backbone.feature_dim}-d {i.backbone.name}" for n, i in extractor.inputs.items()}
    for name in names:
        make_folder(out / name)
    describe_inputs(out, extractor.describe())
    tic = time.perf_counter()
    desc = "extract" if world == 1 else f"extract rank {rank}/{world}"
    with progress_bar(len(todo), desc, "video", enabled=progress) as bar:
        for result in extractor.stream(todo):
            _record(result, out, names, report, log, section)
            bar.update(1)
            bar.set_postfix_str(f"{report.frames / max(time.perf_counter() - tic, 1e-9):.0f} frames/s")
    for name, inp in extractor.inputs.items():
        if inp.cropper is not None:
            counts = report.crops.get(name, {"frames": 0, "fallbacks": 0, "kept": 0})
            report.croppers[name] = inp.cropper.summary(counts)


def _record(
    result: VideoResult, out: Path, names: Sequence[str], report: ExtractReport, log: RankLog, section: str
) -> None:
    """Write one video's files (or note its failure) in the report and the rank's log."""
    if result.error is not None:
        report.failed[result.name] = result.error
        log.failed(result.name, result.error)
        for name in names:  # files from an earlier run (--overwrite) must not pass for this one's
            feature_path(out, name, result.name).unlink(missing_ok=True)
        return
    identity = video_identity(result.path)
    files = {}
    for name in names:
        files[name] = save_npy(feature_path(out, name, result.name), result.features[name])
        report.instances[name] += len(result.features[name])
    for name, counts in result.crops.items():
        total = report.crops.setdefault(name, dict.fromkeys(counts, 0))
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    report.frames += result.frames
    report.done.append(result.name)
    report.warnings += result.warnings
    record = {
        "section": section,
        "instances": result.instances,
        "frames": result.frames,
        "source": result.source,
        "warnings": result.warnings,
        "crops": result.crops,
        "files": files,
    }
    log.done(result.name, {**record, "seconds": result.seconds, "video": identity})
