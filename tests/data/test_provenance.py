"""Feature folders carry what made them, writers own their folders, and no property of a video is ignored."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

import zoo
from registry import ConfigError
from registry.provenance import MismatchError
from tests.data.conftest import make_frames, write_mp4
from tests.data.test_extract import CFG
from zoo.data.extract import claim as claim_module
from zoo.data.extract import extract_features, read_manifest, resolve_config
from zoo.data.extract.config import section_digest
from zoo.data.features import FeatureError
from zoo.data.video import VideoReader

FPS = 10
OTHER = {**CFG, "seed": 1}  # another section: the same backbones with other random weights


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/data/conftest.py


@pytest.fixture(scope="module")
def videos(make_video: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five tiny routines, Ball_000 ... Ball_004, with RG annotations beside them (annotations/)."""
    root = tmp_path_factory.mktemp("provenance_set")
    (root / "videos").mkdir()
    lines = ["Video_Name\tDifficulty_Score\tExecution_Score\tTotal_Score\tPenalty\tVideo_length"]
    for i in range(5):
        shutil.copy(make_video(f"prov_{i}.mp4", seconds=2.0 + 0.5 * i, fps=FPS), root / "videos" / f"Ball_{i:03d}.mp4")
        d, e = 3.0 + i, 5.0 + 0.5 * i
        lines.append(f"Ball_{i:03d}\t{d:.2f}\t{e:.2f}\t{d + e:.2f}\t0.00\t90")
    (root / "annotations").mkdir()
    (root / "annotations" / "train.txt").write_text("\n".join(lines[:4]) + "\n")  # Ball_000 ... Ball_002
    (root / "annotations" / "test.txt").write_text("\n".join([lines[0], *lines[4:]]) + "\n")  # Ball_003, Ball_004
    return root


