"""The kinds a zoo declares: one flat ``Registry`` per kind, in the order data flows through them.

A zoo creates its registries and declares them with ``declare(...)``; listings show the declared
kinds, and checkpoints rebuild their model with the kind called ``models``. The machinery itself
declares none.
"""

from __future__ import annotations

from .errors import RegistryError
from .registry import Registry

_KINDS: dict[str, Registry] = {}


def declare(*registries: Registry) -> None:
    """Make ``registries`` the zoo's kinds (in this order); declaring another registry under a taken kind fails."""
    for reg in registries:
        old = _KINDS.get(reg.kind)
        if old is not None and old is not reg:
            raise RegistryError(f"a kind {reg.kind!r} is already declared ({old!r}); pick another kind name")
        _KINDS[reg.kind] = reg


def known_kinds() -> dict[str, Registry]:
    """The declared kinds, by name, in declaration order."""
    return dict(_KINDS)
