"""The `synthetic` dataset: rendered, extracted with the recipe's extract section, cached, loaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import zoo
from tools.predict import main as predict_tool
from zoo.kinds import DATASETS

EXTRACT = {
    "seed": 0,
    "batch_size": 8,
    "inputs": {
        "dynamic": {
            "sampler": {"type": "clips", "length": 4, "fps": 5.0},
            "backbone": {"type": "ptv:x3d_xs", "zero_init_last": False},
            "size": [32, 32],
        },
        "static": {
            "sampler": {"type": "frames", "fps": 1.0, "context": 1, "context_fps": 5.0},
            "cropper": {"type": "motion", "box_size": 0.5},
            "backbone": {"type": "timm:resnet18", "zero_init_last": False},
            "size": [32, 32],
        },
    },
}


def build(root: Path, **kw: object):
    cfg = {"type": "synthetic", "root": str(root), "videos": 6, "duration": 3.0, "size": 64, "val_fraction": 0.25}
    return DATASETS.build({**cfg, **kw}).load({"dynamic": 2048, "static": 512}, EXTRACT, progress=False)


def test_renders_extracts_and_loads_then_reuses_the_cache(tmp_path: Path) -> None:
    data = build(tmp_path)
    assert len(data.train) + len(data.val) + len(data.test) == 6 and len(data.test) == 2  # test_fraction 0.25
    assert data.train.features["dynamic"][0].shape == (3, 2048)  # 3 s at 5 fps = 15 frames = 3 clips of 4
    assert data.train.features["static"][0].shape[1] == 512
    assert 0 < float(data.train.target.max()) <= 1.0  # scores divided by 25
    (features,) = (tmp_path / "features").iterdir()
    stamp = {p: p.stat().st_mtime_ns for p in features.rglob("*.npy")}
    again = build(tmp_path)  # everything cached: no video re-rendered, no feature re-extracted
    assert {p: p.stat().st_mtime_ns for p in features.rglob("*.npy")} == stamp
    assert again.test.names == data.test.names


def test_from_raw_video_to_a_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's path at toy size: render, extract, train, then score a video file with tools/predict.py."""
    overrides = [
        f"data.root={tmp_path / 'data'}",
        "data.videos=10",
        "data.duration=3.0",
        "data.size=64",
        "data.val_fraction=0.4",  # 3 validation videos: the fewest a Spearman is defined on
        f"extract={json.dumps(EXTRACT)}",
        "train.epochs=2",
        f"run.out={tmp_path / 'runs'}",
        "run.tensorboard=false",
        "run.progress=false",
    ]
    results = zoo.engine.train("actionnet/synthetic", overrides)
    capsys.readouterr()  # the run's table
    checkpoint = Path(results["run_dir"]) / "selected.pt"
    (video,) = (tmp_path / "data" / "render").glob("*/videos/Synth_001.mp4")  # render/<digest of its parameters>
    assert predict_tool(["--checkpoint", str(checkpoint), str(video), "--json", "--plot-dir", str(tmp_path)]) == 0
    (scored,) = json.loads(capsys.readouterr().out)
    assert scored["name"] == "Synth_001" and 0 < scored["score"] < 25
    assert len(scored["weights"]["dynamic"]) == 3 and abs(sum(scored["weights"]["dynamic"]) - 1) < 1e-5
    assert (tmp_path / "Synth_001_attention.png").is_file()


def test_needs_an_extract_section(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs the recipe's extract: section"):
        DATASETS.build({"type": "synthetic", "root": str(tmp_path)}).load({"dynamic": 2048})


def test_another_render_never_reuses_the_features_of_the_first(tmp_path: Path) -> None:
    """Changing data.seed (or size, fps, length, count) renders a set of its own; its features are its own too."""
    first = build(tmp_path)
    (render_a,) = (tmp_path / "render").iterdir()
    kept = {p: p.stat().st_mtime_ns for p in render_a.rglob("*") if p.is_file()}
    second = build(tmp_path, seed=1)
    renders = sorted((tmp_path / "render").iterdir())
    features = sorted((tmp_path / "features").iterdir())
    assert len(renders) == 2 and len(features) == 2  # nothing overwritten, nothing shared
    assert {p: p.stat().st_mtime_ns for p in render_a.rglob("*") if p.is_file()} == kept  # the first set untouched
    a = {n: f for n, f in zip(first.train.names, first.train.features["dynamic"])}
    b = {n: f for n, f in zip(second.train.names, second.train.features["dynamic"])}
    same = [n for n in a.keys() & b.keys() if a[n].shape == b[n].shape and np.array_equal(a[n], b[n])]
    assert not same  # the new labels come with the new videos' features
    assert first.train.raw.tolist() != second.train.raw.tolist()
