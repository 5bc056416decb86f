"""Pickled ``.npy`` files are read without running code: numpy's globals are admitted, nothing else."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from zoo.data.safe_pickle import load_array_dict, load_npy
from zoo.errors import DataError


class Payload:
    """What a hostile feature file holds: unpickling it calls os.system."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (self.command,)


def object_npy(path: Path, pickled: bytes) -> Path:
    """A 0-d object ``.npy`` (what ``np.save(dict)`` writes) around hand-made pickle bytes."""
    fp = io.BytesIO()
    npy_format.write_array_header_1_0(fp, {"descr": "|O", "fortran_order": False, "shape": ()})
    path.write_bytes(fp.getvalue() + pickled)
    return path


def features() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "Ball_001": rng.normal(size=(5, 4)).astype(np.float32),
        "Ball_002": rng.normal(size=(3, 2, 4)).astype(np.float64),
        "Ball_003": np.arange(6, dtype=np.int64).reshape(3, 2),
    }


def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)


def test_a_pickle_that_calls_os_system_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "Ball_rgb_VST.npy"
    np.save(path, np.array({"Ball_001": Payload(f"touch {marker}")}, dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"Ball_rgb_VST\.npy: refused to unpickle 'posix\.system'") as e:
        load_array_dict(path)
    assert str(path) in str(e.value)
    assert not marker.exists()


def test_any_other_global_is_refused_by_name(tmp_path: Path) -> None:
    path = object_npy(tmp_path / "x.npy", pickle.dumps(np.array(print, dtype=object), protocol=3))
    with pytest.raises(DataError, match=r"x\.npy: refused to unpickle 'builtins\.print'"):
        load_npy(path)


def test_a_dict_of_arrays_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "Ball_rgb_VST.npy"
    np.save(path, features(), allow_pickle=True)
    loaded, sha = load_array_dict(path)
    assert same(loaded, features())
    assert len(sha) == 64 and sha == load_npy(path)[1]


@pytest.mark.parametrize("spelling", ["numpy.core.multiarray", "numpy._core.multiarray"])
@pytest.mark.parametrize("protocol", [2, 3])
def test_numpy_1_and_2_spellings_and_old_protocols_are_admitted(tmp_path: Path, spelling: str, protocol: int) -> None:
    obj = np.empty((), dtype=object)
    obj[()] = {**features(), "scalar": np.float32(2.5)}
    # Protocols 2 and 3 write globals as text lines, so the module can be respelt as the other numpy writes it.
    pickled = pickle.dumps(obj, protocol=protocol)
    pickled = pickled.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    pickled = pickled.replace(b"numpy.core.multiarray\n", spelling.encode() + b"\n")
    assert spelling.encode() in pickled
    loaded = load_npy(object_npy(tmp_path / "x.npy", pickled))[0].item()
    assert loaded.pop("scalar") == np.float32(2.5)
    assert same(loaded, features())


def test_plain_arrays_load_and_bad_files_are_named(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "plain.npy", x)
    assert np.array_equal(load_npy(tmp_path / "plain.npy")[0], x)
    with pytest.raises(DataError, match=r"plain\.npy: holds an array of shape \[4, 3\]; expected a saved dict"):
        load_array_dict(tmp_path / "plain.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    with pytest.raises(DataError, match=r"junk\.npy: not a readable \.npy file"):
        load_npy(tmp_path / "junk.npy")
    np.save(tmp_path / "strings.npy", {"Ball_001": "text"}, allow_pickle=True)
    with pytest.raises(DataError, match=r"strings\.npy: entries that are not video name -> numeric array: 'Ball_001'"):
        load_array_dict(tmp_path / "strings.npy")
