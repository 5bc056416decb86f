"""``Registry``: one flat table of named components per kind, with lazy external namespaces.

A component is any callable (class or factory function) that builds an object from keyword
arguments. It registers itself with ``@KIND.register()``. Names of other libraries' zoos
(``timm:resnet18``, ``pyg:GATConv``) resolve lazily through namespaces that a zoo adds with
``add_namespace``; the registry itself knows nothing about them.
"""

from __future__ import annotations

import contextlib
import fnmatch
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import hints
from .errors import ConfigError, RegistryError, close_matches, did_you_mean

TYPE_KEY = "type"


@dataclass(frozen=True)
class Entry:
    """One listed component: its registered name, a one-line description and where it lives."""

    name: str
    description: str
    where: str


@dataclass
class Namespace:
    """Names resolved on demand from another library (``prefix:name``)."""

    prefix: str
    names: Callable[[], Iterable[str]]
    resolve: Callable[[str], Callable[..., Any]]
    description: str
    _cache: list[str] | None = None

    def all_names(self) -> list[str]:
        if self._cache is None:
            self._cache = sorted(self.names())
        return self._cache


def _first_line(doc: str | None) -> str:
    for line in (doc or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _where(obj: Any) -> str:
    try:
        path = inspect.getsourcefile(obj) or "?"
        line = inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"
    return f"{obj.__module__}.{obj.__qualname__} ({path}:{line})"


class Registry:
    """Components of one kind, found by name.

    >>> LAYERS = Registry("layers")
    >>> @LAYERS.register("double")
    ... def double(scale: int = 2):
    ...     return lambda x: x * scale
    >>> LAYERS.build({"type": "double", "scale": 3})(2)
    6
    """

    def __init__(self, kind: str, description: str = "", contract: type | None = None) -> None:
        self.kind = kind
        self.description = description
        # The base class every component of this kind derives from (its call signature, shapes and
        # what it declares); ``build`` refuses an object that is not one. Set by the kind's package.
        self.contract = contract
        self.contract_doc: str | None = None  # the contract in words, where the class's own docstring is not ours
        self._items: dict[str, Callable[..., Any]] = {}
        self._namespaces: dict[str, Namespace] = {}
        self._left_out: dict[str, str] = {}

    # -- registration -------------------------------------------------------------------------
    def register(self, name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: ``@REG.register()`` uses the object's ``__name__``, or pass a name."""
        if callable(name) and not isinstance(name, str):
            raise TypeError(f"use @{self.kind.upper()}.register() with parentheses")

        def deco(obj: Callable[..., Any]) -> Callable[..., Any]:
            key = name or obj.__name__
            if ":" in key:
                raise RegistryError(f"{self.kind}: ':' is reserved for namespaces, cannot register {key!r}")
            if key in self._items:
                old = self._items[key]
                raise RegistryError(
                    f"{self.kind}: {key!r} is already registered by {_where(old)}; "
                    f"{_where(obj)} tried to register it again. Pick another name."
                )
            self._items[key] = obj
            return obj

        return deco

    def set_contract(self, contract: type, doc: str | None = None) -> None:
        """The class every component must be an instance of; ``doc`` describes the contract when the class is
        another library's (``torch.optim.Optimizer``). Its ``declares`` (attribute names) are checked by ``build``."""
        self.contract, self.contract_doc = contract, doc

    @contextlib.contextmanager
    def temporarily(self, name: str, obj: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
        """Register ``obj`` as ``name`` for the duration of a ``with`` block (test plugins: the registry is left
        as it was, so listings and registry-wide tests never see them)."""
        self.register(name)(obj)
        try:
            yield obj
        finally:
            self._items.pop(name, None)

    def add_namespace(
        self,
        prefix: str,
        names: Callable[[], Iterable[str]],
        resolve: Callable[[str], Callable[..., Any]],
        description: str,
    ) -> None:
        """Resolve ``prefix:<name>`` lazily: ``names()`` lists them, ``resolve(name)`` builds a factory."""
        if prefix in self._namespaces:
            raise RegistryError(f"{self.kind}: namespace {prefix!r} is already registered")
        self._namespaces[prefix] = Namespace(prefix, names, resolve, description)

    def leave_out(self, name: str, reason: str) -> None:
        """Say that ``name`` (e.g. ``pyg:MedianAggregation``) is deliberately not offered, and why."""
        self._left_out[name] = reason

    def left_out(self) -> dict[str, str]:
        """Names not offered, with the reason (shown by listings and by the error for such a name)."""
        return dict(self._left_out)

    # -- lookup -------------------------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        try:
            self.get(name)
        except RegistryError:
            return False
        return True

    def names(self, namespaces: bool = True) -> list[str]:
        """Every registered name, namespaces expanded when ``namespaces`` is true."""
        out = sorted(self._items)
        if namespaces:
            for ns in self._namespaces.values():
                out += [f"{ns.prefix}:{n}" for n in ns.all_names()]
        return out

    def namespaces(self) -> list[Namespace]:
        return list(self._namespaces.values())

    def get(self, name: str) -> Callable[..., Any]:
        """The component called ``name``; an unknown name suggests the closest ones."""
        if not isinstance(name, str):
            raise RegistryError(f"{self.kind}: a component name must be a string, got {name!r}")
        if name in self._items:
            return self._items[name]
        if name in self._left_out:
            raise RegistryError(f"{self.kind}: {name!r} is not offered: {self._left_out[name]}")
        prefix, sep, rest = name.partition(":")
        if sep and prefix in self._namespaces:
            ns = self._namespaces[prefix]
            if rest in ns.all_names():
                return ns.resolve(rest)
            hint = did_you_mean(rest, ns.all_names())
            hint = hint.replace("'", f"'{prefix}:", 1).replace(", '", f", '{prefix}:") if hint else ""
            raise RegistryError(
                f"{self.kind}: {prefix!r} has no {rest!r}.{hint}{hints.list_components(self.kind, f'{prefix}:*')}"
            )
        if sep:
            known = ", ".join(f"{p}:" for p in self._namespaces) or "none"
            raise RegistryError(f"{self.kind}: unknown namespace {prefix!r} in {name!r} (known: {known}).")
        raise RegistryError(
            f"{self.kind}: no component named {name!r}.{did_you_mean(name, self.names())}"
            f"{hints.list_components(self.kind)}"
        )

    def list(self, pattern: str = "*", namespaces: bool = True) -> list[Entry]:
        """Components whose name matches the fnmatch ``pattern`` (case-insensitive), namespaces included."""
        pat = pattern.lower()
        out = [
            Entry(n, _first_line(obj.__doc__), _where(obj))
            for n, obj in sorted(self._items.items())
            if fnmatch.fnmatchcase(n.lower(), pat)
        ]
        for ns in self._namespaces.values() if namespaces else ():
            for n in ns.all_names():
                full = f"{ns.prefix}:{n}"
                if fnmatch.fnmatchcase(full.lower(), pat):
                    out.append(
                        Entry(full, _first_line(ns.resolve(n).__doc__) or ns.description, f"namespace {ns.prefix}:")
                    )
        return out

    def describe(self, name: str) -> str:
        return _first_line(self.get(name).__doc__)

    # -- building -----------------------------------------------------------------------------
    def build(self, cfg: Any, **defaults: Any) -> Any:
        """Build ``cfg`` (a mapping with ``type``) with ``defaults`` filling what it leaves out.

        ``None`` and objects already built (instances of the kind's contract) pass through unchanged;
        anything else that is not a mapping (``attention: mean``) is refused with the form to write
        (``{type: mean}``). Keys of ``cfg``
        are checked against the component's signature before it is called; ``defaults`` (sizes a
        parent inferred) are passed only where the component accepts them.
        """
        if cfg is None:
            return None
        if not isinstance(cfg, Mapping):
            return self._built(cfg)
        if TYPE_KEY not in cfg:
            raise ConfigError(
                f"{self.kind}: a component config needs a '{TYPE_KEY}' key naming a registered component "
                f"(one of {', '.join(self.names(namespaces=False))}, or a namespace's name); got keys {sorted(cfg)}."
                f"{hints.list_components(self.kind)}"
            )
        name = cfg[TYPE_KEY]
        factory = self.get(name)
        kwargs = {k: v for k, v in cfg.items() if k != TYPE_KEY}
        accepted, var_kw, required = _signature(factory)
        unknown = [k for k in kwargs if k not in accepted and not var_kw]
        if unknown:
            close = "".join(did_you_mean(k, accepted) for k in unknown)
            raise ConfigError(
                f"{self.kind} {name!r} got unknown argument(s) {unknown}.{close} "
                f"It accepts: {', '.join(accepted) or 'no arguments'}."
            )
        for k, v in defaults.items():
            if k not in kwargs and (k in accepted or var_kw):
                kwargs[k] = v
        missing = [k for k in required if k not in kwargs]
        if missing:
            raise ConfigError(f"{self.kind} {name!r} needs argument(s) {missing}; it accepts: {', '.join(accepted)}.")
        if inspect.isclass(factory) and inspect.isabstract(factory):
            left = ", ".join(sorted(factory.__abstractmethods__))
            raise RegistryError(
                f"{self.kind} {name!r} ({_where(factory)}) leaves {left} unimplemented, which every {self.kind} "
                f"component must implement (its contract: {self._contract_name()})"
            )
        try:
            obj = factory(**kwargs)
        except (ConfigError, RegistryError) as e:
            raise type(e)(f"while building {self.kind} {name!r}: {e}") from e
        self.check(obj, name)
        return obj

    def _contract_name(self) -> str:
        c = self.contract
        return f"{c.__module__}.{c.__qualname__}" if c is not None else "none"

    def check(self, obj: Any, name: str) -> None:
        """``obj`` keeps the contract: an instance of the contract class that sets every attribute it ``declares``."""
        if self.contract is None:
            return
        if not isinstance(obj, self.contract):
            raise RegistryError(
                f"{self.kind} {name!r} built a {type(obj).__name__}, which is not a {self.contract.__name__}: "
                f"every {self.kind} component derives from {self._contract_name()} (its contract)"
            )
        unset = [a for a in getattr(self.contract, "declares", ()) if not hasattr(obj, a)]
        if unset:
            raise RegistryError(
                f"{self.kind} {name!r} built a {type(obj).__name__} that does not set {', '.join(unset)}, which every "
                f"{self.kind} component declares (its contract: {self._contract_name()}; "
                f"python tools/list.py {self.kind} --contract)"
            )

    def _built(self, obj: Any) -> Any:
        """An object passed where a config was expected: one already built (of the kind's contract) passes."""
        plain = isinstance(obj, str | int | float | bool | list | tuple)
        if not plain and (self.contract is None or isinstance(obj, self.contract)):
            return obj
        if isinstance(obj, str):
            known = obj in self or obj.partition(":")[0] in self._namespaces
            hint = (
                f" Write {{{TYPE_KEY}: {obj}}}."
                if known
                else f" Write {{{TYPE_KEY}: NAME}}.{did_you_mean(obj, self.names())}"
            )
            raise ConfigError(
                f"{self.kind}: a component is a mapping with a '{TYPE_KEY}' key, not the bare string {obj!r}.{hint}"
                f"{hints.list_components(self.kind)}"
            )
        what = f"a built {self.contract.__name__}" if self.contract is not None else "a built component"
        raise ConfigError(
            f"{self.kind}: expected a mapping with a '{TYPE_KEY}' key (or {what}), got {type(obj).__name__} {obj!r}."
            f"{hints.list_components(self.kind)}"
        )

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._items)} components, namespaces={list(self._namespaces)})"


