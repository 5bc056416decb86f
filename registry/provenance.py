"""Fingerprints: what made an artifact, written with it, and compared by whoever uses it.

An artifact (a feature folder, a checkpoint, a run, a table cell) carries a mapping of the facts
that made it (``fingerprint``); a consumer builds the mapping it expects and calls
``check_match(expected, given, ...)``: equal mappings pass, anything else is a ``MismatchError``
naming every differing key with both values, unless the caller accepts it explicitly
(``accept=True``, the tools' ``--accept-mismatch``), in which case the differences come back as
lines for the result to carry ("accepted: ..."). ``digest`` gives a short stable name for any
such mapping (canonical JSON), for folder names and quick comparisons.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import UserError

ACCEPT_FLAG = "--accept-mismatch"
_MISSING = object()


class MismatchError(UserError):
    """Two things that must belong together do not: the message names every differing key."""

    def __init__(self, message: str, differences: list[str]) -> None:
        super().__init__(message)
        self.differences = differences


def canonical(obj: Any) -> Any:
    """``obj`` as plain JSON values (tuples become lists, paths strings; dict keys strings)."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def digest(obj: Any, length: int = 16) -> str:
    """A short SHA-256 of ``obj`` as canonical JSON: equal for equal facts, whatever their key order."""
    text = json.dumps(canonical(obj), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _show(value: Any) -> str:
    if value is _MISSING:
        return "absent"
    text = json.dumps(canonical(value)) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return canonical(a) == canonical(b)


def differences(
    expected: Any, given: Any, prefix: str = "", labels: tuple[str, str] = ("expected", "given")
) -> list[str]:
    """One line per differing dotted key: ``key: <expected> expected, <given> given``."""
    if isinstance(expected, Mapping) and isinstance(given, Mapping):
        out: list[str] = []
        for key in dict.fromkeys([*expected, *given]):
            out += differences(expected.get(key, _MISSING), given.get(key, _MISSING), f"{prefix}{key}.", labels)
        return out
    if _equal(expected, given):
        return []
    key = prefix.rstrip(".") or "(the whole value)"
    return [f"{key}: {_show(expected)} {labels[0]}, {_show(given)} {labels[1]}"]


def check_match(
    expected: Any,
    given: Any,
    what: str,
    fix: str,
    accept: bool = False,
    labels: tuple[str, str] = ("expected", "given"),
    limit: int = 20,
) -> list[str]:
    """Refuse ``given`` unless it equals ``expected``; with ``accept``, return the differences instead.

    ``what`` says what does not match ("the features do not match the checkpoint's"); ``fix`` how
    to make them match. The returned lines are for the result to carry, so nobody reads a number
    made from an accepted mismatch without being told.
    """
    diffs = differences(expected, given, labels=labels)
    if diffs and not accept:
        shown = diffs[:limit] + ([f"... ({len(diffs) - limit} more)"] if len(diffs) > limit else [])
        raise MismatchError(
            f"{what}; they differ at:\n  "
            + "\n  ".join(shown)
            + f"\n{fix}. To use them anyway, pass {ACCEPT_FLAG}: the result then lists what was accepted.",
            diffs,
        )
    return [f"{what}: {d}" for d in diffs]


def file_digest(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def source_digest(packages: Iterable[str]) -> str:
    """A digest of the Python source of ``packages`` (imported modules' folders): any code change changes it."""
    import importlib

    h = hashlib.sha256()
    for name in packages:
        module = importlib.import_module(name)
        root = Path(module.__file__ or "").parent
        for path in sorted(root.rglob("*.py")):
            h.update(path.relative_to(root.parent).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


__all__ = [
    "ACCEPT_FLAG",
    "MismatchError",
    "canonical",
    "check_match",
    "differences",
    "digest",
    "file_digest",
    "source_digest",
]
