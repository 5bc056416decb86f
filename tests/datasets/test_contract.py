"""Every registered dataset type keeps the dataset contract: built from keys without reading anything, it says
how its scores are scored, and loads disjoint splits with that scoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from registry import ConfigError
from registry.sections import to_mapping
from tests.engine.helpers import DIMS, make_feature_set
from zoo.data.datasets import Dataset
from zoo.data.features import FeatureData
from zoo.kinds import DATASETS

NAMES = DATASETS.names()
# Keys each type needs (a root that does not exist: building must not read it).
ARGS: dict[str, dict[str, Any]] = {
    name: {"root": "/nowhere/at/all"} for name in ("features", "synthetic", "pamfn_features", "fs1000")
}
# Types whose load is slow here (rendering, extracting) or reads another layout, proven in a test of its own.
LOADED_ELSEWHERE = {
    "synthetic": "tests/data/test_synthetic_dataset.py renders, extracts and loads it",
    "pamfn_features": "tests/data/test_pamfn_layout.py writes PAMFN's per-class dicts and loads them",
    "fs1000": "tests/data/test_fs1000.py writes FS1000's folders and annotation files and loads them",
}


@pytest.mark.parametrize("name", NAMES)
def test_building_reads_nothing_and_checks_every_key(name: str) -> None:
    data = DATASETS.build({"type": name, **ARGS.get(name, {})})
    assert isinstance(data, Dataset)
    scoring = data.scoring()
    assert scoring.score_scale == data.score_scale > 0 and scoring.target == data.target
    assert scoring.format == data.format and scoring.pad_mask == data.pad_mask
    assert set(to_mapping(data)) >= set(ARGS.get(name, {}))
    with pytest.raises(ConfigError, match=r"got unknown argument\(s\) \['no_such_key'\]. It accepts: root"):
        DATASETS.build({"type": name, **ARGS.get(name, {}), "no_such_key": 1})


@pytest.mark.parametrize("name", [n for n in NAMES if n not in LOADED_ELSEWHERE])
def test_load_gives_disjoint_splits_scored_as_the_section_says(name: str, tmp_path: Path) -> None:
    root = make_feature_set(tmp_path, n_train=12, n_test=6)
    data = DATASETS.build({"type": name, "root": str(root), "val_fraction": 0.25, "score_scale": 10.0})
    loaded = data.load(dict(DIMS), None, progress=False)
    assert isinstance(loaded, FeatureData)
    names = [set(p.names) for p in loaded.splits().values()]
    assert sum(map(len, names)) == len(set().union(*names)) == 18  # every video in exactly one split
    assert loaded.scoring.score_scale == 10.0 and loaded.scoring.target == data.target
    for part in loaded.splits().values():
        assert part.target.tolist() == pytest.approx((part.raw / 10.0).tolist())
        assert all(f.shape[1] == DIMS[k] for k, fs in part.features.items() for f in fs)