def wrapping_factory(
    build: Callable[..., Any],
    own: Sequence[inspect.Parameter],
    wrapped: Callable[..., Any],
    skip: Iterable[str],
    doc: str,
) -> Callable[..., Any]:
    """``build(**kwargs)`` presented with ``own`` parameters plus ``wrapped``'s keyword arguments (minus ``skip``).

    For namespaces that wrap another library's classes (``pyg:GATConv``): the registry then checks
    a recipe's keys against the library's real arguments before anything is built.
    """
    skip = set(skip) | {"self"}
    extra = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(wrapped).parameters.values()
        if p.name not in skip and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]

    def factory(**kwargs: Any) -> Any:
        return build(**kwargs)

    factory.__signature__ = inspect.Signature([p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + extra)  # type: ignore[attr-defined]
    factory.__doc__ = doc
    factory.__name__ = factory.__qualname__ = getattr(wrapped, "__name__", "factory")
    return factory


def _signature(factory: Callable[..., Any]) -> tuple[list[str], bool, list[str]]:
    """(accepted keyword names, whether **kwargs is taken, required names)."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return [], True, []
    accepted, required, var_kw = [], [], False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            accepted.append(p.name)
            if p.default is p.empty:
                required.append(p.name)
    return accepted, var_kw, required


__all__ = ["Entry", "Namespace", "Registry", "close_matches", "wrapping_factory"]
