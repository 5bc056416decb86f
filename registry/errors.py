"""Errors raised by the registry and recipe machinery.

Each error carries a message meant to be read by a person: it names the thing that was wrong,
what was expected, and (where possible) the closest valid alternatives.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RegistryError(KeyError):
    """An unknown, duplicate or badly configured component."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it as written.
        return str(self.args[0]) if self.args else ""


class ConfigError(ValueError):
    """A component was given arguments it does not accept, or misses required ones."""


class RecipeError(ValueError):
    """A recipe file that cannot be found, parsed, merged or overridden."""


def close_matches(word: str, candidates: Iterable[str], n: int = 5, cutoff: float = 0.6) -> list[str]:
    """Closest candidates to ``word``, case-insensitively, best first."""
    candidates = list(dict.fromkeys(candidates))
    lowered: dict[str, list[str]] = {}
    for c in candidates:
        lowered.setdefault(c.lower(), []).append(c)
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=cutoff)
    # A substring match is as good a hint as an edit-distance one ("gat" -> "pyg:GATConv").
    if len(hits) < n and len(word) >= 3:
        hits += [c for c in lowered if word.lower() in c and c not in hits][: n - len(hits)]
    return [orig for h in hits for orig in lowered[h]][:n]


def did_you_mean(word: str, candidates: Iterable[str], n: int = 5) -> str:
    """' Did you mean: a, b?' or an empty string when nothing is close."""
    hits = close_matches(word, candidates, n=n)
    return f" Did you mean: {', '.join(repr(h) for h in hits)}?" if hits else ""
