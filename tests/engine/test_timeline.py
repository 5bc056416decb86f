"""The attention timeline: thumbnails of the most-weighted instances, synthetic elements, bad videos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from zoo.data.synthetic import make_synthetic
from zoo.data.video import VideoReader
from zoo.engine.predict import VideoScore
from zoo.engine.timeline import THUMB_HEIGHT, attention_figure, frames_near, plot_attention, synthetic_elements

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


def drawn(result: VideoScore) -> dict[str, Any]:
    """What the picture shows, read back from its figure: bars per stream, thumbnails, shaded elements, texts."""
    import matplotlib.pyplot as plt
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    fig = attention_figure(result)
    try:
        shown: dict[str, Any] = {"bars": {}, "spans": {}, "xlabel": {}, "thumbnails": [], "titles": []}
        for ax in fig.axes:
            shown["titles"].append(ax.get_title(loc="left"))
            stream = ax.get_ylabel().split("\n")[0]
            if ax.patches and stream:
                bars = [p for container in ax.containers for p in container.patches]  # ax.bar's rectangles
                shown["bars"][stream] = [(round(p.get_x(), 4), round(p.get_height(), 6)) for p in bars]
                shown["spans"][stream] = len([p for p in ax.patches if p not in bars])
                shown["xlabel"][stream] = ax.get_xlabel()
        for artist in fig.artists:
            if isinstance(artist, AnnotationBbox):
                box = artist.offsetbox
                images = [c for c in box.get_children() if isinstance(c, OffsetImage)]
                shown["thumbnails"] += [np.asarray(i.get_data()) for i in images]
        shown["texts"] = [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]
        shown["suptitle"] = fig._suptitle.get_text() if fig._suptitle else ""
        return shown
    finally:
        plt.close(fig)


def test_the_picture_shows_the_weights_the_top_frames_and_the_elements(render: Path, tmp_path: Path) -> None:
    video = render / "videos" / "Synth_001.mp4"
    result = scored(video)
    shown = drawn(result)
    for stream, weights in result.weights.items():  # one bar per instance, at its time, as tall as its weight
        step = SECONDS[stream]
        assert shown["bars"][stream] == [(round(k * step, 4), round(w, 6)) for k, w in enumerate(weights)]
        assert shown["xlabel"][stream].startswith("seconds")
    # The four most-weighted dynamic instances, in time order: the frames nearest their middles.
    w = np.asarray(result.weights["dynamic"])
    top = sorted(np.argsort(-w, kind="stable")[:4])
    frames = frames_near(video, [(k + 0.5) * SECONDS["dynamic"] for k in top], THUMB_HEIGHT)
    assert len(shown["thumbnails"]) == 4
    for got, want in zip(shown["thumbnails"], frames):
        assert np.array_equal(got, want)
    # Every element of the routine shaded twice (the element and its hold) on each timed axis.
    elements = synthetic_elements(video)
    assert elements and all(n == 2 * len(elements) for n in shown["spans"].values())
    assert "judged 11.00" in shown["suptitle"] and "12.30" in shown["suptitle"]
    # Written atomically, as a PNG.
    path = plot_attention(result, tmp_path / "with.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not list(tmp_path.glob(".*.tmp"))


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
    found = frames_near(bad, [1.0], THUMB_HEIGHT)
    assert found is None or kind == "truncated"  # its start may still decode
    shown = drawn(scored(bad))
    assert len(shown["thumbnails"]) == (4 if found is not None else 0)
    assert set(shown["bars"]) == {"dynamic", "static"}  # the weights are drawn all the same


def test_without_seconds_or_weights(render: Path) -> None:
    video = render / "videos" / "Synth_001.mp4"
    # No seconds per instance: bars over instance numbers, nothing placed in time (no thumbnails, no elements).
    shown = drawn(scored(video, {"dynamic": None, "static": None}))
    assert [x for x, _ in shown["bars"]["dynamic"]] == list(range(10))
    assert [x for x, _ in shown["bars"]["static"]] == list(range(8))
    assert "seconds per instance unknown" in shown["xlabel"]["dynamic"]
    assert not shown["thumbnails"] and not any(shown["spans"].values())
    # A model without instance weights (mean pooling) still gets its picture, saying why it has no bars.
    pooled = VideoScore("Synth_001", 10.0, {"dynamic": None}, {"dynamic": 0.8}, str(video))
    assert "this model has no instance weights (e.g. mean pooling)" in drawn(pooled)["texts"]


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
