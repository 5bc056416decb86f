"""YAML recipes: find by name, inherit with ``_base_``, merge, override from the command line.

A recipe is the whole experiment in one mapping. Files are read with PyYAML's safe loader, plus a
check for duplicate keys (YAML would silently keep the last one) and YAML 1.2 numbers (``1e-3``
and ``1E-4`` are numbers, as everywhere else, not the strings YAML 1.1 makes of them).

Merge rules, applied from the bases to the file on top (the only place they are defined):

* mappings merge key by key, recursively;
* ``_replace_: true`` inside a mapping replaces the inherited mapping instead of merging into it;
* ``_remove_: [key, ...]`` inside a mapping removes those inherited keys;
* anything else (scalars, lists) replaces.

``_delete_`` is refused: in mmengine ``_delete_: true`` means what ``_replace_: true`` means here,
and a name that reads two ways would silently do the wrong one.

Overrides are ``a.b.c=value`` (value parsed as YAML; the key must already exist; a mapping value
replaces the whole mapping), ``+a.b.c=value`` (adds a key) and ``~a.b.c`` (deletes one).
"""

from __future__ import annotations

import copy
import fnmatch
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from . import hints
from .errors import RecipeError, did_you_mean
from .files import write_atomic

BASE_KEY, REPLACE_KEY, REMOVE_KEY = "_base_", "_replace_", "_remove_"
MISREAD_KEY = "_delete_"  # mmengine's name for _replace_; refused, see the module doc
SUFFIXES = (".yaml", ".yml")

# Folders searched for recipes by name, first match wins. ``AQA_RECIPE_PATH`` (os.pathsep
# separated) comes first so users can keep their own recipes outside the checkout.
RECIPE_PATHS: list[Path] = [Path(p) for p in os.environ.get("AQA_RECIPE_PATH", "").split(os.pathsep) if p]


def add_recipe_path(path: str | os.PathLike[str]) -> None:
    """Search ``path`` for recipes by name (after the ones already known)."""
    p = Path(path)
    if p not in RECIPE_PATHS:
        RECIPE_PATHS.append(p)


# -- finding -----------------------------------------------------------------------------------
def list_recipes(pattern: str = "*") -> list[str]:
    """Names of the recipes on the search path matching ``pattern`` (``_base_`` files excluded)."""
    names: list[str] = []
    for root in RECIPE_PATHS:
        if not root.is_dir():
            continue
        for f in sorted(root.rglob("*")):
            if f.suffix not in SUFFIXES or any(part.startswith("_") for part in f.relative_to(root).parts):
                continue
            name = f.relative_to(root).with_suffix("").as_posix()
            if name not in names and fnmatch.fnmatchcase(name, pattern):
                names.append(name)
    return names


def describe_recipe(name: str | os.PathLike[str]) -> str:
    """One line about a recipe: its own ``description:`` (not an inherited one), else its first comment line."""
    path = find_recipe(name)
    own = read_yaml(path).get("description")
    if isinstance(own, str) and own.strip():
        return " ".join(own.split())
    for line in path.read_text().splitlines():
        text = line.strip()
        if text.startswith("#"):
            return text.lstrip("#").strip()
        if text:
            break
    return ""


def find_recipe(name: str | os.PathLike[str]) -> Path:
    """A recipe file by path, or by name (``actionnet/rg`` -> ``<root>/actionnet/rg.yaml``)."""
    p = Path(name)
    if p.suffix in SUFFIXES or p.is_file():
        if p.is_file():
            return p
        raise RecipeError(f"recipe file {str(p)!r} does not exist.")
    found = [f for root in RECIPE_PATHS for suffix in SUFFIXES if (f := root / f"{p.as_posix()}{suffix}").is_file()]
    if found:
        _warn_shadowing(str(name), found)
        return found[0]
    roots = ", ".join(str(r) for r in RECIPE_PATHS) or "(no recipe folders registered)"
    raise RecipeError(
        f"no recipe named {str(name)!r} in {roots}.{did_you_mean(str(name), list_recipes())}{hints.list_recipes()}"
    )


