"""The command-line doors: --help without heavy imports, options anywhere, help on every option."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = sorted(p.stem for p in (ROOT / "aqa_tools").glob("*.py") if not p.name.startswith("_"))


def test_every_tool_is_listed() -> None:
    assert {"train", "test", "predict", "export", "extract_features", "list", "recipe", "zoo_table", "report"} <= set(
        TOOLS
    )


@pytest.mark.parametrize("tool", TOOLS)
def test_help_imports_neither_torch_nor_the_zoo(tool: str) -> None:
    """--help (and an argument error) is answered before torch, the zoo or the registry is imported.

    Both doors: the tools/<tool>.py file as users run it, and aqa_tools.<tool>.main (the console script).
    """
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['tools/{tool}.py', '--help']\n"
        "try:\n"
        f"    runpy.run_path('tools/{tool}.py', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"from aqa_tools.{tool} import main\n"
        "try:\n"
        "    main(['--no-such-option'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 2, e.code\n"
        "heavy = sorted(m for m in ('torch', 'zoo', 'registry', 'numpy') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout, done.stdout[-500:]
    assert "usage:" in done.stdout


@pytest.mark.parametrize("tool", TOOLS)
def test_every_option_says_what_it_does(tool: str) -> None:
    module = __import__(f"aqa_tools.{tool}", fromlist=["build_parser"])
    for action in module.build_parser()._actions:
        if action.dest != "help":
            assert action.help, f"aqa_tools/{tool}.py: {action.option_strings or action.dest} has no help text"
    text = module.build_parser().format_help()
    # A default is shown once, and never as a bare None/False that says nothing to a user.
    assert "(default: None)" not in text and "(default: False)" not in text, text
    for block in text.split("\n  -")[1:]:
        assert block.count("default") <= 1, f"aqa_tools/{tool}.py states a default twice: -{block}"


def test_options_may_follow_overrides() -> None:
    from aqa_tools.test import build_parser as test_parser
    from aqa_tools.train import build_parser as train_parser

    args = train_parser().parse_intermixed_args(["actionnet/base", "train.epochs=2", "--no-progress", "run.out=x"])
    assert args.recipe == "actionnet/base" and args.overrides == ["train.epochs=2", "run.out=x"] and args.no_progress
    args = test_parser().parse_intermixed_args(["data.root=/d", "--checkpoint", "c.pt", "data.x=1", "--json"])
    assert [args.recipe, *args.overrides] == ["data.root=/d", "data.x=1"] and args.json and args.checkpoint == "c.pt"


def test_a_pattern_alone_searches_every_kind(capsys: pytest.CaptureFixture[str]) -> None:
    from aqa_tools.list import main as list_main

    assert list_main(["pyg:GAT*"]) == 0
    out = capsys.readouterr().out
    assert "graph_layers:" in out and "pyg:GATConv" in out and "pyg:GATv2Conv" in out
    assert "mean" not in out.split("pyg:GATConv")[0].split("graph_layers:")[-1]
    description = next(line for line in out.splitlines() if "pyg:GATConv " in line)
    assert description.rstrip().endswith(".")  # a whole sentence, not cut mid-word


def test_contracts_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    from aqa_tools.list import main as list_main

    assert list_main(["attention", "--contract"]) == 0
    out = capsys.readouterr().out
    assert "zoo.attention.base.Attention" in out and "forward(x [B, N, C], mask [B, N] bool)" in out


def test_recipe_list_shows_what_each_recipe_is(capsys: pytest.CaptureFixture[str]) -> None:
    from aqa_tools.recipe import main as recipe_main

    assert recipe_main(["--list", "actionnet/*"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "ACTION-NET" in lines["actionnet/base"] and "graph attention" in lines["actionnet/gat"]


def test_recipe_checks_every_component_argument(capsys: pytest.CaptureFixture[str]) -> None:
    from aqa_tools.recipe import main as recipe_main

    assert recipe_main(["actionnet/base", "+model.head.foo=1"]) == 2
    assert "heads 'mlp' got unknown argument(s) ['foo']" in capsys.readouterr().err
    assert recipe_main(["actionnet/base", "+model.head.dropout=0.2"]) == 0


def test_the_contracts_document_is_up_to_date() -> None:
    """docs/CONTRACTS.md is generated from the contract classes; a changed docstring must be regenerated."""
    from aqa_tools.list import HEADER
    from registry.listing import contracts_markdown

    written = (ROOT / "docs" / "CONTRACTS.md").read_text()
    assert written == contracts_markdown(HEADER), "run: python tools/list.py --contract --markdown > docs/CONTRACTS.md"
