"""The attention timeline: thumbnails of the most-weighted instances, synthetic elements, bad videos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from zoo.data.synthetic import make_synthetic
from zoo.data.video import VideoReader
from zoo.engine.predict import VideoScore
from zoo.engine.timeline import THUMB_HEIGHT, frames_near, plot_attention, synthetic_elements

SECONDS = {"dynamic": 0.8, "static": 1.0}


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 8 s: long enough for a routine with elements (a 3 s one has none)
    return make_synthetic(tmp_path_factory.mktemp("synthetic"), videos=2, size=64, duration=8.0, fps=10.0, workers=1)


def scored(source: str | Path, seconds: dict[str, float | None] = SECONDS) -> VideoScore:
    rng = np.random.default_rng(0)
    weights: dict[str, list[float] | None] = {
        "dynamic": rng.dirichlet(np.ones(10)).tolist(),
        "static": rng.dirichlet(np.ones(8)).tolist(),
    }
    return VideoScore("Synth_001", 12.3, weights, dict(seconds), str(source), judged=11.0)


def test_thumbnails_and_elements_are_drawn(render: Path, tmp_path: Path) -> None:
    video = render / "videos" / "Synth_001.mp4"
    with_frames = plot_attention(scored(video), tmp_path / "with.png")
    without = plot_attention(scored(""), tmp_path / "without.png")
    assert with_frames.is_file() and without.is_file()
    assert with_frames.stat().st_size > without.stat().st_size + 10_000  # four thumbnails and shaded elements
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically


def test_elements_come_from_the_render_folder(render: Path) -> None:
    latents = json.loads((render / "latents.json").read_text())["Synth_001"]["elements"]
    found = synthetic_elements(render / "videos" / "Synth_001.mp4")
    assert latents and [e.name for e in found] == [e["name"] for e in latents]
    assert [(e.start, e.end) for e in found] == [(e["frames"][0] / 10.0, e["frames"][3] / 10.0) for e in latents]
    # A video outside a synthetic render folder has no known elements.
    assert synthetic_elements(render / "meta" / "Synth_001.json") == []


def test_frames_nearest_the_times(render: Path) -> None:
    video = render / "videos" / "Synth_001.mp4"
    every = [f.image for f in VideoReader(video).iter_frames()]
    picked = frames_near(video, [0.26, 0.0, 100.0], height=64)  # the video's own size: exact frames
    assert picked is not None
    for image, index in zip(picked, [3, 0, len(every) - 1]):  # 0.26 s is nearest frame 3 (0.3 s) at 10 fps
        assert np.array_equal(image, every[index])
    small = frames_near(video, [1.0], height=THUMB_HEIGHT)
    assert small is not None and small[0].shape == (THUMB_HEIGHT, THUMB_HEIGHT, 3)


@pytest.mark.parametrize("kind", ["missing", "empty", "garbage", "truncated"])
def test_a_bad_video_means_no_thumbnails(render: Path, tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "videos" / "Synth_001.mp4"
    bad.parent.mkdir()
    data = (render / "videos" / "Synth_001.mp4").read_bytes()
    contents = {"missing": None, "empty": b"", "garbage": b"not a video" * 100, "truncated": data[: len(data) // 3]}
    if contents[kind] is not None:
        bad.write_bytes(contents[kind])
    assert frames_near(bad, [1.0], THUMB_HEIGHT) is None or kind == "truncated"  # its start may still decode
    assert plot_attention(scored(bad), tmp_path / "plot.png").stat().st_size > 1000


def test_without_seconds_or_weights(render: Path, tmp_path: Path) -> None:
    video = render / "videos" / "Synth_001.mp4"
    # No seconds per instance: bars over instance numbers, nothing placed in time (no thumbnails).
    untimed = plot_attention(scored(video, {"dynamic": None, "static": None}), tmp_path / "untimed.png")
    timed = plot_attention(scored(video), tmp_path / "timed.png")
    assert untimed.stat().st_size < timed.stat().st_size
    # A model without instance weights (mean pooling) still gets its picture.
    pooled = VideoScore("Synth_001", 10.0, {"dynamic": None}, {"dynamic": 0.8}, str(video))
    assert plot_attention(pooled, tmp_path / "pooled.png").stat().st_size > 1000


def test_a_damaged_render_folder_is_named_and_the_picture_still_drawn(
    render: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zoo.errors import DataError

    copy = tmp_path / "render"
    shutil.copytree(render, copy)
    latents = json.loads((copy / "latents.json").read_text())
    latents["Synth_001"]["elements"] = {"not": "a list"}  # what no version of the synthetic set writes
    (copy / "latents.json").write_text(json.dumps(latents))
    video = copy / "videos" / "Synth_001.mp4"
    with pytest.raises(DataError, match=r"latents\.json: Synth_001 has no list of elements"):
        synthetic_elements(video)
    (copy / "params.json").write_text(json.dumps({"fps": "ten"}))
    latents["Synth_001"]["elements"] = []
    (copy / "latents.json").write_text(json.dumps(latents))
    with pytest.raises(DataError, match=r"params\.json: 'fps' is 'ten', expected a positive number"):
        synthetic_elements(video)
    assert plot_attention(scored(video), tmp_path / "drawn.png").is_file()  # the scores are still worth a picture
    assert "warning: elements not shown" in capsys.readouterr().err
