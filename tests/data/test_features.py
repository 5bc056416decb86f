"""Feature datasets: layouts, checks that name the file, windows and masks, validation split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from zoo.data.annotations import AnnotationError
from zoo.data.features import FeatureError, Split, Windowing
from zoo.kinds import DATASETS

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")

HEADER = "Video_Name\tDifficulty_Score\tExecution_Score\tTotal_Score\tPenalty\tVideo_length\n"


def make(
    root: Path, lengths: dict[str, list[int]], dims: dict[str, int], folders: dict[str, str] | None = None
) -> Path:
    n = len(next(iter(lengths.values())))
    rows = [HEADER] + [f"Ball_{i:03d}\t5.00\t{4 + i:.2f}\t{9 + i:.2f}\t0.00\t90\n" for i in range(n)]
    (root / "train.txt").write_text("".join(rows))
    (root / "test.txt").write_text("".join(rows[:3]))
    for key, lens in lengths.items():
        folder = root / (folders or {}).get(key, key)
        folder.mkdir(parents=True, exist_ok=True)
        for i, length in enumerate(lens):
            # Instance j of video i holds the value j + 1 everywhere: windows are easy to read back.
            x = np.repeat(np.arange(1, length + 1, dtype=np.float32)[:, None], dims[key], 1)
            np.save(folder / f"Ball_{i:03d}.npy", x)
    return root


def build(root: Path, inputs: dict[str, int], **kw: object):
    kw.setdefault("allow_overlap", True)  # make() reuses the first training videos as the test split
    return DATASETS.build({"type": "features", "root": str(root), **kw}).load(inputs)


def test_fixed_windows_random_in_training_centred_at_test(tmp_path: Path) -> None:
    root = make(tmp_path, {"dynamic": [10, 4, 6]}, {"dynamic": 3})
    data = build(root, {"dynamic": 3}, window={"dynamic": 6}, score_scale=25.0)
    assert data.train.raw.tolist() == [9.0, 10.0, 11.0] and data.train.target[0] == pytest.approx(9 / 25)
    batch = data.batch(data.train, [0, 1, 2], train=False)
    assert batch["dynamic"].shape == (3, 6, 3)
    assert batch["dynamic"][0, :, 0].tolist() == [3, 4, 5, 6, 7, 8]  # centred: start (10 - 6) // 2
    assert batch["dynamic"][1, :, 0].tolist() == [1, 2, 3, 4, 0, 0]  # short: zero-padded
    assert batch["dynamic_mask"][1].tolist() == [True] * 4 + [False] * 2
    g = torch.Generator().manual_seed(0)
    starts = {int(data.batch(data.train, [0], train=True, generator=g)["dynamic"][0, 0, 0]) for _ in range(60)}
    assert starts == {1, 2, 3, 4, 5}  # every start 0..4 (value = start + 1) is drawn


def test_authors_padding_without_mask(tmp_path: Path) -> None:
    root = make(tmp_path, {"dynamic": [10, 4, 6]}, {"dynamic": 3})
    data = build(root, {"dynamic": 3}, window={"dynamic": 6}, pad_mask=False)
    assert data.batch(data.train, [1])["dynamic_mask"].all()


def test_whole_videos_with_masks(tmp_path: Path) -> None:
    root = make(tmp_path, {"dynamic": [10, 4, 6], "static": [3, 7, 5]}, {"dynamic": 3, "static": 2})
    data = build(root, {"dynamic": 3, "static": 2})
    batch = data.batch(data.train, [1, 2])
    assert batch["dynamic"].shape == (2, 6, 3) and batch["static"].shape == (2, 7, 2)
    assert batch["dynamic_mask"].sum(1).tolist() == [4, 6] and batch["static_mask"].sum(1).tolist() == [7, 5]


def test_single_folder_layout_and_mmap(tmp_path: Path) -> None:
    root = make(tmp_path, {"clips": [5, 6, 7]}, {"clips": 4}, folders={"clips": "."})
    a = build(root, {"clips": 4}, features={"clips": "."})
    b = build(root, {"clips": 4}, features={"clips": "."}, mmap=True)
    assert torch.equal(a.batch(a.test, [0, 1])["clips"], b.batch(b.test, [0, 1])["clips"])


def test_bad_files_are_named(tmp_path: Path) -> None:
    root = make(tmp_path, {"dynamic": [5, 6, 7]}, {"dynamic": 3})
    with pytest.raises(FeatureError, match=r"Ball_000.npy: features of shape \[5, 3\].*expects width 8"):
        build(root, {"dynamic": 8})
    x = np.ones((5, 3), np.float32)
    x[2, 1] = np.nan
    np.save(root / "dynamic" / "Ball_001.npy", x)
    with pytest.raises(FeatureError, match=r"Ball_001.npy: 1 NaN/inf value"):
        build(root, {"dynamic": 3})
    (root / "dynamic" / "Ball_001.npy").unlink()
    (root / "dynamic" / "Ball_002.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"2 of 3 feature files missing.*Ball_001, Ball_002"):
        build(root, {"dynamic": 3})
    with pytest.raises(FileNotFoundError, match=r"data.root="):
        build(tmp_path / "nowhere", {"dynamic": 3})
    with pytest.raises(AnnotationError, match="unknown class"):
        build(root, {"dynamic": 3}, classes=["Hoop"])


def test_validation_split_is_seeded_and_disjoint(tmp_path: Path) -> None:
    root = make(tmp_path, {"dynamic": [3] * 20}, {"dynamic": 3})
    a = build(root, {"dynamic": 3}, val_fraction=0.25, split_seed=1)
    b = build(root, {"dynamic": 3}, val_fraction=0.25, split_seed=1)
    assert len(a.val) == 5 and len(a.train) == 15 and a.val.names == b.val.names
    assert not set(a.val.names) & set(a.train.names)
    assert build(root, {"dynamic": 3}, val_fraction=0.25, split_seed=2).val.names != a.val.names


def test_aligned_windows_keep_the_random_stream_of_every_recipe() -> None:
    def seqs(lengths: list[int]) -> list[np.ndarray]:
        return [np.repeat(np.arange(1, n + 1, dtype=np.float32)[:, None], 2, 1) for n in lengths]

    def alone(w: Windowing, inputs: dict[str, list[np.ndarray]], seed: int) -> tuple[dict, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)  # each input cut on its own, as before alignment
        return {k: w.cut(v, k, True, g) for k, v in inputs.items()}, torch.rand(1, generator=g)

    def together(w: Windowing, inputs: dict[str, list[np.ndarray]], seed: int) -> tuple[dict, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        return w.cut_inputs(inputs, True, g), torch.rand(1, generator=g)

    w = Windowing({"a": 4, "b": 4, "c": 3})
    one = {"a": seqs([20, 9, 30])}
    unequal = {"a": seqs([20, 9, 30]), "b": seqs([21, 10, 31]), "c": seqs([20, 9, 30])}
    for inputs in (one, unequal):  # a single input, or inputs of other windows or lengths: the same windows
        (cuts, after), (old, old_after) = together(w, inputs, 3), alone(w, inputs, 3)
        assert all(torch.equal(cuts[k][0], old[k][0]) for k in inputs) and torch.equal(after, old_after)
    shared = {"a": seqs([20, 9, 30]), "b": seqs([20, 10, 30]), "c": seqs([20, 9, 30])}
    for seed in range(5):
        cuts, after = together(w, shared, seed)
        assert torch.equal(after, alone(w, shared, seed)[1])  # the stream goes on as before
        a, b = cuts["a"][0][:, 0, 0], cuts["b"][0][:, 0, 0]
        assert a[0] == b[0] and a[2] == b[2]  # equal window and length: the same start
        assert torch.equal(cuts["c"][0][:, 0, 0], alone(w, shared, seed)[0]["c"][0][:, 0, 0])  # another window


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
@pytest.mark.parametrize("pad_mask", [True, False])
def test_resident_batches_are_the_batches_from_memory(device: str, pad_mask: bool) -> None:
    """Features kept on a device as one padded tensor per input give the very batches the arrays in memory give:
    the same windows (the same draws of the generator), values, zero padding and masks, train and test."""
    rng = np.random.default_rng(0)
    lengths = {"a": [7, 3, 12, 9, 5], "b": [7, 3, 12, 9, 5], "c": [2, 6, 4, 11, 8]}
    features = {k: [rng.normal(size=(n, 3)).astype(np.float32) for n in ns] for k, ns in lengths.items()}
    names = [f"v{i}" for i in range(5)]
    kept = Split(names, ["x"] * 5, torch.arange(5.0), torch.arange(5.0), features)
    kept.make_resident(torch.device(device))
    assert kept.resident_bytes() == 5 * 12 * 3 * 4 * 2 + 5 * 11 * 3 * 4
    windowing = Windowing({"a": 6, "b": 6, "c": None}, pad_mask=pad_mask, eval_window={"a": 4, "b": None, "c": 5})
    for train in (True, False):
        for index in ([0, 1, 2], [4, 3], [2]):
            seqs = {k: [v[i] for i in index] for k, v in features.items()}
            want_g, got_g = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
            want = windowing.cut_inputs(seqs, train, want_g)
            idx = torch.tensor(index)
            got = windowing.cut_inputs(seqs, train, got_g, {k: (kept.resident[k], idx) for k in features})
            for key in features:
                (x, m), (y, n) = want[key], got[key]
                assert y.device.type == device and n.device.type == device
                assert torch.equal(x, y.cpu()) and torch.equal(m, n.cpu()), (key, train, index)
            assert torch.equal(want_g.get_state(), got_g.get_state())  # the same numbers drawn
