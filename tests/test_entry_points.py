"""The tools' doors: ``aqa_tools.<tool>.main``, run by ``tools/<tool>.py`` and by the ``aqa-*`` console scripts.

Every tool needs all three; none of them may edit ``sys.path`` (they import the installed package).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p.stem for p in (ROOT / "aqa_tools").glob("*.py") if not p.name.startswith("_"))
SHIMS = sorted(p.stem for p in (ROOT / "tools").glob("*.py") if not p.name.startswith("_"))


def console_scripts() -> dict[str, str]:
    """setup.py's ``entry_points["console_scripts"]`` as {script: "module:function"}, read from its source.

    The source, not the installed metadata: an install made before an edit would hide the edit.
    """
    tree = ast.parse((ROOT / "setup.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "setup")
    entry_points = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "entry_points"))
    pairs = (line.split("=") for line in entry_points["console_scripts"])
    return {name.strip(): target.strip() for name, target in pairs}


def edits_sys_path(source: str) -> list[int]:
    """Lines that touch ``sys.path`` (``sys.path.insert``, ``sys.path = ...``, ``from sys import path``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", None) == "sys":
            lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "sys" and any(a.name == "path" for a in node.names):
            lines.append(node.lineno)
    return lines


def test_every_tool_has_a_file_in_tools_and_a_console_script() -> None:
    assert MODULES, "no tool found in aqa_tools/"
    assert SHIMS == MODULES, "tools/<tool>.py and aqa_tools/<tool>.py come in pairs"
    targets = sorted(console_scripts().values())
    assert targets == sorted(f"aqa_tools.{m}:main" for m in MODULES), "each tool has one aqa-* console script"


@pytest.mark.parametrize("script", sorted(console_scripts()))
def test_each_console_script_points_to_a_main(script: str) -> None:
    module, function = console_scripts()[script].split(":")
    assert script.startswith("aqa-") and module.startswith("aqa_tools.")
    main = getattr(importlib.import_module(module), function)
    assert callable(main) and list(inspect.signature(main).parameters) == ["argv"]


@pytest.mark.parametrize("path", sorted((ROOT / "tools").glob("*.py")) + sorted((ROOT / "aqa_tools").glob("*.py")))
def test_no_tool_edits_sys_path(path: Path) -> None:
    lines = edits_sys_path(path.read_text())
    assert not lines, f"{path.relative_to(ROOT)} edits sys.path on line(s) {lines}: import the installed aqa_tools"


def test_a_shim_is_only_a_door() -> None:
    """tools/<tool>.py holds no logic: it imports its module's build_parser and main and runs main."""
    for name in SHIMS:
        tree = ast.parse((ROOT / "tools" / f"{name}.py").read_text())
        imports = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
        assert [(n.module, sorted(a.name for a in n.names)) for n in imports] == [
            (f"aqa_tools.{name}", ["build_parser", "main"])
        ], f"tools/{name}.py"
        assert not [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)], f"tools/{name}.py"
