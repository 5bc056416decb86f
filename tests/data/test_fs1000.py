"""FS1000 (MCMoE's and Skating-Mixer's layout): its annotation lines, and the dataset type that reads its folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from zoo.data.annotations import AnnotationError, read_fs1000
from zoo.data.features import FeatureData
from zoo.errors import DataError
from zoo.kinds import DATASETS

# name TES PCS SS TR PE CO IN factor, whitespace-separated, no header (as the authors' loaders split them).
LINES = [
    "2018_WC_LF_Alina_Zagitova 80.38 75.16 9.46 9.29 9.43 9.39 9.43 1.6",
    "2019_4CC_MS_Nathan_Chen\t54.22\t46.74 9.39 9.21 9.43 9.32 9.39  1.0",
    "2017_GPF_LS_Evgenia  38.10 36.60 9.18 9.07 9.21 9.11 9.21 0.8",
]
INPUTS = {"rgb": 16, "audio": 8, "flow": 16}
FOLDERS = {"rgb": "output_feature_fs1000_new", "audio": "ast_feature_fs1000_new", "flow": "i3d_avg_clip8_5s_fs1000"}


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reads_every_target_and_divides_pcs_by_the_factor(tmp_path: Path) -> None:
    path = write(tmp_path / "train_fs1000_new.txt", LINES)
    tes = read_fs1000(path)
    assert [a.name for a in tes] == ["2018_WC_LF_Alina_Zagitova", "2019_4CC_MS_Nathan_Chen", "2017_GPF_LS_Evgenia"]
    assert [a.score for a in tes] == [80.38, 54.22, 38.10] and {a.cls for a in tes} == {"fs1000"}
    assert [a.score for a in read_fs1000(path, "pcs")] == pytest.approx([75.16 / 1.6, 46.74, 36.60 / 0.8])
    assert [a.score for a in read_fs1000(path, "IN")] == [9.43, 9.39, 9.21]
    assert [a.score for a in read_fs1000(path, "tr")] == [9.29, 9.21, 9.07]
    assert tes[0].scores == {
        "tes": 80.38,
        "pcs": 75.16,
        "ss": 9.46,
        "tr": 9.29,
        "pe": 9.43,
        "co": 9.39,
        "in": 9.43,
        "factor": 1.6,
    }


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("2018_X 80.38 75.16 9.46 9.29 9.43 9.39 9.43", "8 fields, expected 9"),
        ("2018_X 80.38 75.16 9.46 n/a 9.43 9.39 9.43 1.6", "TR is 'n/a', not a number"),
        ("2018_X 80.38 75.16 9.46 9.29 9.43 9.39 9.43 0", "factor is '0'; PCS is divided by it"),
        ("2018_WC_LF_Alina_Zagitova 1 2 3 4 5 6 7 1", "duplicate video name '2018_WC_LF_Alina_Zagitova'"),
    ],
)
def test_a_malformed_line_names_file_line_and_format(tmp_path: Path, line: str, problem: str) -> None:
    path = write(tmp_path / "val_fs1000_new.txt", [*LINES[:1], "", line])
    with pytest.raises(AnnotationError) as e:
        read_fs1000(path)
    message = str(e.value)
    assert message.startswith(f"{path}:3: {problem}")
    assert "expected: no header, `<name> <TES> <PCS> <SS> <TR> <PE> <CO> <IN> <factor>` per video" in message


def test_a_header_and_an_unknown_target_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", ["name TES PCS SS TR PE CO IN factor", *LINES])
    with pytest.raises(AnnotationError, match=r"a.txt:1: TES is 'TES', not a number"):
        read_fs1000(path)
    with pytest.raises(AnnotationError, match=r"unknown target 'total'.*tes, pcs, ss, tr, pe, co, in"):
        read_fs1000(write(tmp_path / "b.txt", LINES), "total")


def make_fs1000(root: Path, n_train: int = 6, n_test: int = 4) -> Path:
    """Videos of 8+ instances: rgb [T, 2, 16] (crops), audio [T, 8], flow [T, 16]; instance t holds t + 1."""
    names = [f"2019_WC_{i:02d}" for i in range(n_train + n_test)]
    for key, folder in FOLDERS.items():
        (root / folder).mkdir(parents=True)
        for i, name in enumerate(names):
            x = np.arange(1, 9 + i, dtype=np.float32)[:, None].repeat(INPUTS[key], 1)
            if key == "rgb":
                x = np.stack([x - 0.5, x + 0.5], axis=1)
            np.save(root / folder / f"{name}.npy", x)
    lines = [f"{n} {50 + i}.5 {40 + i}.0 8 8 8 8 8 {1.0 + i / 10:.1f}" for i, n in enumerate(names)]
    write(root / "train_fs1000_new.txt", lines[:n_train])
    write(root / "val_fs1000_new.txt", lines[n_train:])
    return root


def load(root: Path, inputs: dict[str, int] = INPUTS, **kw: object) -> FeatureData:
    return DATASETS.build({"type": "fs1000", "root": str(root), **kw}).load(inputs, None, progress=False)


def test_loads_mcmoe_folders_with_the_authors_ranges_and_aligned_windows(tmp_path: Path) -> None:
    root = make_fs1000(tmp_path)
    data = load(root, window=dict.fromkeys(INPUTS, 5), val_fraction=0.2)
    assert (len(data.train), len(data.val), len(data.test)) == (5, 1, 4)
    assert data.scoring.score_scale == 130.0 and data.scoring.target == "tes" and data.scoring.format == "fs1000"
    assert data.test.raw.tolist() == [56.5, 57.5, 58.5, 59.5]
    assert [f.shape for f in data.test.features["rgb"]] == [(14, 16), (15, 16), (16, 16), (17, 16)]
    assert data.test.features["rgb"][0][:, 0].tolist() == list(range(1, 15))  # crops averaged
    g = torch.Generator().manual_seed(0)
    for _ in range(10):
        batch = data.batch(data.train, list(range(5)), train=True, generator=g)
        assert torch.equal(batch["rgb"][:, 0, 0], batch["audio"][:, 0, 0])
        assert torch.equal(batch["rgb"][:, 0, 0], batch["flow"][:, 0, 0])
    pcs = load(root, target="pcs")
    assert pcs.scoring.score_scale == 60.0
    assert pcs.test.raw.tolist() == pytest.approx([46 / 1.6, 47 / 1.7, 48 / 1.8, 49 / 1.9])
    assert pcs.test.target.tolist() == pytest.approx([46 / 1.6 / 60, 47 / 1.7 / 60, 48 / 1.8 / 60, 49 / 1.9 / 60])
    assert load(root, target="co").scoring.score_scale == 10.0


def test_missing_and_wrong_files_are_named(tmp_path: Path) -> None:
    root = make_fs1000(tmp_path)
    with pytest.raises(DataError, match=r"2019_WC_00.npy: features of shape \[8, 8\].*expects width 4"):
        load(root, {"audio": 4})
    with pytest.raises(DataError, match=r"2019_WC_00.npy: features of shape \[8, 2, 16\]"):
        load(root, squeeze="error")
    (root / FOLDERS["flow"] / "2019_WC_01.npy").unlink()  # training
    (root / FOLDERS["flow"] / "2019_WC_09.npy").unlink()  # test
    with pytest.raises(FileNotFoundError, match=r"2 of 10 feature files missing from .*i3d.*: 2019_WC_01, 2019_WC_09"):
        load(root)
    renamed = load(root, {"rgb": 16, "audio": 8}, features={"rgb": FOLDERS["rgb"], "audio": FOLDERS["audio"]})
    assert renamed.sources["folders"] == {k: str(root / FOLDERS[k]) for k in ("rgb", "audio")}
