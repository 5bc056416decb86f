"""PAMFN's per-class pickled feature dicts load as a dataset type, checked, with windows aligned across modalities."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from registry import ConfigError
from zoo.data.features import FeatureData
from zoo.errors import DataError
from zoo.kinds import DATASETS

HEADER = "Video_Name\tDifficulty_Score\tExecution_Score\tTotal_Score\tPenalty\tVideo_length\n"
INPUTS = {"rgb": 16, "flow": 16, "audio": 8}
FILES = {"rgb": "rgb_VST", "flow": "flow_I3D", "audio": "audio_AST"}
WINDOW = {"rgb": 5, "flow": 5, "audio": 5}


def instances(length: int, shape: tuple[int, ...]) -> np.ndarray:
    """Instance t holds t + 1 everywhere (for rgb, the mean of its two crops): windows read back as their start."""
    x = np.broadcast_to(np.arange(1, length + 1, dtype=np.float32).reshape(-1, *[1] * len(shape)), (length, *shape))
    if len(shape) == 2:  # [T, K, C]: crops t + 0.5 and t + 1.5, whose mean is t + 1
        x = x + np.array([-0.5, 0.5], dtype=np.float32).reshape(1, 2, 1)
    return np.ascontiguousarray(x)


def make_pamfn(root: Path, fmt: str = "rg") -> Path:
    """6 training and 4 test videos (RG: Ball and Hoop, one dict file per class and modality; Fis-V: one FISV_ file)."""
    names = [f"{c}_{i:03d}" for c in ("Ball", "Hoop") for i in range(5)] if fmt == "rg" else [str(i) for i in range(10)]
    train, test = names[:3] + names[5:8], names[3:5] + names[8:]
    shapes = {"rgb": (2, 16), "flow": (16,), "audio": (8,)}
    dicts: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for i, name in enumerate(names):
        prefix = name.partition("_")[0] if fmt == "rg" else "FISV"
        for key, shape in shapes.items():
            dicts.setdefault((prefix, key), {})[name] = instances(8 + i, shape)
    for (prefix, key), d in dicts.items():
        np.save(root / f"{prefix}_{FILES[key]}.npy", d, allow_pickle=True)
    for split, part in (("train", train), ("test", test)):
        if fmt == "rg":
            rows = [HEADER] + [f"{n}\t5.00\t{4 + i / 10:.2f}\t{9 + i / 10:.2f}\t0.00\t90\n" for i, n in enumerate(part)]
        else:
            rows = [f"{n}\t{30 + i}.50\t{40 + i}.25\t-1.00\n" for i, n in enumerate(part)]
        (root / f"{split}.txt").write_text("".join(rows))
    return root


def load(root: Path, inputs: dict[str, int] = INPUTS, **kw: object) -> FeatureData:
    return DATASETS.build({"type": "pamfn_features", "root": str(root), **kw}).load(inputs, None, progress=False)


def test_loads_class_files_merged_squeezed_and_scaled_as_pamfn(tmp_path: Path) -> None:
    data = load(make_pamfn(tmp_path), val_fraction=0.2)
    assert (len(data.train), len(data.val), len(data.test)) == (5, 1, 4)
    assert {n.partition("_")[0] for p in data.splits().values() for n in p.names} == {"Ball", "Hoop"}
    assert data.scoring.score_scale == 25.0 and data.scoring.target == "total" and data.scoring.format == "rg"
    test = data.test
    assert test.names == ["Ball_003", "Ball_004", "Hoop_003", "Hoop_004"]
    assert test.target.tolist() == pytest.approx([9.0 / 25, 9.1 / 25, 9.2 / 25, 9.3 / 25])
    for key, width in INPUTS.items():
        assert [f.shape for f in test.features[key]] == [(11, width), (12, width), (16, width), (17, width)]
        assert all(f.dtype == np.float32 for f in test.features[key])
    assert test.features["rgb"][0][:, 0].tolist() == list(range(1, 12))  # two crops averaged
    assert set(data.sources["files"]["rgb"]) == {"Ball_rgb_VST.npy", "Hoop_rgb_VST.npy"}
    assert data.made_by == dict.fromkeys(INPUTS)
    ball = load(tmp_path, classes=["Ball"])
    assert set(ball.train.names) | set(ball.test.names) == {f"Ball_{i:03d}" for i in range(5)}
    assert set(ball.sources["files"]["audio"]) == {"Ball_audio_AST.npy"}


def test_training_windows_start_at_the_same_instance_for_every_modality(tmp_path: Path) -> None:
    data = load(make_pamfn(tmp_path), window=WINDOW)
    g = torch.Generator().manual_seed(0)
    starts: set[int] = set()
    for _ in range(20):
        batch = data.batch(data.train, list(range(len(data.train))), train=True, generator=g)
        first = {key: batch[key][:, 0, 0] for key in INPUTS}
        assert torch.equal(first["rgb"], first["flow"]) and torch.equal(first["rgb"], first["audio"])
        for key in INPUTS:  # windows are consecutive instances from that start
            assert torch.equal(batch[key][:, :, 0], first[key][:, None] + torch.arange(5.0))
        starts |= set(first["rgb"].long().tolist())
    assert len(starts) > 4  # the start is still random, only shared
    test = data.batch(data.test, [0, 3])
    assert test["rgb"][:, 0, 0].tolist() == test["audio"][:, 0, 0].tolist() == [4.0, 7.0]  # centred: (11-5)//2 + 1


def test_fisv_reads_one_fisv_file_per_modality(tmp_path: Path) -> None:
    data = load(make_pamfn(tmp_path, "fisv"), format="fisv")
    assert data.scoring.score_scale == 45.0 and data.scoring.target == "tes"
    assert data.train.raw.tolist() == [30.5, 31.5, 32.5, 33.5, 34.5, 35.5]
    assert set(data.sources["files"]["flow"]) == {"FISV_flow_I3D.npy"}
    pcs = load(tmp_path, format="fisv", target="pcs", score_scale=10.0)
    assert pcs.test.target.tolist() == pytest.approx([4.025, 4.125, 4.225, 4.325])


def test_missing_videos_are_listed_together(tmp_path: Path) -> None:
    root = make_pamfn(tmp_path)
    for key, drop in (("audio", ["Hoop_000", "Hoop_003"]), ("flow", ["Ball_004"])):
        d = np.load(root / f"{drop[0][:4]}_{FILES[key]}.npy", allow_pickle=True).item()  # our own file: safe to load
        for name in drop:
            del d[name]
        np.save(root / f"{drop[0][:4]}_{FILES[key]}.npy", d, allow_pickle=True)
    with pytest.raises(DataError) as e:
        load(root)
    lines = str(e.value).splitlines()
    assert lines[0] == "annotated videos missing from the feature files:"
    assert lines[1].startswith("  input 'flow': 1 of 10 are in none of ") and lines[1].endswith(": Ball_004")
    assert lines[2].startswith("  input 'audio': 2 of 10 are in none of ") and lines[2].endswith(": Hoop_000, Hoop_003")
    assert "Ball_audio_AST.npy, " in lines[2] and "Hoop_audio_AST.npy" in lines[2]


def test_wrong_width_names_the_file_video_and_widths(tmp_path: Path) -> None:
    root = make_pamfn(tmp_path)
    with pytest.raises(DataError, match=r"Ball_flow_I3D.npy: video 'Ball_000': features of shape \[8, 16\].*width 12"):
        load(root, {**INPUTS, "flow": 12})


def test_crops_are_refused_with_squeeze_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"Ball_rgb_VST.npy: video 'Ball_000': features of shape \[8, 2, 16\]"):
        load(make_pamfn(tmp_path), squeeze="error")


def test_files_name_the_inputs_and_a_missing_file_is_named(tmp_path: Path) -> None:
    root = make_pamfn(tmp_path)
    with pytest.raises(ConfigError, match=r"data.files names no <modality>_<FEAT> for model input\(s\) \['pose'\]"):
        load(root, {"pose": 4})
    os.rename(root / "Ball_rgb_VST.npy", root / "Ball_rgb_UMT.npy")
    with pytest.raises(FileNotFoundError, match=r"Ball_rgb_VST.npy does not exist"):
        load(root)
    renamed = load(root, {"rgb": 16}, files={"rgb": "rgb_UMT"}, classes=["Ball"])
    assert set(renamed.sources["files"]["rgb"]) == {"Ball_rgb_UMT.npy"}


def test_the_fingerprint_covers_the_arrays_read(tmp_path: Path) -> None:
    root = make_pamfn(tmp_path)
    before = load(root).fingerprint()
    flow = np.load(root / "Ball_flow_I3D.npy", allow_pickle=True).item()
    flow["Ball_001"] = flow["Ball_001"] + 1
    np.save(root / "Ball_flow_I3D.npy", flow, allow_pickle=True)
    after = load(root).fingerprint()
    assert after["inputs"]["flow"] != before["inputs"]["flow"]
    assert after["inputs"]["rgb"] == before["inputs"]["rgb"] and after["splits"] == before["splits"]


def test_a_hostile_feature_file_is_refused(tmp_path: Path) -> None:
    root = make_pamfn(tmp_path)
    marker = tmp_path / "marker"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return os.system, (f"touch {marker}",)

    np.save(root / "Hoop_audio_AST.npy", np.array({"Hoop_000": Payload()}, dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"Hoop_audio_AST.npy: refused to unpickle 'posix.system'"):
        load(root)
    assert not marker.exists()
