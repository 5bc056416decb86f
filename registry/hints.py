"""Where an error message sends the user next: set by the zoo that owns the tools.

The machinery does not know the zoo's command-line tools; a zoo tells it how to say "list them"
once, and every unknown-name error ends with that hint.
"""

from __future__ import annotations

from collections.abc import Callable

_components: Callable[[str, str | None], str] = lambda kind, pattern: ""  # noqa: E731
_recipes = ""


def set_hints(components: Callable[[str, str | None], str] | None = None, recipes: str | None = None) -> None:
    """``components(kind, pattern)``: a command that lists a kind's components; ``recipes``: one that lists recipes."""
    global _components, _recipes
    if components is not None:
        _components = components
    if recipes is not None:
        _recipes = recipes


def list_components(kind: str, pattern: str | None = None) -> str:
    """' List them with: <command>' (or nothing when the zoo set no hint)."""
    command = _components(kind, pattern)
    return f" List them with: {command}" if command else ""


def list_recipes() -> str:
    return f" List them with: {_recipes}" if _recipes else ""
