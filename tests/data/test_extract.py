"""Feature extraction on tiny MP4s with tiny random-init backbones (x3d_xs and resnet18 at 32x32)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from aqa_tools.extract_features import main as extract_main
from registry import ConfigError
from zoo.backbones import PtvBackbone
from zoo.data.extract import (
    ExtractError,
    Extractor,
    extract_features,
    extract_video,
    read_manifest,
    resolve_config,
    shard,
)
from zoo.data.extract import pipeline as pipeline_module
from zoo.data.extract.config import section_digest
from zoo.data.extract.run import save_npy
from zoo.data.features import load_feature
from zoo.kinds import SAMPLERS

FPS = 10  # the tiny videos' frame rate
SECONDS = {"a": 2.0, "b": 3.0, "c": 4.0}
CFG: dict[str, Any] = {
    "seed": 0,
    "batch_size": 2,
    "workers": 0,  # tiny videos decode in this process; worker processes have tests of their own (below)
    "inputs": {
        "dynamic": {
            "sampler": {"type": "clips", "length": 4, "fps": 5.0},
            "backbone": {"type": "ptv:x3d_xs"},
            "size": [32, 32],
        },
        "static": {
            "sampler": {"type": "frames", "fps": 1.0, "context": 1, "context_fps": 5.0},
            "cropper": {"type": "motion"},
            "backbone": {"type": "timm:resnet18"},
            "size": [32, 32],
        },
    },
}
WIDTHS = {"dynamic": 2048, "static": 512}


def expected_instances(seconds: float) -> dict[str, int]:
    return {"dynamic": int(seconds * 5) // 4, "static": int(np.ceil(seconds))}


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/data/conftest.py


@pytest.fixture(scope="module")
def videos(make_video: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of three tiny 64x64 MP4s: a (2 s), b (3 s), c (4 s)."""
    folder = tmp_path_factory.mktemp("extract_videos")
    for name, seconds in SECONDS.items():
        shutil.copy(make_video(f"extract_{name}.mp4", seconds=seconds, fps=FPS), folder / f"{name}.mp4")
    return folder


