"""Typed recipe sections: a dataclass per section, its types, ranges and defaults in one place.

A section is a frozen dataclass whose fields are the keys it accepts; ``option(...)`` gives a
field's default and its range or choices. ``from_mapping(Section, recipe["train"], "train")``
refuses unknown keys (with the close ones), fills defaults, and checks every value against its
annotation, so ``train.batch_size=-1`` or ``optim.lr=abc`` fail before anything runs, naming the
key and what it accepts. A section used as a registered component (a dataset type) calls
``check_fields`` from its ``__post_init__``.

>>> @dataclass(frozen=True)
... class Train:
...     epochs: int = option(min=1)
...     lr: float = option(0.01, gt=0)
>>> from_mapping(Train, {"epochs": 3, "lr": 1}, "train")
Train(epochs=3, lr=1.0)
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass
from typing import Any, TypeVar

from .errors import ConfigError, did_you_mean

T = TypeVar("T")

__all__ = ["check_fields", "dataclass", "from_mapping", "option", "to_mapping"]


def option(
    default: Any = MISSING,
    *,
    min: float | None = None,
    max: float | None = None,
    gt: float | None = None,
    choices: Sequence[Any] | None = None,
    factory: Any = MISSING,
) -> Any:
    """A section field: its default (none: required), and the range or choices of its values."""
    meta = {"min": min, "max": max, "gt": gt, "choices": tuple(choices) if choices is not None else None}
    if factory is not MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def from_mapping(cls: type[T], values: Mapping[str, Any] | None, where: str) -> T:
    """Build section ``cls`` from a recipe mapping (None: all defaults), checked; errors name ``where.key``."""
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where} must be a mapping of keys to values, got {values!r}")
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = [k for k in values if k not in names]
    if unknown:
        hints = "".join(did_you_mean(str(k), names) for k in unknown)
        raise ConfigError(
            f"unknown key(s) {[f'{where}.{k}' for k in unknown]}.{hints} {where} accepts: {', '.join(names)}"
        )
    missing = [
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name not in values and f.default is MISSING and f.default_factory is MISSING
    ]
    if missing:
        raise ConfigError(f"{where} needs {', '.join(f'{where}.{m}' for m in missing)}")
    obj = cls(**values)
    check_fields(obj, where)
    return obj


def to_mapping(section: Any) -> dict[str, Any]:
    """A section as plain values (for JSON, YAML and checkpoints)."""
    return {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}


def check_fields(obj: Any, where: str) -> None:
    """Check (and coerce int -> float) every field of the dataclass ``obj``; a bad one names ``where.field``."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        key = f"{where}.{f.name}"
        value = _check(getattr(obj, f.name), hints[f.name], key)
        _check_range(value, f.metadata, key)
        object.__setattr__(obj, f.name, value)


# -- checking one value ----------------------------------------------------------------------
def _check(value: Any, hint: Any, key: str) -> Any:
    ok, coerced = _matches(value, hint)
    if not ok:
        got = f"the string {value!r}" if isinstance(value, str) else repr(value)
        raise ConfigError(f"{key} must be {describe(hint)}, got {got}")
    return coerced


def _matches(value: Any, hint: Any) -> tuple[bool, Any]:
    """(whether ``value`` fits ``hint``, the value coerced: ints become floats where floats are asked)."""
    if hint is Any:
        return True, value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            ok, coerced = _matches(value, arg)
            if ok:
                return True, coerced
        return False, value
    if hint is type(None):
        return value is None, value
    if origin is typing.Literal:
        return value in args, value
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if hint is str:
        return isinstance(value, str), value
    if origin in (list, tuple, Sequence) or hint in (list, tuple):
        if not isinstance(value, list | tuple):
            return False, value
        item = args[0] if args else Any
        out = []
        for v in value:
            ok, c = _matches(v, item)
            if not ok:
                return False, value
            out.append(c)
        return True, type(value)(out) if origin is tuple else out
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        if not isinstance(value, Mapping):
            return False, value
        k_hint, v_hint = args if args else (Any, Any)
        out_map = {}
        for k, v in value.items():
            ok_k, ck = _matches(k, k_hint)
            ok_v, cv = _matches(v, v_hint)
            if not (ok_k and ok_v):
                return False, value
            out_map[ck] = cv
        return True, out_map
    return isinstance(value, hint) if isinstance(hint, type) else True, value


def describe(hint: Any) -> str:
    """A type hint in words, for error messages."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        parts = [describe(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (list, tuple, Sequence):
        return f"a list of {describe(args[0]).removeprefix('a ').removeprefix('an ')}s" if args else "a list"
    if origin in (dict, Mapping):
        return f"a mapping of {describe(args[0])} to {describe(args[1])}" if args else "a mapping"
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string", type(None): "null"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _check_range(value: Any, meta: Mapping[str, Any], key: str) -> None:
    if value is None:
        return
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    if not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value!r}")
    low, high, above = meta.get("min"), meta.get("max"), meta.get("gt")
    if low is not None and value < low:
        raise ConfigError(f"{key} must be >= {low}, got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"{key} must be <= {high}, got {value!r}")
    if above is not None and not value > above:
        raise ConfigError(f"{key} must be > {above}, got {value!r}")
