"""README.md: its commands name the venv and parse, and its "Register a component" example works as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def commands() -> list[list[str]]:
    """Every ``... tools/<tool>.py ...`` line of the README's bash blocks, as argv (comments dropped)."""
    out = []
    for block in code_blocks("bash"):
        for line in block.splitlines():
            line = line.split(" #")[0].strip()
            for part in line.split("&&"):
                if "tools/" in part and ".py" in part:
                    out.append(shlex.split(part.strip()))
    return out


def test_the_first_lines_are_the_two_commands() -> None:
    top = README.split("\n## ")[0]
    blocks = re.findall(r"```bash\n(.*?)```", top, flags=re.S)
    assert "tools/train.py actionnet/synthetic" in blocks[0] and "pytest" in blocks[1]
    assert "<!-- ci: test command -->" in top


@pytest.mark.parametrize("argv", commands(), ids=lambda a: " ".join(a)[:60])
def test_every_tool_command_names_the_venv_and_parses(argv: list[str]) -> None:
    python = argv[0] if argv[0] != "torchrun" else None
    if python is not None:
        assert python == ".venv/bin/python", f"run the venv's Python, not {python!r}: {' '.join(argv)}"
    tool = next(a for a in argv if a.startswith("tools/"))
    args = argv[argv.index(tool) + 1 :]
    module = __import__(f"aqa_tools.{Path(tool).stem}", fromlist=["build_parser"])  # what tools/<tool>.py runs
    if "--help" in args:
        return
    module.build_parser().parse_intermixed_args(args)  # an unknown option or a missing argument fails here


@pytest.mark.slow  # seconds of other processes or of rendering: skip with -m 'not slow'
def test_the_register_a_component_example_works_as_written(tmp_path: Path) -> None:
    section = README.split("## Register a component")[1].split("\n## ")[0]
    python = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    recipe = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)[0]
    module_path = python.splitlines()[0].lstrip("# ").strip()  # "# my_zoo/attention.py"
    recipe_path = recipe.splitlines()[0].lstrip("# ").strip()
    (tmp_path / module_path).parent.mkdir(parents=True)
    (tmp_path / module_path).write_text(python)
    (tmp_path / module_path).with_name("__init__.py").write_text("")
    (tmp_path / recipe_path).parent.mkdir(parents=True)
    (tmp_path / recipe_path).write_text(recipe)
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")  # the example sits in the checkout, beside recipes/

    def run(*argv: str) -> subprocess.CompletedProcess[str]:  # as a user would, from the folder of the example
        env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"}
        argv = (sys.executable, *argv)
        return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    done = run(str(ROOT / "tools" / "recipe.py"), recipe_path)
    assert done.returncode == 0, done.stderr
    assert "type: temperature" in done.stdout  # the recipe resolved, and every component built (tools/recipe.py)
    code = (
        "import torch, registry, zoo\n"
        f"rc = registry.load_recipe({recipe_path!r})\n"
        "model = registry.build_model(rc).eval()\n"
        "out = model(model.example_inputs(batch=2, lengths={k: 5 for k in model.inputs}, ragged=True))\n"
        "assert out['score'].shape == (2,) and out['weights']['dynamic'].shape == (2, 5)\n"
        "print('OK', type(model.streams['dynamic'].attention).__name__)\n"
    )
    done = run("-c", code)
    assert done.returncode == 0, done.stderr
    assert "OK TemperatureAttention" in done.stdout