_SHADOWS_SAID: set[tuple[str, ...]] = set()


def _warn_shadowing(name: str, found: list[Path]) -> None:
    """A name found in more than one recipe folder: the first wins, and the user is told which, once."""
    if len(found) < 2 or tuple(map(str, found)) in _SHADOWS_SAID:
        return
    _SHADOWS_SAID.add(tuple(map(str, found)))
    others = ", ".join(str(f) for f in found[1:])
    print(
        f"warning: recipe {name!r} is {found[0]}, which shadows {others} (an earlier folder on the recipe path, "
        "e.g. AQA_RECIPE_PATH, wins); rename yours to use both",
        file=sys.stderr,
    )


# -- reading -----------------------------------------------------------------------------------
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser where PyYAML has it: 5x faster
    """The safe loader, refusing duplicate keys and reading YAML 1.2 numbers (``1e-3``) as floats."""


# YAML 1.1 (PyYAML) needs a dot and a signed exponent for a float; YAML 1.2, JSON and Python do not.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark, source = key_node.start_mark, getattr(loader, "source", key_node.start_mark.name)
            raise RecipeError(
                f"{source}:{mark.line + 1}:{mark.column + 1}: key {key!r} appears twice in the same mapping "
                f"(first at line {seen[key].line + 1})."
            )
        seen[key] = key_node.start_mark
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """One YAML file as a dict; a syntax error names the file, line and column."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise RecipeError(f"cannot read recipe {str(path)!r}: {e.strerror}") from e
    loader = _Loader(text)
    loader.source = str(path)  # libyaml's marks name a string "<unicode string>", not the file
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise RecipeError(f"{where}: invalid YAML: {e.problem or e.context}").with_traceback(None) from None
    except yaml.YAMLError as e:
        raise RecipeError(f"{path}: invalid YAML: {e}") from None
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping at the top level, got {type(data).__name__}.")
    return data


def _load_with_bases(path: Path, stack: tuple[Path, ...]) -> dict[str, Any]:
    path = path.resolve()
    if path in stack:
        chain = " -> ".join(str(p) for p in (*stack, path))
        raise RecipeError(f"recipe inheritance loops: {chain}")
    data = read_yaml(path)
    bases = data.pop(BASE_KEY, [])
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise RecipeError(f"{path}: '{BASE_KEY}' must be a path or a list of paths, got {bases!r}")
    merged: dict[str, Any] = {}
    for base in bases:
        base_path = (path.parent / base) if not Path(base).is_absolute() else Path(base)
        if not base_path.is_file():
            raise RecipeError(f"{path}: its {BASE_KEY} {base!r} does not exist (looked for {base_path}).")
        merged = merge(merged, _load_with_bases(base_path, (*stack, path)))
    return merge(merged, data)


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged into a copy of ``base`` (see the module doc for the rules)."""
    if MISREAD_KEY in override:
        raise RecipeError(
            f"'{MISREAD_KEY}' is not a merge key here (mmengine's '{MISREAD_KEY}: true' reads two ways): write "
            f"'{REPLACE_KEY}: true' to replace an inherited mapping, or '{REMOVE_KEY}: [key, ...]' to remove "
            f"inherited keys (in: {sorted(override)})"
        )
    out = copy.deepcopy(dict(base))
    remove = override.get(REMOVE_KEY, []) or []
    if isinstance(remove, str) or not isinstance(remove, list):
        raise RecipeError(f"'{REMOVE_KEY}' takes a list of keys to remove, e.g. {REMOVE_KEY}: [static]; got {remove!r}")
    for key in remove:
        out.pop(key, None)
    for key, value in override.items():
        if key in (REMOVE_KEY, REPLACE_KEY):
            continue
        if isinstance(value, Mapping):
            if value.get(REPLACE_KEY) or not isinstance(out.get(key), Mapping):
                out[key] = merge({}, value)
            else:
                out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# -- overriding --------------------------------------------------------------------------------
