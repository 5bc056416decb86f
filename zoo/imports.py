"""Importing the external zoos (pytorchvideo, PyG) without a warning users can do nothing about."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType


def import_quietly(name: str) -> ModuleType:
    """``importlib.import_module(name)``, silencing only torch's deprecation of ``torch.jit.script``.

    fvcore (under pytorchvideo) and PyG script functions at import time, so every command would print
    torch's FutureWarning about it; the filter holds during the import only, never for the user's own calls.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
        return importlib.import_module(name)


def first_sentence(doc: str | None) -> str:
    """The first sentence of a PyG docstring (it wraps sentences across lines and quotes papers in them)."""
    text = " ".join(line.strip() for line in (doc or "").strip().split("\n\n")[0].splitlines())
    text = text.replace(":class:", "").replace("`", "").replace("_ ", " ")
    for i, ch in enumerate(text):
        if (
            ch == "."
            and (i + 1 == len(text) or text[i + 1] == " ")
            and not text[max(0, i - 3) : i].endswith(("e.g", "i.e", "al"))
        ):
            return text[: i + 1]
    return text
