"""Every kind has a contract, and a contract test over every name registered in it (tests/<kind>/test_contract.py).

A contract test module names what it proves in ``NAMES``; a namespace too large to build whole (timm's
thousand models) is named in ``SAMPLED`` with the sample that stands for it and why. Test-only components
never sit in the registries (the ``registered`` fixture adds them for one test), so ``NAMES`` can be all.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from registry import known_kinds

TESTS = Path(__file__).resolve().parent
KINDS = list(known_kinds())


def contract_module(kind: str) -> ModuleType:
    path = TESTS / kind / "test_contract.py"
    assert path.is_file(), f"kind {kind!r} has no contract test: expected {path.relative_to(TESTS.parent)}"
    spec = importlib.util.spec_from_file_location(f"tests.{kind}.test_contract", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_zoo_declares_every_kind_it_has() -> None:
    folders = {p.parent.name for p in TESTS.glob("*/test_contract.py")}
    assert folders == set(KINDS), f"contract tests for kinds nobody declares: {sorted(folders - set(KINDS))}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_contract_and_a_test_over_every_name(kind: str) -> None:
    registry = known_kinds()[kind]
    assert registry.contract is not None, f"{kind} has no contract class (Registry.set_contract)"
    module = contract_module(kind)
    names = list(module.NAMES)
    sampled = getattr(module, "SAMPLED", {})
    for prefix, (sample, why) in sampled.items():
        assert sample and why, f"{kind}: namespace {prefix!r} is sampled without a sample or a reason"
        assert all(n.startswith(f"{prefix}:") and n in registry for n in sample)
    expected = [n for n in registry.names() if n.partition(":")[0] not in sampled or ":" not in n]
    assert sorted(set(names)) == sorted(expected), f"{kind}: the contract test does not cover exactly its names"
    tests_over_names = [
        name
        for name, fn in vars(module).items()
        if name.startswith("test_")
        and any(m.name == "parametrize" and list(m.args[1]) == names for m in getattr(fn, "pytestmark", []))
    ]
    assert tests_over_names, f"{kind}: no test in its contract module is parametrised over NAMES"


@pytest.mark.parametrize("kind", KINDS)
def test_no_test_plugin_sits_in_a_registry(kind: str) -> None:
    registry = known_kinds()[kind]
    plugins = [n for n in registry.names(namespaces=False) if registry.get(n).__module__.startswith("tests")]
    assert not plugins, f"{kind}: test-only components registered for the whole session: {plugins}"