def _parse_value(text: str) -> Any:
    """An override's value, read as the recipe files are (``1e-3`` is a number)."""
    try:
        return yaml.load(text, Loader=_Loader)
    except (yaml.YAMLError, RecipeError):
        return text


def apply_overrides(recipe: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``a.b=v`` / ``+a.b=v`` / ``~a.b`` to a copy of ``recipe``."""
    out = copy.deepcopy(recipe)
    for item in overrides:
        delete = item.startswith("~")
        add = item.startswith("+")
        body = item[1:] if (delete or add) else item
        if delete:
            dotted, value = body, None
        else:
            dotted, eq, raw = body.partition("=")
            if not eq or not dotted:
                raise RecipeError(f"override {item!r} must look like key.sub=value (or +key=value, ~key).")
            value = _parse_value(raw)
        keys = dotted.split(".")
        node: Any = out
        for depth, key in enumerate(keys[:-1]):
            node = _child(node, key, keys[: depth + 1], item, create=add)
        last = keys[-1]
        if isinstance(node, list):
            idx = _index(node, last, keys, item)
            if delete:
                node.pop(idx)
            else:
                node[idx] = value
            continue
        if not isinstance(node, dict):
            raise RecipeError(f"override {item!r}: {'.'.join(keys[:-1])} is a {type(node).__name__}, not a mapping.")
        if last not in node and not add:
            raise RecipeError(
                f"override {item!r}: the recipe has no key {dotted!r}.{did_you_mean(last, node)} "
                f"Write +{dotted}=... to add a new key."
            )
        if delete:
            node.pop(last)
        else:  # a mapping value replaces the whole mapping: what is written is what runs
            node[last] = merge({}, value) if isinstance(value, dict) else value
    return out


def _index(node: list[Any], key: str, keys: Sequence[str], item: str) -> int:
    try:
        idx = int(key)
        node[idx]
    except (ValueError, IndexError):
        raise RecipeError(
            f"override {item!r}: {'.'.join(keys[:-1]) or 'the recipe'} is a list of {len(node)}; "
            f"{key!r} is not an index into it."
        ) from None
    return idx


def _child(node: Any, key: str, path: Sequence[str], item: str, create: bool) -> Any:
    if isinstance(node, list):
        return node[_index(node, key, path, item)]
    if not isinstance(node, dict):
        raise RecipeError(f"override {item!r}: {'.'.join(path[:-1])} is not a mapping.")
    if key not in node or node[key] is None:
        if create:
            node[key] = {}
        else:
            raise RecipeError(f"override {item!r}: the recipe has no key {'.'.join(path)!r}.{did_you_mean(key, node)}")
    return node[key]


# -- the door ----------------------------------------------------------------------------------
def load_recipe(name: str | os.PathLike[str], overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The fully resolved recipe: found by name or path, bases merged, overrides applied."""
    return apply_overrides(_load_with_bases(find_recipe(name), ()), overrides)


def recipe_name(name: str | os.PathLike[str]) -> str:
    """A short name for a recipe given by name or path (for run folders and tables)."""
    path = find_recipe(name).resolve()
    for root in RECIPE_PATHS:
        try:
            return path.relative_to(root.resolve()).with_suffix("").as_posix()
        except ValueError:
            continue
    return path.stem


def dump_recipe(recipe: Mapping[str, Any], path: str | os.PathLike[str] | None = None) -> str:
    """The recipe as YAML text; written to ``path`` too when given (atomically)."""
    text = yaml.safe_dump(dict(recipe), sort_keys=False, default_flow_style=None, width=100)
    if path is not None:
        write_atomic(path, text)
    return text
