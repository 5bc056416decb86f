"""tools/list.py and tools/recipe.py: what they print, and their errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aqa_tools.list import main as list_main
from aqa_tools.recipe import main as recipe_main
from zoo.kinds import KINDS


def test_list_everything_shows_every_kind_and_the_external_namespaces(capsys: pytest.CaptureFixture[str]) -> None:
    assert list_main([]) == 0
    out = capsys.readouterr().out
    for kind in KINDS:
        assert f"\n{kind}: " in f"\n{out}"
    for namespace in ("timm:<name>", "ptv:<name>", "pyg:<name>"):
        assert namespace in out
    assert "gcn_unit" in out and "zoo/graph_layers/gcn_unit.py" in out  # where it is defined


def test_list_a_pattern_reaches_into_a_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    assert list_main(["graph_layers", "pyg:GAT*"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:] if line.startswith("  pyg:")]
    assert names == ["pyg:GATConv", "pyg:GATv2Conv"]
    assert list_main(["graph_layers", "*gcn*"]) == 0
    out = capsys.readouterr().out
    assert "gcn_unit" in out and "pyg:GCNConv" in out


def test_list_unknown_kind_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    assert list_main(["graph_layer"]) == 2
    assert "Did you mean: 'graph_layers'" in capsys.readouterr().err


def test_recipe_prints_the_resolved_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    assert recipe_main(["actionnet/gat", "train.epochs=7"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["train"]["epochs"] == 7
    assert printed["model"]["streams"]["static"]["graph_layers"]["layer"] == {"type": "pyg:GATConv", "heads": 4}
    assert recipe_main(["--list", "actionnet/*"]) == 0
    assert "actionnet/base" in capsys.readouterr().out.split()
    assert recipe_main(["actionnet/gta"]) == 2
    assert "Did you mean: 'actionnet/gat'" in capsys.readouterr().err


def test_external_zoos_import_without_torch_warnings() -> None:
    """fvcore (under pytorchvideo) and PyG script functions at import; torch's FutureWarning must not reach users."""
    code = (
        "import zoo\n"
        "from zoo.kinds import BACKBONES, GRAPH_LAYERS\n"
        "BACKBONES.build({'type': 'ptv:x3d_xs'})\n"
        "GRAPH_LAYERS.build({'type': 'pyg:GATConv'}, in_dim=4, out_dim=4)\n"
    )
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-W", "error::FutureWarning", "-c", code]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "FutureWarning" not in done.stderr, done.stderr
