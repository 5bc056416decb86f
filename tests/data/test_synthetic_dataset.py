"""The `synthetic` dataset: rendered, extracted with the recipe's extract section, cached, loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import zoo
from aqa_tools.predict import main as predict_tool
from zoo.kinds import DATASETS

EXTRACT = {
    "seed": 0,
    "batch_size": 8,
    "workers": 0,  # a handful of tiny videos: starting worker processes would cost more than it saves
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


# One set for the whole module (10 videos, 3 validation: the fewest a Spearman is defined on), rendered and
# extracted once; the demo test trains on the same parameters, so it finds both in the cache.
SET = {"videos": 10, "duration": 3.0, "size": 64, "val_fraction": 0.4}


def build(root: Path, **kw: object):
    cfg = {"type": "synthetic", "root": str(root), **SET}
    return DATASETS.build({**cfg, **kw}).load({"dynamic": 2048, "static": 512}, EXTRACT, progress=False)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synthetic")


@pytest.fixture(scope="module")
def first(root: Path) -> Any:
    return build(root)


def test_renders_extracts_and_loads_then_reuses_the_cache(root: Path, first: Any) -> None:
    data = first
    assert len(data.train) + len(data.val) + len(data.test) == 10 and len(data.test) == 2  # test_fraction 0.25
    assert len(data.val) == 3
    assert data.train.features["dynamic"][0].shape == (3, 2048)  # 3 s at 5 fps = 15 frames = 3 clips of 4
    assert data.train.features["static"][0].shape[1] == 512
    assert 0 < float(data.train.target.max()) <= 1.0  # scores divided by 25
    (features,) = [p for p in (root / "features").iterdir() if p.name == first_features(root)]
    stamp = {p: p.stat().st_mtime_ns for p in features.rglob("*.npy")}
    again = build(root)  # everything cached: no video re-rendered, no feature re-extracted
    assert {p: p.stat().st_mtime_ns for p in features.rglob("*.npy")} == stamp
    assert again.test.names == data.test.names


def first_features(root: Path) -> str:
    """The feature folder of the module's set (the one made with SET's seed 0 and EXTRACT)."""
    folders = sorted((root / "features").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    return folders[0].name


@pytest.mark.slow  # seconds of other processes or of rendering: skip with -m 'not slow'
def test_from_raw_video_to_a_score(root: Path, first: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's path at toy size: render, extract (cached by the module's set), train, then score a video file."""
    overrides = [
        f"data.root={root}",
        *[f"data.{k}={v}" for k, v in SET.items()],
        f"extract={json.dumps(EXTRACT)}",
        "train.epochs=2",
        f"run.out={tmp_path / 'runs'}",
        "run.tensorboard=false",
        "run.progress=false",
    ]
    results = zoo.engine.train("actionnet/synthetic", overrides)
    capsys.readouterr()  # the run's table
    checkpoint = Path(results["run_dir"]) / "selected.pt"
    (video,) = [p for p in root.glob("render/*/videos/Synth_001.mp4") if p.parent.parent == first_render(root)]
    assert predict_tool(["--checkpoint", str(checkpoint), str(video), "--json", "--plot-dir", str(tmp_path)]) == 0
    (scored,) = json.loads(capsys.readouterr().out)
    assert scored["name"] == "Synth_001" and 0 < scored["score"] < 25
    assert len(scored["weights"]["dynamic"]) == 3 and abs(sum(scored["weights"]["dynamic"]) - 1) < 1e-5
    assert (tmp_path / "Synth_001_attention.png").is_file()


def test_needs_an_extract_section(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs the recipe's extract: section"):
        DATASETS.build({"type": "synthetic", "root": str(tmp_path)}).load({"dynamic": 2048})


def first_render(root: Path) -> Path:
    return min((root / "render").iterdir(), key=lambda p: p.stat().st_mtime_ns)


@pytest.mark.slow  # seconds of other processes or of rendering: skip with -m 'not slow'
def test_another_render_never_reuses_the_features_of_the_first(root: Path, first: Any) -> None:
    """Changing data.seed (or size, fps, length, count) renders a set of its own; its features are its own too."""
    render_a = first_render(root)
    kept = {p: p.stat().st_mtime_ns for p in render_a.rglob("*") if p.is_file()}
    before = (len(list((root / "render").iterdir())), len(list((root / "features").iterdir())))
    second = build(root, seed=1, videos=4)  # another seed (and count): a set of its own
    renders = list((root / "render").iterdir())
    features = list((root / "features").iterdir())
    assert (len(renders), len(features)) == (before[0] + 1, before[1] + 1)  # nothing overwritten, nothing shared
    assert {p: p.stat().st_mtime_ns for p in render_a.rglob("*") if p.is_file()} == kept  # the first set untouched

    def by_name(data: Any) -> dict[str, tuple[float, np.ndarray]]:
        return {
            n: (float(r), f)
            for part in data.splits().values()
            for n, r, f in zip(part.names, part.raw, part.features["dynamic"])
        }

    a, b = by_name(first), by_name(second)
    shared = a.keys() & b.keys()
    assert shared == {"Synth_001", "Synth_002", "Synth_003", "Synth_004"}
    same = [n for n in shared if a[n][1].shape == b[n][1].shape and np.array_equal(a[n][1], b[n][1])]
    assert not same  # the new labels come with the new videos' features
    assert [a[n][0] for n in sorted(shared)] != [b[n][0] for n in sorted(shared)]


def test_a_raw_and_a_typed_extract_section_name_one_feature_folder(tmp_path: Path) -> None:
    """The results table passes the recipe's raw section, tools/train.py the typed one (defaults filled): the same
    features must be found in the same folder, or each path extracts them again (it did: 4.5 minutes)."""
    from registry import load_recipe
    from zoo.data.datasets import synthetic_features_dir
    from zoo.engine.sections import check_recipe

    recipe = load_recipe("actionnet/synthetic")
    raw = recipe["extract"]
    folder = synthetic_features_dir(tmp_path, "render", raw)
    assert folder == synthetic_features_dir(tmp_path, "render", check_recipe(recipe).extract.to_dict())
    assert folder == synthetic_features_dir(tmp_path, "render", {**raw, "decoder": {"type": "pyav"}})  # the default
    assert folder == synthetic_features_dir(tmp_path, "render", {**raw, "batch_size": 3})  # speed only
    assert folder != synthetic_features_dir(tmp_path, "render", {**raw, "seed": 1})  # other random backbones
    assert folder != synthetic_features_dir(tmp_path, "other", raw)
