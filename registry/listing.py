"""Text listings of the registries, for ``tools/list.py``."""

from __future__ import annotations

import contextlib
import os

from .errors import RegistryError, did_you_mean
from .kinds import KINDS
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


def format_kind(reg: Registry, pattern: str | None = None) -> str:
    """One kind: its local components, and its namespaces (summarised unless the pattern reaches them)."""
    lines = [f"{reg.kind}: {reg.description}"]
    if pattern is None:
        lines += _rows(reg.list("*", namespaces=False)) or ["  (none registered)"]
        for ns in reg.namespaces():
            lines.append(
                f"  {ns.prefix}:<name>  {ns.description} ({len(ns.all_names())} names; "
                f"python tools/list.py {reg.kind} '{ns.prefix}:*')"
            )
    else:
        entries = reg.list(pattern)
        lines += _rows(entries) if entries else [f"  nothing matches {pattern!r}"]
    return "\n".join(lines)


def format_listing(kind: str | None = None, pattern: str | None = None) -> str:
    """Every kind (or one), as ``tools/list.py`` prints it."""
    if kind is None:
        return "\n\n".join(format_kind(reg) for reg in KINDS.values())
    if kind not in KINDS:
        raise RegistryError(f"no component kind {kind!r}.{did_you_mean(kind, KINDS)} Kinds: {', '.join(KINDS)}")
    return format_kind(KINDS[kind], pattern)
