"""Recipes: inheritance, _replace_, _remove_, overrides, YAML errors and numbers, lookup by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry import RecipeError, apply_overrides, dump_recipe, find_recipe, list_recipes, load_recipe
from registry import recipe as recipe_mod


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def recipes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(
        tmp_path / "_base_" / "model.yaml",
        "model:\n  type: scorer\n  head: {type: mlp, hidden_dims: [128], dropout: 0.5}\n"
        "  graph: {type: gcn, hops: 2, normalize: sym}\n",
    )
    write(tmp_path / "_base_" / "train.yaml", "train: {epochs: 10, batch_size: 32}\n")
    write(
        tmp_path / "fam" / "base.yaml",
        "_base_: [../_base_/model.yaml, ../_base_/train.yaml]\ntrain: {epochs: 20}\n",
    )
    write(tmp_path / "fam" / "gat.yaml", "_base_: base.yaml\nmodel:\n  graph: {_replace_: true, type: gat, heads: 4}\n")
    write(tmp_path / "fam" / "nohead.yaml", "_base_: base.yaml\nmodel: {_remove_: [head]}\n")
    write(tmp_path / "fam" / "mmengine.yaml", "_base_: base.yaml\nmodel: {_delete_: true, type: other}\n")
    monkeypatch.setattr(recipe_mod, "RECIPE_PATHS", [tmp_path])
    return tmp_path


def test_inheritance_merges_recursively(recipes: Path) -> None:
    r = load_recipe("fam/base")
    assert r["train"] == {"epochs": 20, "batch_size": 32}
    assert r["model"]["head"] == {"type": "mlp", "hidden_dims": [128], "dropout": 0.5}


def test_replace_swaps_a_whole_mapping(recipes: Path) -> None:
    assert load_recipe("fam/gat")["model"]["graph"] == {"type": "gat", "heads": 4}


def test_remove_removes_inherited_keys(recipes: Path) -> None:
    assert "head" not in load_recipe("fam/nohead")["model"]


def test_mmengine_delete_is_refused_with_the_two_names_that_mean_it(recipes: Path) -> None:
    with pytest.raises(RecipeError, match=r"'_delete_' is not a merge key.*'_replace_: true'.*'_remove_: \[key"):
        load_recipe("fam/mmengine")


def test_numbers_are_read_the_yaml_1_2_way(tmp_path: Path) -> None:
    path = write(tmp_path / "n.yaml", "optim: {lr: 1e-3, wd: 1E-4, m: 5.e-2, big: 2e5, name: 1e-3x, v: '1e-3'}\n")
    optim = load_recipe(path)["optim"]
    assert optim["lr"] == 0.001 and optim["wd"] == 0.0001 and optim["m"] == 0.05 and optim["big"] == 200000.0
    assert optim["name"] == "1e-3x" and optim["v"] == "1e-3"  # not numbers, or quoted: strings
    over = apply_overrides(load_recipe(path), ["optim.lr=1e-4", "optim.wd=3E-2"])["optim"]
    assert over["lr"] == 0.0001 and over["wd"] == 0.03


def test_find_by_name_and_path(recipes: Path) -> None:
    assert find_recipe("fam/gat") == recipes / "fam" / "gat.yaml"
    assert load_recipe(recipes / "fam" / "gat.yaml")["train"]["epochs"] == 20
    assert list_recipes() == ["fam/base", "fam/gat", "fam/mmengine", "fam/nohead"]  # _base_ parts are not recipes
    assert list_recipes("*gat") == ["fam/gat"]


def test_unknown_recipe_suggests(recipes: Path) -> None:
    with pytest.raises(RecipeError, match="no recipe named 'fam/gta'.*'fam/gat'"):
        load_recipe("fam/gta")
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(recipes / "missing.yaml")


def test_overrides(recipes: Path) -> None:
    r = load_recipe("fam/base", ["train.epochs=3", "model.head.hidden_dims=[64, 32]", "+train.amp=bf16"])
    assert r["train"]["epochs"] == 3 and r["model"]["head"]["hidden_dims"] == [64, 32] and r["train"]["amp"] == "bf16"
    r = load_recipe("fam/base", ["model.head={type: linear}"])  # a mapping replaces, it does not merge
    assert r["model"]["head"] == {"type": "linear"}
    r = load_recipe("fam/base", ["model.head.hidden_dims.0=7", "~model.graph", "+new.deep.key=1"])
    assert r["model"]["head"]["hidden_dims"] == [7] and "graph" not in r["model"] and r["new"]["deep"]["key"] == 1


def test_override_unknown_key_suggests(recipes: Path) -> None:
    with pytest.raises(RecipeError, match=r"no key 'train.epoch'.*'epochs'.*\+train.epoch="):
        load_recipe("fam/base", ["train.epoch=3"])
    with pytest.raises(RecipeError, match="no key 'trian'. Did you mean: 'train'"):
        load_recipe("fam/base", ["trian.epochs=3"])
    with pytest.raises(RecipeError, match="must look like"):
        apply_overrides({}, ["novalue"])
    with pytest.raises(RecipeError, match="not an index"):
        load_recipe("fam/base", ["model.head.hidden_dims.5=1"])


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "model:\n  type: scorer\n  head: {type: mlp\ntrain: 1\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(bad)
    assert f"{bad}:4:" in str(err.value) and "invalid YAML" in str(err.value)


def test_duplicate_keys_are_an_error(tmp_path: Path) -> None:
    bad = write(tmp_path / "dup.yaml", "train:\n  epochs: 1\n  epochs: 2\n")
    with pytest.raises(RecipeError, match=r"dup.yaml:3:3: key 'epochs' appears twice.*line 2"):
        load_recipe(bad)


def test_base_errors(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "_base_: b.yaml\n")
    write(tmp_path / "b.yaml", "_base_: a.yaml\n")
    with pytest.raises(RecipeError, match="loops"):
        load_recipe(tmp_path / "a.yaml")
    write(tmp_path / "c.yaml", "_base_: nothere.yaml\n")
    with pytest.raises(RecipeError, match="its _base_ 'nothere.yaml' does not exist"):
        load_recipe(tmp_path / "c.yaml")
    write(tmp_path / "list.yaml", "- 1\n- 2\n")
    with pytest.raises(RecipeError, match="mapping at the top level"):
        load_recipe(tmp_path / "list.yaml")


def test_only_safe_yaml(tmp_path: Path) -> None:
    evil = write(tmp_path / "evil.yaml", "x: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(RecipeError, match="invalid YAML"):
        load_recipe(evil)


def test_dump_round_trip(recipes: Path, tmp_path: Path) -> None:
    r = load_recipe("fam/gat")
    out = tmp_path / "run" / "recipe.yaml"
    dump_recipe(r, out)
    assert load_recipe(out) == r
