"""Typed recipe sections: types, ranges, choices and unknown keys fail up front, naming the key."""

from __future__ import annotations

import pytest

from registry import ConfigError, RecipeError, load_recipe
from registry.sections import from_mapping
from zoo.engine.sections import Eval, Run, Train, check_recipe


def recipe(*overrides: str) -> dict:
    return load_recipe("actionnet/base", list(overrides))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.batch_size=-1", r"train\.batch_size must be >= 1, got -1"),
        ("train.batch_size=0", r"train\.batch_size must be >= 1, got 0"),
        ("train.epochs=0", r"train\.epochs must be >= 1, got 0"),
        ("train.epochs=-2", r"train\.epochs must be >= 1, got -2"),
        ("train.epochs=2.5", r"train\.epochs must be an integer, got 2\.5"),
        ("train.amp=fp32", r"train\.amp must be one of None, 'bf16', 'fp16', got 'fp32'"),
        ("train.grad_clip=0", r"train\.grad_clip must be > 0"),
        ("eval.select=best", r"eval\.select must be one of 'val', 'last'"),
        ("eval.every=0", r"eval\.every must be >= 1"),
        ("run.device=gpu", r"run\.device must be auto, cpu, cuda or cuda:N, got 'gpu'"),
        ("run.checkpoint_every=often", r"run\.checkpoint_every must be an integer, got the string 'often'"),
        ("optim.lr=abc", r"optim\.lr must be a positive number, got the string 'abc'"),
        ("optim.lr=-0.1", r"optim\.lr must be a positive number, got -0\.1"),
        ("data.score_scale=0", r"data\.score_scale must be > 0"),
        ("data.val_fraction=1.5", r"data\.val_fraction must be <= 0\.95"),
        ("data.format=csv", r"data\.format must be one of 'rg', 'fisv', got 'csv'"),
    ],
)
def test_a_bad_value_names_its_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_recipe(recipe(override))


def test_numbers_written_the_usual_ways_are_numbers() -> None:
    sections = check_recipe(recipe("optim.lr=1e-3", "train.grad_clip=5E-1"))
    assert sections.train.grad_clip == 0.5
    assert check_recipe(recipe("optim.lr=1e-3")) is not None


def test_unknown_keys_suggest_the_close_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['train\.epoch'\]\. Did you mean: 'epochs'"):
        check_recipe(recipe("+train.epoch=3"))
    with pytest.raises(ConfigError, match=r"data: .*unknown argument\(s\) \['scor_scale'\]"):
        check_recipe(recipe("+data.scor_scale=3"))
    with pytest.raises(RecipeError, match="unknown recipe section 'trian'"):
        check_recipe({**recipe(), "trian": {}})


def test_defaults_live_in_one_place() -> None:
    """A key a recipe leaves out takes its section's default, read from the section class, nowhere else."""
    import dataclasses
    import re
    from pathlib import Path

    from zoo.engine.sections import DEFAULT_LOSS

    parsed = check_recipe(recipe("~train.batch_size", "~eval.batch_size", "~run.checkpoint_every", "~loss"))
    for section, cls in (("train", Train), ("eval", Eval), ("run", Run)):
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING and f.name not in recipe().get(section, {}):
                assert getattr(getattr(parsed, section), f.name) == f.default, f"{section}.{f.name}"
    assert parsed.loss == DEFAULT_LOSS
    with pytest.raises(ConfigError, match=r"train needs train\.epochs"):
        from_mapping(Train, {}, "train")
    # No other reader of a recipe keeps a default of its own: the raw sections are read in sections.py only.
    root = Path(__file__).resolve().parents[2]
    raw_read = re.compile(r"""\b(recipe|rc|own|base)(\.get\(|\[)["'](train|eval|run|loss|optim|schedule)["']""")
    readers = [
        f"{p.relative_to(root)}:{n}"
        for pkg in ("zoo", "aqa_tools")
        for p in sorted((root / pkg).rglob("*.py"))
        if p.name != "sections.py" and p.name != "zoo_table.py"  # the table writes recipes, it reads none
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if raw_read.search(line)
    ]
    assert not readers, f"raw recipe sections read outside zoo/engine/sections.py: {readers}"


def test_the_synthetic_data_section_has_its_own_defaults() -> None:
    data = check_recipe(load_recipe("actionnet/synthetic", ["~data.score_scale"])).data
    assert data.score_scale == 25.0  # the synthetic set's default, not the feature set's 1.0
    assert data.scoring().score_scale == 25.0
