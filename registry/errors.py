"""Errors that mean "the input was wrong": a recipe, a file, an argument, the disk.

Every one of them derives from ``UserError`` and carries a message meant to be read by a person:
it names the thing that was wrong, what was expected, and (where possible) the closest valid
alternatives. Tools print a ``UserError`` without a traceback and exit with its ``exit_code``;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """Input the user can fix; tools print the message alone and exit with ``exit_code``."""

    exit_code = 2


class RegistryError(UserError, KeyError):
    """An unknown, duplicate or badly configured component."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it as written.
        return str(self.args[0]) if self.args else ""


class ConfigError(UserError, ValueError):
    """A component or recipe section was given values it does not accept, or misses required ones."""


class RecipeError(UserError, ValueError):
    """A recipe file that cannot be found, parsed, merged or overridden."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the input names does not exist."""

    def __str__(self) -> str:  # OSError formats (errno, strerror); we give one message
        return str(self.args[0]) if self.args else ""


class DiskFullError(UserError, OSError):
    """No space left where a file was being written; the previous version of the file is kept."""

    exit_code = 4

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnwritableError(UserError, OSError):
    """A file or folder the zoo must write cannot be: no permission, a read-only file system, a file in the way."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


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
