"""tools/zoo_table.py: recipes trained under one protocol, written as a Markdown table."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry import load_recipe
from tests.engine.helpers import make_feature_set
from tools.zoo_table import main as table_main
from zoo.engine.zoo_table import adapt, protocol


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

    # An interrupted table loses nothing: finished (recipe, seed) cells are kept, and the same table comes back
    capsys.readouterr()
    import zoo.engine.zoo_table as table

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished cell was trained again")

    monkeypatch.setattr(table, "Trainer", no_training)
    out.unlink()
    assert table_main(argv) == 0
    assert capsys.readouterr().out.count("kept from an earlier run") == 2
    assert next(line for line in out.read_text().splitlines() if line.startswith("| actionnet/no_graph")) == row


def test_protocol_adapts_every_recipe(tmp_path: Path) -> None:
    data = make_feature_set(tmp_path / "features", n_train=8, n_test=4)
    proto = protocol(str(data), "actionnet/synthetic")
    assert proto.widths == {"dynamic": 12, "static": 16}
    rc = adapt(load_recipe("peers/gdlt"), proto, epochs=7, seed=3, out=tmp_path)
    assert rc["model"]["inputs"] == {"dynamic": 12} and rc["train"]["epochs"] == 7 and rc["train"]["seed"] == 3
    assert rc["data"]["root"] == str(data) and rc["eval"]["select"] == "val"
    assert rc["model"]["streams"]["dynamic"]["input_norm"] is True  # one feature preprocessing for all