@pytest.fixture(scope="module")
def full_run(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("features")
    return out, extract_features(CFG, videos, out, progress=False)


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor(CFG)


def load_all(out: Path) -> dict[tuple[str, str], np.ndarray]:
    return {(p.parent.name, p.stem): np.load(p) for p in sorted(out.glob("*/*.npy"))}


def test_files_shapes_and_manifest(full_run: tuple[Path, Any]) -> None:
    out, report = full_run
    assert report.ok and report.done == ["a", "b", "c"] and not report.skipped
    for name, seconds in SECONDS.items():
        for key, n in expected_instances(seconds).items():
            arr = load_feature(out / key / f"{name}.npy", WIDTHS[key])
            assert arr.shape == (n, WIDTHS[key]) and arr.dtype == np.float32
    manifest = read_manifest(out)
    assert manifest["extract"] == json.loads(json.dumps(resolve_config(CFG)))
    assert {k: v["feature_dim"] for k, v in manifest["inputs"].items()} == WIDTHS
    assert manifest["inputs"]["static"]["input_spec"]["size"] == [32, 32]
    assert {"torch", "timm", "pytorchvideo"} <= {k for k, v in manifest["versions"].items() if v}
    for name, seconds in SECONDS.items():
        record = manifest["videos"][name]
        assert record["status"] == "done" and record["instances"] == expected_instances(seconds)
        assert record["crops"]["static"]["frames"] == expected_instances(seconds)["static"]
    assert manifest["failed"] == {}
    assert sum(report.instances.values()) == sum(sum(expected_instances(s).values()) for s in SECONDS.values())
    assert "motion cropper" in report.croppers["static"] and "static:" in report.summary()
    assert not list(out.rglob("*.tmp"))


def test_same_seed_same_features(full_run: tuple[Path, Any], videos: Path, tmp_path: Path) -> None:
    extract_features(CFG, [videos / "a.mp4"], tmp_path / "again", progress=False)
    first = np.load(full_run[0] / "dynamic" / "a.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "again" / "dynamic" / "a.npy"), first)
    np.testing.assert_array_equal(
        np.load(tmp_path / "again" / "static" / "a.npy"), np.load(full_run[0] / "static" / "a.npy")
    )
    other = Extractor({**CFG, "seed": 1}).video(videos / "a.mp4")
    assert not np.allclose(other["dynamic"], first)  # the seed does decide the random weights


def test_extract_video_matches_files(full_run: tuple[Path, Any], videos: Path, extractor: Extractor) -> None:
    for name in SECONDS:
        arrays = extract_video(extractor, videos / f"{name}.mp4")
        assert set(arrays) == {"dynamic", "static"}
        for key, arr in arrays.items():
            np.testing.assert_allclose(arr, np.load(full_run[0] / key / f"{name}.npy"), rtol=0, atol=1e-6)


def test_extract_video_names_a_broken_video(extractor: Extractor, tmp_path: Path) -> None:
    bad = tmp_path / "Broken_007.mp4"
    bad.write_bytes(b"\x00not a video" * 64)
    with pytest.raises(ExtractError, match="Broken_007"):
        extract_video(extractor, bad)


def test_failures_are_reported_and_the_tool_exits_nonzero(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], make_video: Callable[..., Path]
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(videos / "a.mp4", folder / "good.mp4")
    (folder / "corrupt.mp4").write_bytes(np.random.default_rng(0).integers(0, 255, 4000, np.uint8).tobytes())
    (folder / "empty.mp4").write_bytes(b"")
    whole = make_video("extract_faststart.mp4", seconds=3.0, fps=FPS, faststart=True).read_bytes()
    (folder / "truncated.mp4").write_bytes(whole[: len(whole) // 3])
    shutil.copy(make_video("extract_short.mp4", seconds=0.4, fps=FPS), folder / "short.mp4")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump({"extract": CFG}))
    out = tmp_path / "out"
    code = extract_main([str(recipe), "--videos", str(folder), "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 1
    for name in ("corrupt", "empty", "truncated", "short"):
        assert f"  {name}: " in printed
    assert "no instances" in printed  # the short video's reason
    assert (out / "dynamic" / "good.npy").exists() and (out / "static" / "good.npy").exists()
    assert sorted(p.stem for p in out.glob("*/*.npy")) == ["good", "good"]
    assert set(read_manifest(out)["failed"]) == {"corrupt", "empty", "truncated", "short"}


def test_tool_without_extract_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "no_extract.yaml"
    recipe.write_text(yaml.safe_dump({"model": {"type": "scorer"}}))
    code = extract_main([str(recipe), "--videos", str(tmp_path), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no extract: section" in err and "sampler" in err and "backbone" in err


def test_resume_after_an_interruption(
    videos: Path, full_run: tuple[Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    forward = PtvBackbone.forward
    calls = []

    def crash_on_second_video(self: PtvBackbone, x: Any) -> Any:
        calls.append(len(x))
        if len(calls) == 2:  # video a is one batch of two clips; the next batch is video b's
            raise RuntimeError("simulated crash")
        return forward(self, x)

    monkeypatch.setattr(PtvBackbone, "forward", crash_on_second_video)
    serial = {**CFG, "workers": 0}  # decoded here, in order: b's batch is the second call
    with pytest.raises(ExtractError, match=r"b\.mp4.*ptv:x3d_xs.*simulated crash"):
        extract_features(serial, videos, out, progress=False)
    monkeypatch.undo()
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.npy")) == ["dynamic/a.npy", "static/a.npy"]
    assert not list(out.rglob("*.tmp"))  # no temp files left
    assert not list((out / ".writers").iterdir())  # the crashed run released its claim on the folder
    (out / "dynamic" / ".b.npy.12345.tmp").write_bytes(b"half")  # as a killed run would leave
    shutil.copy(out / "dynamic" / "a.npy", out / "dynamic" / "b.npy")  # one input of two: not finished
    report = extract_features(CFG, videos, out, progress=False)
    assert report.skipped == ["a"] and report.done == ["b", "c"] and report.ok
    assert not list(out.rglob("*.tmp"))
    full = load_all(full_run[0])
    resumed = load_all(out)
    assert resumed.keys() == full.keys()
    for key in full:
        np.testing.assert_allclose(resumed[key], full[key], rtol=0, atol=1e-6)


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "v.npy"

    def interrupted(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("registry.files.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_npy(target, np.ones((3, 4)))
    assert list(tmp_path.iterdir()) == []


def test_other_extract_section_is_refused(full_run: tuple[Path, Any], videos: Path, tmp_path: Path) -> None:
    out = full_run[0]
    other = json.loads(json.dumps(CFG))
    other["seed"] = 3
    other["inputs"]["static"]["backbone"]["type"] = "timm:resnet34"
    with pytest.raises(ConfigError) as info:
        extract_features(other, videos, out, progress=False)
    assert "extract.seed" in str(info.value) and "extract.inputs.static.backbone.type" in str(info.value)
    assert "--overwrite" in str(info.value)
    # The batch size changes only the speed: the same folder takes it (every video is finished).
    report = extract_features({**CFG, "batch_size": 5}, videos, out, progress=False)
    assert report.skipped == ["a", "b", "c"] and not report.done
    # --overwrite replaces the manifest and extracts again.
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    other["inputs"]["static"]["backbone"]["type"] = "timm:resnet18"
    report = extract_features(other, [videos / "a.mp4"], copy, progress=False, overwrite=True)
    assert report.done == ["a"]
    assert read_manifest(copy)["extract"]["seed"] == 3


def test_sharding_splits_the_full_run(full_run: tuple[Path, Any], videos: Path, tmp_path: Path) -> None:
    out = tmp_path / "sharded"
    reports = [extract_features(CFG, videos, out, rank=r, world=2, progress=False) for r in (0, 1)]
    assert reports[0].done == ["a", "c"] and reports[1].done == ["b"]
    full, sharded = load_all(full_run[0]), load_all(out)
    assert sharded.keys() == full.keys()
    for key in full:
        np.testing.assert_allclose(sharded[key], full[key], rtol=0, atol=1e-6)
    assert set(read_manifest(out)["videos"]) == set(SECONDS)
    assert (out / "extract.rank0.json").exists() and (out / "extract.rank1.json").exists()
    with pytest.raises(ValueError, match="rank"):
        shard([], 2, 2)


def test_tool_takes_rank_and_world_from_the_environment(
    videos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump({"extract": CFG}))
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    out = tmp_path / "out"
    assert extract_main([str(recipe), "--videos", str(videos), "--out", str(out), "--no-progress"]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.npy")) == ["dynamic/b.npy", "static/b.npy"]
    # Whichever rank claims the folder first writes the manifest, naming the section; each rank keeps its own log.
    assert read_manifest(out)["section"] == section_digest(resolve_config(CFG))
    assert (out / "extract.rank1.json").exists() and not (out / "extract.rank0.json").exists()


@pytest.mark.slow  # seconds of other processes or of rendering: skip with -m 'not slow'
def test_two_ranks_under_torchrun_make_the_full_run(full_run: tuple[Path, Any], videos: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump({"extract": CFG}))
    out = tmp_path / "out"
    root = Path(__file__).resolve().parents[2]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29741"]
    tool = ["tools/extract_features.py", str(recipe), "--videos", str(videos), "--out", str(out), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*torchrun, *tool], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    full = load_all(full_run[0])
    assert load_all(out).keys() == full.keys()
    for key, arr in load_all(out).items():
        np.testing.assert_allclose(arr, full[key], rtol=0, atol=1e-6)
    manifest = read_manifest(out)
    assert set(manifest["videos"]) == set(SECONDS) and manifest["failed"] == {}
    shares = [sorted(json.loads((out / f"extract.rank{r}.json").read_text())["videos"]) for r in (0, 1)]
    assert shares == [["a", "c"], ["b"]]  # each process took its own share, none did it all


def test_memory_is_bounded(
    make_video: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registered: Any
) -> None:
    """A worker process stays at most a few instances ahead of the backbone, however long the video."""
    from tests.data.extract_plugins import LoggedClips

    registered(SAMPLERS, "test_logged_clips", LoggedClips)  # the worker unpickles the sampler by its class

    video = make_video("extract_long.mp4", seconds=8.0, fps=FPS)  # 10 clips
    log = tmp_path / "made.txt"
    sampler = {"type": "test_logged_clips", "log": str(log), "length": 4, "fps": 5.0}
    cfg = {
        "seed": 0,
        "batch_size": 1,
        "prefetch": 1,
        "inputs": {"dynamic": {**CFG["inputs"]["dynamic"], "sampler": sampler}},
    }
    extractor = Extractor(cfg, workers=1)
    consumed: list[float] = []
    forward = pipeline_module.Extractor._forward

    def slow_forward(self: Extractor, batch: Any, path: Path) -> np.ndarray:
        consumed.append(time.monotonic())
        time.sleep(0.05)  # a backbone slower than decoding: an unbounded producer would run far ahead
        return forward(self, batch, path)

    monkeypatch.setattr(pipeline_module.Extractor, "_forward", slow_forward)
    (result,) = extractor.stream([video])
    assert result.error is None and len(result.features["dynamic"]) == 10
    made = sorted(float(t) for t in log.read_text().split())
    assert len(made) == 10  # made in the worker process, not here
    ahead = max(sum(m <= t for m in made) - i for i, t in enumerate(consumed))
    # One prefetched message, one being made; unbounded, the worker would be all 10 clips ahead.
    assert ahead <= 3, (made, consumed)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="Did you mean: 'batch_size'"):
        resolve_config({**CFG, "batchsize": 4})
    with pytest.raises(ConfigError, match="needs backbone"):
        resolve_config({"inputs": {"x": {"sampler": {"type": "clips"}}}})
    with pytest.raises(ConfigError, match="cropper.*video backbone"):
        Extractor({"inputs": {"x": {**CFG["inputs"]["dynamic"], "cropper": {"type": "center"}}}})
    with pytest.raises(ConfigError, match=r"extract\.inputs\.x\.sampler"):
        Extractor({"inputs": {"x": {**CFG["inputs"]["dynamic"], "sampler": {"type": "clips", "lenght": 4}}}})


def test_each_video_is_decoded_once_for_every_input(full_run: tuple[Path, Any]) -> None:
    out, report = full_run
    manifest = read_manifest(out)
    for name, seconds in SECONDS.items():
        assert manifest["videos"][name]["frames"] == round(seconds * FPS)  # one pass, not one per input
    assert report.frames == sum(round(s * FPS) for s in SECONDS.values())


def test_worker_processes_give_the_same_features(videos: Path, full_run: tuple[Path, Any]) -> None:
    paths = sorted(videos.glob("*.mp4"))
    serial = [r.features for r in Extractor(CFG, workers=0).stream(paths)]
    parallel = list(Extractor(CFG, workers=2).stream(paths))
    assert [r.name for r in parallel] == ["a", "b", "c"]  # in order, whichever worker finished first
    for one, other in zip(serial, parallel):
        for key in WIDTHS:
            np.testing.assert_array_equal(one[key], other.features[key])
    assert sum(r.crops["static"]["frames"] for r in parallel) == sum(
        expected_instances(s)["static"] for s in SECONDS.values()
    )


def test_ffmpeg_resizing_stays_close_to_resizing_full_frames(videos: Path, extractor: Extractor) -> None:
    """Clips are decoded at the backbone's size by FFmpeg; before, full RGB frames were resized by torchvision."""
    from zoo.data.samplers import ClipSampler
    from zoo.data.video import VideoReader

    dynamic = extractor.inputs["dynamic"]
    sampler = ClipSampler(length=4, fps=5.0)
    with VideoReader(videos / "c.mp4") as video:  # the old path: full-size RGB, then torchvision's resize
        clips = [dynamic.plan.transform(c.frames) for c in sampler(video.iter_frames(sampler.fps), video.num_frames)]
    with torch.inference_mode():
        old = dynamic.backbone(torch.stack(clips)).numpy()
    new = extractor.video(videos / "c.mp4")["dynamic"]
    cos = (old * new).sum(1) / (np.linalg.norm(old, axis=1) * np.linalg.norm(new, axis=1))
    assert old.shape == new.shape and cos.min() >= 0.99, cos


def test_a_video_that_changed_is_extracted_again(videos: Path, tmp_path: Path, make_video: Callable[..., Path]) -> None:
    folder = tmp_path / "v"
    shutil.copytree(videos, folder)
    out = tmp_path / "out"
    extract_features(CFG, folder, out, progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/*.npy")}
    shutil.copy(make_video("extract_other.mp4", seconds=2.5, fps=FPS), folder / "b.mp4")  # same name, new content
    report = extract_features(CFG, folder, out, progress=False)
    assert report.skipped == ["a", "c"] and report.done == ["b"] and report.changed == ["b"]
    assert "another version of the video" in report.summary()
    assert np.load(out / "dynamic" / "b.npy").shape[0] == expected_instances(2.5)["dynamic"]
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items() if p.stem != "b")


def test_a_truncated_mkv_without_a_frame_count_is_a_failure(tmp_path: Path) -> None:
    from fractions import Fraction

    import av

    from tests.data.conftest import make_frames
    from zoo.data.video import VideoError, VideoReader

    path = tmp_path / "cut.mkv"
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.height = stream.width = 64
        stream.pix_fmt = "yuv420p"
        for i, image in enumerate(make_frames(60, 64)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with VideoReader(path) as video:
        assert video.duration == pytest.approx(6.0, abs=0.2) and not video._header_frames  # MKV: a duration, no count
        with pytest.raises(VideoError, match=r"decoded only .* s of the 6\.\d+ s its container states"):
            list(video.frames())
    report = extract_features(CFG, [path], tmp_path / "out", progress=False)
    assert list(report.failed) == ["cut"] and "truncated" in report.failed["cut"]


def test_a_full_disk_stops_with_its_own_exit_code(
    videos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    import registry.files

    real_open = open
    out = tmp_path / "out"

    def full(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "w" in mode and str(path).endswith(".tmp") and "/static/" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(registry.files, "open", full, raising=False)
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump({"extract": CFG}))
    code = extract_main([str(recipe), "--videos", str(videos), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 4 and f"no space left on {out / 'static'}" in err
    assert not list(out.rglob("*.tmp"))  # nothing half-written is left
