"""Registry: registration, duplicates, suggestions, listing, building with defaults and checks."""

from __future__ import annotations

import pytest
from torch import nn

from registry import ConfigError, Registry, RegistryError


@pytest.fixture
def reg() -> Registry:
    r = Registry("layers", "test kind")

    @r.register()
    class Linear(nn.Module):
        """A linear layer."""

        def __init__(self, in_dim: int, out_dim: int = 4) -> None:
            super().__init__()
            self.in_dim, self.out_dim = in_dim, out_dim

    @r.register("block")
    class Block(nn.Module):
        """A block that builds its child with the sizes it infers."""

        def __init__(self, in_dim: int, child: dict, width: int = 8) -> None:
            super().__init__()
            self.child = r.build(child, in_dim=width)
            self.in_dim, self.width = in_dim, width

    @r.register("gcn_like")
    def gcn_like(in_dim: int, hops: int = 1) -> tuple[int, int]:
        """A factory function."""
        return in_dim, hops

    return r


def test_register_and_get(reg: Registry) -> None:
    assert reg.get("Linear").__name__ == "Linear"
    assert "block" in reg and "nope" not in reg
    assert reg.describe("block").startswith("A block")


def test_duplicate_names_both_modules(reg: Registry) -> None:
    with pytest.raises(RegistryError) as err:

        @reg.register("block")
        def other() -> None:
            """Another."""

    msg = str(err.value)
    assert "already registered" in msg and "Block" in msg and "other" in msg and __name__ in msg


def test_unknown_name_suggests(reg: Registry) -> None:
    with pytest.raises(RegistryError) as err:
        reg.get("blok")
    assert "'block'" in str(err.value) and "tools/list.py layers" in str(err.value)


def test_list_wildcards(reg: Registry) -> None:
    names = [e.name for e in reg.list("*l*")]
    assert names == ["Linear", "block", "gcn_like"]
    assert [e.name for e in reg.list("gcn*")] == ["gcn_like"]
    assert [e.name for e in reg.list("LIN*")] == ["Linear"]  # case-insensitive
    entry = reg.list("gcn*")[0]
    assert entry.description == "A factory function." and "test_registry.py" in entry.where


def test_build_nested_with_inferred_defaults(reg: Registry) -> None:
    block = reg.build({"type": "block", "child": {"type": "Linear", "out_dim": 3}}, in_dim=16)
    assert block.in_dim == 16 and block.child.in_dim == 8 and block.child.out_dim == 3
    # An explicit value wins over a default; defaults a component does not take are dropped.
    assert reg.build({"type": "gcn_like", "in_dim": 5}, in_dim=7, unused=1) == (5, 1)


def test_build_passes_built_objects_and_none(reg: Registry) -> None:
    layer = nn.Linear(2, 2)
    assert reg.build(layer) is layer
    assert reg.build(None) is None


def test_unknown_argument_lists_accepted(reg: Registry) -> None:
    with pytest.raises(ConfigError) as err:
        reg.build({"type": "Linear", "in_dim": 2, "out_dims": 3})
    msg = str(err.value)
    assert "out_dims" in msg and "'out_dim'" in msg and "accepts: in_dim, out_dim" in msg


def test_missing_argument_and_missing_type(reg: Registry) -> None:
    with pytest.raises(ConfigError, match=r"needs argument\(s\) \['in_dim'\]"):
        reg.build({"type": "Linear"})
    with pytest.raises(ConfigError, match="needs a 'type' key"):
        reg.build({"in_dim": 3})


def test_nested_error_says_where(reg: Registry) -> None:
    with pytest.raises(ConfigError, match="while building layers 'block'.*bogus"):
        reg.build({"type": "block", "child": {"type": "Linear", "bogus": 1}}, in_dim=2)


def test_namespaces_resolve_lazily_and_suggest(reg: Registry) -> None:
    calls: list[str] = []

    def resolve(name: str):
        calls.append(name)
        return lambda scale=1: (name, scale)

    reg.add_namespace("ext", names=lambda: ["Alpha", "AlphaBeta", "Gamma"], resolve=resolve, description="outside")
    assert calls == []
    assert reg.build({"type": "ext:Alpha", "scale": 2}) == ("Alpha", 2)
    assert [e.name for e in reg.list("ext:alpha*")] == ["ext:Alpha", "ext:AlphaBeta"]
    assert "ext:Gamma" in reg.names()
    with pytest.raises(RegistryError, match="'ext:Gamma'"):
        reg.get("ext:Gama")
    with pytest.raises(RegistryError, match="unknown namespace 'nope'"):
        reg.get("nope:x")
    with pytest.raises(RegistryError, match="'ext:AlphaBeta'"):  # suggestions cover namespaces too
        reg.get("AlphaBeta")


def test_colon_names_are_reserved(reg: Registry) -> None:
    with pytest.raises(RegistryError, match="reserved"):
        reg.register("a:b")(lambda: None)


def test_build_holds_every_component_to_the_kind_s_contract() -> None:
    import abc

    class Contract(nn.Module, abc.ABC):
        """Every component says its width and implements forward."""

        declares = ("out_dim",)

        @abc.abstractmethod
        def forward(self, x: object) -> object: ...

    r = Registry("things", "test kind", contract=Contract)

    @r.register()
    class Good(Contract):
        def __init__(self) -> None:
            super().__init__()
            self.out_dim = 3

        def forward(self, x: object) -> object:
            return x

    @r.register()
    class Abstract(Contract):  # forgets forward
        def __init__(self) -> None:
            super().__init__()
            self.out_dim = 3

    @r.register()
    class Silent(Contract):  # never sets out_dim
        def forward(self, x: object) -> object:
            return x

    @r.register()
    def stranger() -> nn.Module:  # a factory returning something outside the contract
        return nn.Identity()

    assert r.build({"type": "Good"}).out_dim == 3
    with pytest.raises(RegistryError, match=r"things 'Abstract' .* leaves forward unimplemented"):
        r.build({"type": "Abstract"})
    with pytest.raises(RegistryError, match=r"things 'Silent' built a Silent that does not set out_dim"):
        r.build({"type": "Silent"})
    with pytest.raises(RegistryError, match=r"things 'stranger' built a Identity, which is not a Contract"):
        r.build({"type": "stranger"})
    # A built object passes where a config is expected only when it keeps the contract.
    good = Good()
    assert r.build(good) is good
    with pytest.raises(ConfigError, match=r"expected a mapping with a 'type' key \(or a built Contract\)"):
        r.build(nn.Identity())
