"""tools/zoo_table.py: recipes trained under one protocol, written as a Markdown table."""

from __future__ import annotations

from pathlib import Path

import pytest

from aqa_tools.zoo_table import main as table_main
from registry import load_recipe
from tests.engine.helpers import make_feature_set
from zoo.engine.zoo_table import adapt, features_made_by, protocol


def test_table_from_a_feature_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = make_feature_set(tmp_path / "features", n_train=32, n_test=12)
    monkeypatch.chdir(tmp_path)  # runs/ goes here
    out = tmp_path / "RESULTS.md"
    argv = [
        "--data",
        str(data),
        "--recipes",
        "actionnet/no_graph",
        "--seeds",
        "0,1",
        "--epochs",
        "2",
        "--out",
        str(out),
    ]
    assert table_main(argv) == 0
    text = out.read_text()
    assert "python tools/zoo_table.py --data" in text and "--recipes actionnet/no_graph" in text
    row = next(line for line in text.splitlines() if line.startswith("| actionnet/no_graph"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1].endswith(" M") and "±" in cells[2] and "±" in cells[3]  # two seeds: mean ± sd
    assert float(cells[6]) > 0  # inference time was measured
    # hand-made features (no extract.json): the table says it does not know what made them, rather than guess
    assert "- **Features made by**: `dynamic`: unknown (its folder has no extract.json" in text

    # An interrupted table loses nothing: finished (recipe, seed) cells are kept, and the same table comes back
    capsys.readouterr()
    import zoo.engine.seeds as seeds  # every seed of every tool is trained there (train_seed)

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished cell was trained again")

    monkeypatch.setattr(seeds, "Trainer", no_training)
    out.unlink()
    assert table_main(argv) == 0
    assert capsys.readouterr().out.count("kept from an earlier run") == 2
    assert next(line for line in out.read_text().splitlines() if line.startswith("| actionnet/no_graph")) == row

    # Stopped by a signal while training a new cell: the message says how a table goes on, and it does
    from zoo.engine.trainer import TrainingInterrupted

    class Stopped:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def fit(self) -> None:
            raise TrainingInterrupted("SIGINT: stopped after epoch 1 of 2; ... --resume ...", 2)

    monkeypatch.setattr(seeds, "Trainer", Stopped)
    three = [*argv[:5], "0,1,2", *argv[6:-1], str(tmp_path / "THREE.md")]
    assert table_main(three) == 130
    err = capsys.readouterr().err
    assert "stopped: SIGINT: the table stopped while training actionnet/no_graph; its finished cells are kept" in err
    assert "run the same command again to go on" in err and "--resume" not in err
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert table_main(three) == 0
    assert capsys.readouterr().out.count("kept from an earlier run") == 2  # seeds 0 and 1; seed 2 trained


def test_protocol_adapts_every_recipe(tmp_path: Path) -> None:
    data = make_feature_set(tmp_path / "features", n_train=8, n_test=4)
    proto = protocol(str(data), "actionnet/synthetic")
    assert proto.widths == {"dynamic": 12, "static": 16}
    rc = adapt(load_recipe("peers/gdlt"), proto, epochs=7, seed=3, out=tmp_path)
    assert rc["model"]["inputs"] == {"dynamic": 12} and rc["train"]["epochs"] == 7 and rc["train"]["seed"] == 3
    assert rc["data"]["root"] == str(data) and rc["eval"]["select"] == "val"
    assert rc["model"]["streams"]["dynamic"]["input_norm"] is True  # one feature preprocessing for all
    # A model without streams (MCMoE's experts read every modality) on data with none of its inputs: a row note,
    # not a run that fails at its first batch and stops the table.
    assert adapt(load_recipe("peers/mcmoe"), proto, epochs=7, seed=3, out=tmp_path) == (
        "needs inputs ['rgb', 'audio', 'flow'] that the data does not have"
    )
    # A recipe of stages (PAMFN's branches, then its fusion) is several runs: a row note, not a KeyError.
    assert adapt(load_recipe("peers/pamfn"), proto, epochs=7, seed=3, out=tmp_path) == (
        "a recipe of stages (rgb, flow, audio, fusion): the table trains one run per seed"
    )


def test_a_table_keeps_what_it_cannot_vouch_for_out_of_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    import numpy as np

    import zoo.engine.seeds as seeds

    data = make_feature_set(tmp_path / "features", n_train=32, n_test=12)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "RESULTS.md"

    def table(recipes: str, *extra: str) -> int:
        argv = ["--data", str(data), "--recipes", recipes, "--seeds", "0", "--epochs", "1", "--out", str(out)]
        return table_main([*argv, *extra])

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained before the table was checked")

    assert table("actionnet/no_graph") == 0
    record = json.loads(out.with_suffix(".json").read_text())
    record["notes"].append("a note someone wrote about this table")
    out.with_suffix(".json").write_text(json.dumps(record))
    # A run on another recipe adds its row and keeps the others and the notes.
    assert table("peers/mean_pool") == 0
    text = out.read_text()
    assert "| actionnet/no_graph |" in text and "| peers/mean_pool |" in text
    assert "a note someone wrote about this table" in text
    # Another protocol is refused before anything trains, naming what differs.
    with monkeypatch.context() as m:
        m.setattr(seeds, "Trainer", no_training)
        capsys.readouterr()
        assert table("peers/mean_pool", "--epochs", "2") == 2
        err = capsys.readouterr().err
        assert "holds rows made under another protocol" in err and "epochs: 1 in the table, 2 this run" in err
        # Every feature file replaced: other data, so another protocol for the table ...
        for f in (data / "dynamic").glob("*.npy"):
            np.save(f, np.load(f)[::-1].copy())
        assert table("actionnet/no_graph") == 2
        assert "data: " in capsys.readouterr().err
    # ... and the kept cell is not reused: the recipe is trained again on the new features.
    assert table("actionnet/no_graph", "--replace") == 0
    assert "trained again: the data (features, annotations or splits) changed" in capsys.readouterr().out
    text = out.read_text()
    assert "| peers/mean_pool |" not in text and "a note someone wrote" not in text  # a new table
    # A table without its record (written by hand, or by an older zoo) takes no new rows.
    out.with_suffix(".json").unlink()
    assert table("peers/mean_pool") == 2
    assert "does not say what made its rows" in capsys.readouterr().err


def test_features_are_described_from_what_made_them() -> None:
    made = {
        "extractor_version": 2,
        "seed": 0,
        "input": {
            "sampler": {"type": "clips", "length": 8, "fps": 10.0},
            "backbone": {"type": "ptv:x3d_xs"},
            "cropper": None,
            "size": [96, 96],
        },
    }
    pretrained = {**made, "input": {**made["input"], "backbone": {"type": "timm:resnet50", "pretrained": True}}}
    text = features_made_by({"dynamic": made, "static": pretrained})
    assert text == (
        "`dynamic`: ptv:x3d_xs (randomly initialised, seed 0) on clips (length 8, fps 10.0), 96x96, extractor "
        "version 2; `static`: timm:resnet50 (pretrained weights) on clips (length 8, fps 10.0), 96x96, extractor "
        "version 2"
    )
