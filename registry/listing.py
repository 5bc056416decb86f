"""Text listings of the declared kinds: each component's name, one-line description and where it lives."""

from __future__ import annotations

import contextlib
import inspect
import os

from . import hints
from .errors import RegistryError, did_you_mean
from .kinds import known_kinds
from .registry import Entry, Registry


def _short(where: str) -> str:
    """Paths relative to the working folder where possible, so lines stay readable."""
    if "(" in where and where.endswith(")"):
        head, _, path = where[:-1].partition(" (")
        with contextlib.suppress(ValueError):
            path = os.path.relpath(path)
        return f"{head} ({path})"
    return where


def _rows(entries: list[Entry]) -> list[str]:
    width = max((len(e.name) for e in entries), default=0)
    return [f"  {e.name:<{width}}  {e.description}\n  {'':<{width}}  -> {_short(e.where)}" for e in entries]


def _left_out(reg: Registry, pattern: str | None) -> list[str]:
    import fnmatch

    rows = [
        f"  {name}  not offered: {why}"
        for name, why in sorted(reg.left_out().items())
        if pattern is None or fnmatch.fnmatchcase(name.lower(), pattern.lower())
    ]
    return ["  left out on purpose:", *rows] if rows else []


def format_kind(reg: Registry, pattern: str | None = None) -> str:
    """One kind: its local components, and its namespaces (summarised unless the pattern reaches them)."""
    lines = [f"{reg.kind}: {reg.description}"]
    if pattern is None:
        lines += _rows(reg.list("*", namespaces=False)) or ["  (none registered)"]
        for ns in reg.namespaces():
            more = hints.list_components(reg.kind, f"{ns.prefix}:*").replace(" List them with: ", "; ")
            lines.append(f"  {ns.prefix}:<name>  {ns.description} ({len(ns.all_names())} names{more})")
    else:
        entries = reg.list(pattern)
        lines += _rows(entries) if entries else [f"  nothing matches {pattern!r}"]
    return "\n".join(lines + _left_out(reg, pattern))


def format_contract(reg: Registry) -> str:
    """The kind's contract: the docstring of the base class its components derive from."""
    if reg.contract is None:
        return f"{reg.kind}: {reg.description}\n  (no contract class: any callable that builds from keyword arguments)"
    c = reg.contract
    return f"{reg.kind}: every component derives from {c.__module__}.{c.__qualname__}\n\n{contract_text(reg)}"


def contract_text(reg: Registry) -> str:
    """The contract in words: the registry's own description of it, else the contract class's docstring, and the
    attributes every component declares."""
    c = reg.contract
    doc = inspect.cleandoc(reg.contract_doc or (c.__doc__ if c is not None else "") or "")
    declares = getattr(c, "declares", ())
    return doc + (f"\n\nDeclares (checked when built): {', '.join(declares)}." if declares else "")


def contracts_markdown(header: str = "") -> str:
    """Every declared kind's contract as Markdown (docs/CONTRACTS.md is this text, checked by a test)."""
    lines = [header.rstrip(), ""] if header else []
    for reg in known_kinds().values():
        lines.append(f"## {reg.kind}: {reg.description}")
        lines.append("")
        if reg.contract is None:
            lines += ["No contract class: any callable that builds from keyword arguments.", ""]
            continue
        c = reg.contract
        lines += [f"Every component derives from `{c.__module__}.{c.__qualname__}`.", "", contract_text(reg), ""]
    return "\n".join(lines).rstrip() + "\n"


def format_listing(kind: str | None = None, pattern: str | None = None) -> str:
    """Every declared kind (or one); a pattern without a kind searches every kind."""
    kinds = known_kinds()
    if kind is None:
        if pattern is None:
            return "\n\n".join(format_kind(reg) for reg in kinds.values())
        found = [format_kind(reg, pattern) for reg in kinds.values() if reg.list(pattern) or _left_out(reg, pattern)]
        return "\n\n".join(found) if found else f"no component of any kind matches {pattern!r}"
    if kind not in kinds:
        raise RegistryError(f"no component kind {kind!r}.{did_you_mean(kind, kinds)} Kinds: {', '.join(kinds)}")
    return format_kind(kinds[kind], pattern)