@pytest.fixture(scope="module")
def made(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The set's features made with CFG, and its annotations beside them (a data.root)."""
    out = tmp_path_factory.mktemp("made")
    assert extract_features(CFG, videos / "videos", out, progress=False).ok
    for f in (videos / "annotations").iterdir():
        shutil.copy(f, out / f.name)
    return out


def overrides(root: Path, out: Path, extract: dict[str, Any] = CFG) -> list[str]:
    return [
        f"data.root={root}",
        "data.annotations={train: train.txt, test: test.txt}",
        "data.window={dynamic: null, static: null}",
        "data.pad_mask=true",
        "data.classes=null",
        "model.inputs={dynamic: 2048, static: 512}",
        "model.streams.dynamic.embed.out_dim=8",
        "model.streams.static.embed.out_dim=8",
        "model.head.hidden_dims=[8]",
        "train.epochs=1",
        "train.batch_size=2",
        f"run.out={out}",
        "run.device=cpu",
        "run.tensorboard=false",
        "run.progress=false",
        f"+extract={json.dumps(extract)}",
    ]


# -- writers own their folders ---------------------------------------------------------------------
def test_a_second_job_is_refused_while_another_writes_the_folder(
    videos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "shared"
    out.mkdir()
    monkeypatch.setattr(claim_module, "job_name", lambda: "the-other-job")
    other = claim_module.Claim(out, 0, section_digest(resolve_config(OTHER)))
    with claim_module.folder_lock(out):
        other.hold()  # a job that is still running
    monkeypatch.undo()
    try:
        with pytest.raises(ConfigError, match=r"another extraction is writing into .* pid \d+ .* another extract sec"):
            extract_features(CFG, videos / "videos", out, progress=False)
        assert not list(out.glob("*/*.npy"))  # refused before it wrote anything
    finally:
        other.release()
    # Once that job is gone (its lock released with its process), the folder is free again.
    assert extract_features(CFG, [videos / "videos" / "Ball_000.mp4"], out, progress=False).done == ["Ball_000"]


def test_reading_a_finished_folder_claims_nothing_and_is_never_refused(
    videos: Path, made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two trainings (two seeds' processes) loading one finished cache: neither writes, so neither is refused;
    a video still to extract makes a writer of it, and then another job's claim refuses it."""
    out = tmp_path / "copy"
    shutil.copytree(made, out)
    monkeypatch.setattr(claim_module, "job_name", lambda: "another-training")
    other = claim_module.Claim(out, 0, section_digest(resolve_config(CFG)))
    with claim_module.folder_lock(out):
        other.hold()  # a job writing into the folder right now
    monkeypatch.undo()
    try:
        report = extract_features(CFG, videos / "videos", out, progress=False)
        assert report.ok and not report.done and len(report.skipped) == len(list((videos / "videos").iterdir()))
        assert [w["job"] for w in claim_module.live_writers(out)] == ["another-training"]  # no claim of its own
        (out / "dynamic" / "Ball_000.npy").unlink()  # now there is something to write
        with pytest.raises(ConfigError, match="another extraction is writing"):
            extract_features(CFG, videos / "videos", out, progress=False)
    finally:
        other.release()


def test_a_new_folder_names_its_section_before_its_first_video(videos: Path, tmp_path: Path) -> None:
    """Two extractions started on one new --out with different sections: the second is refused, not mixed."""
    out = tmp_path / "new"
    with claim_module.folder_lock(out):  # what the first job does before it builds a backbone
        from zoo.data.extract.manifest import open_folder

        open_folder(out, resolve_config(CFG), overwrite=False, world=1)
    assert read_manifest(out)["section"] == section_digest(resolve_config(CFG)) and not read_manifest(out)["videos"]
    with pytest.raises(ConfigError, match=r"(?s)another extract section.*extract\.seed: 0 before, 1 now"):
        extract_features(OTHER, videos / "videos", out, progress=False)


def test_overwrite_leaves_no_file_of_the_old_section(videos: Path, made: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    shutil.copytree(made, out)
    subset = [videos / "videos" / "Ball_000.mp4"]
    report = extract_features(OTHER, subset, out, progress=False, overwrite=True)
    assert report.done == ["Ball_000"]
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.npy")) == [
        "dynamic/Ball_000.npy",
        "static/Ball_000.npy",
    ]  # the other videos' old-section files are gone, not kept beside the new one
    assert set(read_manifest(out)["videos"]) == {"Ball_000"}
    # A file of the old section copied back in is refused by every reader, naming it and why.
    shutil.copy(made / "dynamic" / "Ball_001.npy", out / "dynamic" / "Ball_001.npy")
    shutil.copy(made / "static" / "Ball_001.npy", out / "static" / "Ball_001.npy")
    from zoo.data.annotations import read_rg
    from zoo.data.extract.manifest import FolderRecords
    from zoo.data.features import read_split

    rows = [a for a in read_rg(made / "train.txt") if a.name in ("Ball_000", "Ball_001")]
    records = {k: FolderRecords.read(out) for k in ("dynamic", "static")}
    folders = {k: out / k for k in records}
    with pytest.raises(
        FeatureError,
        match=r"(?s)1 feature file\(s\) in .*dynamic are not vouched for.*Ball_001\.npy: no finished extraction",
    ):
        read_split(rows, folders, {"dynamic": 2048, "static": 512}, 1.0, records=records)


def test_a_replaced_feature_file_is_extracted_again_and_refused_meanwhile(
    videos: Path, made: Path, tmp_path: Path
) -> None:
    out = tmp_path / "copy"
    shutil.copytree(made, out)
    victim = out / "static" / "Ball_002.npy"
    np.save(victim, np.load(victim) + 1.0)  # same name, same shape, other numbers
    with pytest.raises(FeatureError, match=r"Ball_002\.npy: its bytes are not the ones the extraction wrote"):
        zoo.engine.train("actionnet/base", overrides(out, tmp_path / "runs"), progress=False)
    report = extract_features(CFG, videos / "videos", out, progress=False)
    assert report.changed == ["Ball_002"] and report.done == ["Ball_002"] and len(report.skipped) == 4
    np.testing.assert_array_equal(np.load(victim), np.load(made / "static" / "Ball_002.npy"))


# -- consumers compare what made the features with what they expect --------------------------------------
def test_features_of_another_extract_section_are_refused_and_predict_makes_them_as_training_did(
    videos: Path, made: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    with pytest.raises(MismatchError, match=r"(?s)made by another extract section than the recipe.s.*seed: 1 in"):
        zoo.engine.train("actionnet/base", overrides(made, runs, extract=OTHER), progress=False)
    results = zoo.engine.train("actionnet/base", overrides(made, runs, OTHER), progress=False, accept_mismatch=True)
    assert any("seed: 1 in the recipe's extract section, 0 made the features" in a for a in results["accepted"])
    ckpt = Path(results["run_dir"]) / "last.pt"
    # The checkpoint knows how its features were made: a video is extracted that way (CFG), not as its recipe
    # says (OTHER), and scores exactly as its feature files do.
    from zoo.engine.predict import predict

    from_video = predict(ckpt, [str(videos / "videos" / "Ball_004.mp4")], plot_dir=None).scores[0].score
    from_files = predict(ckpt, ["Ball_004"], feature_root=made, plot_dir=None).scores[0].score
    assert from_video == pytest.approx(from_files, abs=1e-5)
    # Feature files from another section are refused by predict and test alike.
    other = tmp_path / "other"
    extract_features(OTHER, [videos / "videos" / "Ball_004.mp4"], other, progress=False)
    failed = predict(ckpt, ["Ball_004"], feature_root=other, plot_dir=None).failed
    assert "made by another extract section" in failed["Ball_004"] and "seed" in failed["Ball_004"]
    accepted = predict(ckpt, ["Ball_004"], feature_root=other, plot_dir=None, accept_mismatch=True).scores[0]
    assert accepted.accepted and "seed" in " ".join(accepted.accepted)
    # tools/test.py on a data.root of the other section's features: refused, or scored and labelled as accepted.
    for name in ("Ball_003",):  # the test split is Ball_003 and Ball_004
        extract_features(OTHER, [videos / "videos" / f"{name}.mp4"], other, progress=False)
    for f in (videos / "annotations").iterdir():
        shutil.copy(f, other / f.name)
    at_other = [f"data.root={other}", "data.annotations={train: test.txt, test: test.txt}", "+data.allow_overlap=true"]
    with pytest.raises(MismatchError, match=r"(?s)another extract section.*seed"):
        zoo.engine.test_checkpoint(ckpt, overrides=at_other, progress=False)
    tested = zoo.engine.test_checkpoint(ckpt, overrides=at_other, progress=False, accept_mismatch=True)
    assert any("seed" in a for a in tested["accepted"])


# -- every property of a video that changes what its frames mean -----------------------------------------
def _cut_at_packet(source: Path, keep: int, out: Path) -> Path:
    """``source`` cut where its packet ``keep`` starts (faststart MP4: the header still counts every frame)."""
    with av.open(str(source)) as container:
        starts = [p.pos for p in container.demux(container.streams.video[0]) if p.size]
    out.write_bytes(source.read_bytes()[: starts[keep]])
    return out


def test_a_video_cut_five_percent_short_fails_and_the_tolerance_is_a_setting(tmp_path: Path) -> None:
    whole = write_mp4(tmp_path / "whole.mp4", make_frames(200, 64), fps=25, faststart=True)
    folder = tmp_path / "videos"
    folder.mkdir()
    _cut_at_packet(whole, 190, folder / "Cut_001.mp4")
    report = extract_features(CFG, folder, tmp_path / "strict", progress=False)
    assert "decoded only 190 of the 200 frames its header promises (5.0% missing" in report.failed["Cut_001"]
    lenient = {**CFG, "max_missing_frames": 0.1}
    report = extract_features(lenient, folder, tmp_path / "lenient", progress=False)
    assert report.done == ["Cut_001"] and "5.0% of its frames are missing (190 of 200 decoded)" in report.warnings[0]
    assert "warnings (1):" in report.summary()
    source = read_manifest(tmp_path / "lenient")["videos"]["Cut_001"]["source"]
    assert source["frames_expected"] == 200 and source["frames_decoded"] == 190 and source["missing"] == 0.05


def test_a_rotated_video_is_decoded_upright_and_says_so(tmp_path: Path) -> None:
    stored = make_frames(10, 64)[:, :32]  # 32 rows x 64 columns as stored
    path = tmp_path / "Phone_001.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.height, stream.width = 32, 64
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "0"}
        stream.set_display_rotation(90)  # shown turned a quarter counter-clockwise, as a phone records portrait
        for i, image in enumerate(stored):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    video = VideoReader(path)
    assert video.rotation == 90 and video.size == (64, 32)  # displayed: 64 tall, 32 wide
    frame = next(video.frames())
    upright = frame.rgb()
    assert upright.shape == (64, 32, 3)
    assert np.abs(upright.astype(int) - np.rot90(stored[0]).astype(int)).mean() < 3  # the stored picture, turned
    assert frame.rgb((32, 16)).shape == (32, 16, 3)  # a resize keeps the displayed orientation
    report = extract_features(CFG, [path], tmp_path / "out", progress=False)
    assert report.ok and read_manifest(tmp_path / "out")["videos"]["Phone_001"]["source"]["rotation"] == 90


def test_a_video_slower_than_its_sampler_is_refused_naming_both_rates(make_video: Callable[..., Path]) -> None:
    slow = make_video("prov_slow.mp4", seconds=3.0, fps=4)  # the clip sampler reads 5 frames a second
    report = extract_features(CFG, [slow], slow.parent / "slow_out", progress=False)
    assert "has 4 frames per second, but input 'dynamic' samples 5 per second" in report.failed["prov_slow"]


def test_a_variable_frame_rate_is_refused_only_where_every_frame_is_read(tmp_path: Path) -> None:
    path = tmp_path / "Vfr_001.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.height = stream.width = 64
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 100)
        t = 0
        for i, image in enumerate(make_frames(40, 64)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 100)
            t += 5 if i % 2 else 20  # 0.05 s then 0.2 s: 8 frames a second on average, never 0.125 s apart
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    every = json.loads(json.dumps(CFG))
    every["inputs"]["dynamic"]["sampler"]["fps"] = None
    report = extract_features(every, [path], tmp_path / "every", progress=False)
    assert "variable frame rate" in report.failed["Vfr_001"] and "['dynamic']" in report.failed["Vfr_001"]
    timed = json.loads(json.dumps(CFG))
    timed["inputs"]["dynamic"]["sampler"]["fps"] = 4.0  # frames picked by their timestamps: honoured
    report = extract_features(timed, [path], tmp_path / "timed", progress=False)
    assert report.ok and read_manifest(tmp_path / "timed")["videos"]["Vfr_001"]["source"]["variable_rate"] is True
