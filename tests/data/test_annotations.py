"""Annotation parsers on the real RG / Fis-V files and on malformed copies."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from zoo.data.annotations import (
    Annotation,
    AnnotationError,
    check_features_present,
    check_videos_present,
    read_fisv,
    read_rg,
)

HEADER = "Video_Name\tDifficulty_Score    Execution_Score Total_Score\tPenalty\tVideo_length\n"
GOOD_ROW = "Ball_001\t10.50\t8.30\t18.80\t0.00\t92\n"


def write(tmp_path: Path, text: str, name: str = "ann.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- the real files ------------------------------------------------------------------------------


def test_rg_real_files_counts_splits_and_sums(annotations_dir: Path) -> None:
    train = read_rg(annotations_dir / "rg_train.txt")
    test = read_rg(annotations_dir / "rg_test.txt")
    assert len(train) + len(test) == 1000
    assert Counter(a.cls for a in train) == {"Ball": 200, "Clubs": 200, "Hoop": 200, "Ribbon": 200}
    assert Counter(a.cls for a in test) == {"Ball": 50, "Clubs": 50, "Hoop": 50, "Ribbon": 50}
    assert not {a.name for a in train} & {a.name for a in test}
    every = train + test
    for a in every:
        s = a.scores
        assert set(s) == {"difficulty", "execution", "total", "penalty", "length"}
        assert s["total"] == pytest.approx(s["difficulty"] + s["execution"] - s["penalty"], abs=0.011)
        assert a.score == s["total"]
        assert a.name.startswith(a.cls + "_")
    totals = [a.score for a in every]
    assert min(totals) == pytest.approx(3.85) and max(totals) == pytest.approx(24.0)
    assert train[0] == Annotation(
        "Ball_001", "Ball", 18.8, {"difficulty": 10.5, "execution": 8.3, "total": 18.8, "penalty": 0.0, "length": 92.0}
    )


def test_rg_targets_and_class_filter(annotations_dir: Path) -> None:
    path = annotations_dir / "rg_test.txt"
    diff = read_rg(path, target="Difficulty", classes=["hoop"])
    assert len(diff) == 50 and {a.cls for a in diff} == {"Hoop"}
    assert all(a.score == a.scores["difficulty"] for a in diff)
    execution = read_rg(path, target="execution", classes=("Ball", "Ribbon"))
    assert len(execution) == 100 and all(a.score == a.scores["execution"] for a in execution)
    assert {a.cls for a in read_rg(path, classes="Clubs")} == {"Clubs"}  # a single name, not its letters
    with pytest.raises(AnnotationError, match=r"unknown target 'tes'.*total, difficulty, execution"):
        read_rg(path, target="tes")
    with pytest.raises(AnnotationError, match=r"unknown class.*'Rope'.*Ball, Clubs, Hoop, Ribbon"):
        read_rg(path, classes=["Ball", "Rope"])


def test_fisv_real_files(annotations_dir: Path) -> None:
    train = read_fisv(annotations_dir / "fisv_train.txt")
    test = read_fisv(annotations_dir / "fisv_test.txt", target="PCS")
    assert (len(train), len(test)) == (400, 100)
    every = train + test
    assert len({a.name for a in every}) == 500 and {a.cls for a in every} == {"fisv"}
    tes = [a.scores["tes"] for a in every]
    pcs = [a.scores["pcs"] for a in every]
    assert (min(tes), max(tes)) == (pytest.approx(6.33), pytest.approx(42.81))
    assert (min(pcs), max(pcs)) == (pytest.approx(10.48), pytest.approx(38.28))
    assert all(a.score == a.scores["tes"] for a in train) and all(a.score == a.scores["pcs"] for a in test)
    assert set(train[0].scores) == {"tes", "pcs", "deductions"}
    with pytest.raises(AnnotationError, match="unknown target 'total'.*tes, pcs"):
        read_fisv(annotations_dir / "fisv_test.txt", target="total")
    # Fis-V's one class: a filter naming another is refused as RG's is, never ignored.
    assert len(read_fisv(annotations_dir / "fisv_test.txt", classes=["fisv"])) == 100
    with pytest.raises(
        AnnotationError, match=r"unknown class\(es\) \['Hoop'\] for .*fisv_test\.txt; the file holds: fisv"
    ):
        read_fisv(annotations_dir / "fisv_test.txt", classes=["Hoop"])


@pytest.mark.parametrize("dataset", ["features", "pamfn_features"])
def test_a_fisv_dataset_refuses_a_class_filter_naming_another_class(dataset: str, annotations_dir: Path) -> None:
    """Every dataset type passes its class filter to the reader: Fis-V with ``classes: [Hoop]`` is refused
    before a feature is read, never trained on every video."""
    from zoo.kinds import DATASETS

    files = {"train": "fisv_train.txt", "test": "fisv_test.txt"}
    data = DATASETS.build(
        {"type": dataset, "root": str(annotations_dir), "format": "fisv", "target": "tes", "annotations": files}
        | {"classes": ["Hoop"]}
    )
    with pytest.raises(AnnotationError, match=r"unknown class\(es\) \['Hoop'\] for .*fisv_train\.txt"):
        data.load({"rgb": 8})


# -- any class prefix, blank lines -------------------------------------------------------------------


def test_rg_any_prefix_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\n" + "Synth_001  5.0 4.0   8.5 0.5 60\n\n  \nSynth_002\t6\t6\t12\t0\t61\n")
    rows = read_rg(path)
    assert [(a.name, a.cls, a.score) for a in rows] == [("Synth_001", "Synth", 8.5), ("Synth_002", "Synth", 12.0)]


# -- malformed lines: each names the file, the 1-based line, its text and the format ------------------

RG_BAD = {
    "too few fields": (HEADER + GOOD_ROW + "Ball_002\t7.20\t4.20\t10.80\t0.60\n", 3, "5 fields, expected 6"),
    "too many fields": (HEADER + GOOD_ROW + "Ball_002 7.2 4.2 10.8 0.6 93 1\n", 3, "7 fields, expected 6"),
    "not a number": (HEADER + "Ball_002\t7.2\tabc\t10.8\t0.6\t93\n", 2, "Execution_Score is 'abc', not a number"),
    "nan": (HEADER + "Ball_002\t7.2\tnan\t10.8\t0.6\t93\n", 2, "not a number"),
    "empty name": (HEADER + GOOD_ROW + "\n\t7.20\t4.20\t10.80\t0.60\t93\n", 4, "empty video name"),
    "duplicate": (HEADER + GOOD_ROW + GOOD_ROW, 3, "duplicate video name 'Ball_001' \\(first on line 2\\)"),
    "no class prefix": (HEADER + "Ball002\t7.2\t4.2\t10.8\t0.6\t93\n", 2, "no `<Class>_` prefix"),
    "no header": (GOOD_ROW + GOOD_ROW.replace("001", "002"), 1, "expected the header"),
}


@pytest.mark.parametrize("case", sorted(RG_BAD))
def test_rg_malformed_line_names_file_and_line(tmp_path: Path, case: str) -> None:
    text, lineno, problem = RG_BAD[case]
    path = write(tmp_path, text)
    with pytest.raises(AnnotationError, match=problem) as info:
        read_rg(path)
    message = str(info.value)
    bad_line = text.splitlines()[lineno - 1]
    assert f"{path}:{lineno}:" in message
    assert repr(bad_line) in message
    assert "<Class>_<id> <difficulty> <execution> <total> <penalty> <length>" in message


def test_rg_sum_violations_are_all_listed(tmp_path: Path) -> None:
    rows = GOOD_ROW + "Ball_002\t7.20\t4.20\t11.80\t0.60\t93\n" + "Ball_003\t7\t4\t11.01\t0\t93\n"
    rows += "Ball_004\t7\t4\t10\t0\t93\n"
    path = write(tmp_path, HEADER + rows)
    with pytest.raises(AnnotationError, match="2 row") as info:
        read_rg(path)
    message = str(info.value)
    assert f"{path}:3: Ball_002" in message and f"{path}:5: Ball_004" in message
    assert "Ball_003" not in message  # off by 0.01 is rounding, within the tolerance


FISV_BAD = {
    "header": ("id TES PCS ded\n1 28.71 29.36 1\n", 1, "TES is 'TES', not a number"),
    "too few": ("1 28.71 29.36 1\n3 28.79 27.89\n", 2, "3 fields, expected 4"),
    "not a number": ("1 28.71 29.36 1\n3 28.79 2x.89 1\n", 2, "PCS is '2x.89'"),
    "duplicate": ("1 28.71 29.36 1\n\n1 28.79 27.89 1\n", 3, "duplicate video name '1'"),
}


@pytest.mark.parametrize("case", sorted(FISV_BAD))
def test_fisv_malformed_line_names_file_and_line(tmp_path: Path, case: str) -> None:
    text, lineno, problem = FISV_BAD[case]
    path = write(tmp_path, text)
    with pytest.raises(AnnotationError, match=problem) as info:
        read_fisv(path)
    message = str(info.value)
    assert f"{path}:{lineno}:" in message and repr(text.splitlines()[lineno - 1]) in message
    assert "<id> <TES> <PCS> <deductions>" in message


def test_missing_or_empty_annotation_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.txt does not exist"):
        read_rg(tmp_path / "nope.txt")
    with pytest.raises(AnnotationError, match="holds no annotation rows"):
        read_rg(write(tmp_path, HEADER + "\n"))


# -- files on disk -------------------------------------------------------------------------------


def _rows(names: list[str]) -> list[Annotation]:
    return [Annotation(n, n.split("_")[0], 1.0, {}) for n in names]


def test_videos_present_maps_every_name(tmp_path: Path) -> None:
    for name in ("Ball_001.mp4", "Ball_002.MKV", "Ball_003.avi", "Ball_003.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    found = check_videos_present([*_rows(["Ball_001", "Ball_002"]), "Ball_003"], tmp_path)
    assert found == {
        "Ball_001": tmp_path / "Ball_001.mp4",
        "Ball_002": tmp_path / "Ball_002.MKV",
        "Ball_003": tmp_path / "Ball_003.mp4",  # .mp4 comes first in the suffixes
    }


def test_missing_videos_one_error_lists_all(tmp_path: Path) -> None:
    (tmp_path / "Ball_002.mp4").write_bytes(b"x")
    with pytest.raises(FileNotFoundError) as info:
        check_videos_present(_rows(["Ball_001", "Ball_002", "Ball_003", "Hoop_007"]), tmp_path)
    message = str(info.value)
    assert "3 of 4 videos missing" in message and str(tmp_path) in message
    assert "Ball_001, Ball_003, Hoop_007" in message and "Ball_002," not in message
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_videos_present(_rows(["Ball_001"]), tmp_path / "nowhere")


def test_missing_features_one_error_lists_all(tmp_path: Path) -> None:
    (tmp_path / "1.npy").write_bytes(b"x")
    (tmp_path / "2.npz").write_bytes(b"x")
    assert check_features_present(["1"], tmp_path) == {"1": tmp_path / "1.npy"}
    with pytest.raises(FileNotFoundError, match=r"2 of 3 feature files missing from .*<name>\.npy\): 2, 3"):
        check_features_present(["1", "2", "3"], tmp_path)
