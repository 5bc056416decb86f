"""``train.compile``: the training step and evaluation through ``torch.compile``, eager where a part cannot.

Each is compiled as one graph (``fullgraph``): a part that would break the graph (data-dependent Python
control flow, an op dynamo cannot trace) is then an error at the first call instead of a silent mix of
compiled and eager pieces. That error is caught once: the step runs eager from then on, and one line says
which component (its place in the model, its class and file) did not compile and why. Evaluation is
compiled with dynamic shapes, since whole videos give every batch another length.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

# Raised by dynamo (tracing) and by the backend (inductor, its C++ compiler); anything else is the model's own.
COMPILE_ERRORS: tuple[type[BaseException], ...] = (torch._dynamo.exc.TorchDynamoException,)


class CompiledOrEager(nn.Module):
    """``module`` called through ``torch.compile(fullgraph=True)``; at a compile error, eager with a message.

    ``what`` names the step in the message ("the training step", "evaluation"). ``fell_back`` holds the
    message once it fell back (None while compiled). ``state_dict`` and ``train()`` reach ``module``.
    """

    def __init__(self, module: nn.Module, what: str, dynamic: bool | None = None, model: nn.Module | None = None):
        super().__init__()
        self.module = module
        self.what = what
        self.model = model if model is not None else module  # whose components the message names
        self._compiled: Callable[..., Any] | None = torch.compile(module, fullgraph=True, dynamic=dynamic)
        self.fell_back: str | None = None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self._compiled is None:
            return self.module(*args, **kwargs)
        try:
            return self._compiled(*args, **kwargs)
        except COMPILE_ERRORS as e:
            # Nothing ran yet (compiling comes first), so the same call eager is the call.
            self._compiled = None
            self.fell_back = (
                f"train.compile: {self.what} runs eager: {culprit(self.model, e)} does not compile ({reason(e)})"
            )
            print(self.fell_back, file=sys.stderr, flush=True)
            return self.module(*args, **kwargs)


def reason(error: BaseException) -> str:
    """The first line of a compile error, without torch's advice on how to file a bug."""
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def culprit(model: nn.Module, error: BaseException) -> str:
    """The components of ``model`` whose code the error's innermost traced frame of the zoo's (or a plugin's)
    code is in: their places in the model, class and ``file:line``; ``the model`` when no frame is one's."""
    spans: dict[type, tuple[str, int, int]] = {}  # class -> (file, first line, last line) of its source
    places: dict[type, list[str]] = {}
    for name, module in model.named_modules():
        cls = type(module)
        if cls.__module__.startswith("torch."):  # torch's own layers: the frame of interest calls them
            continue
        if cls not in spans:
            try:
                lines, first = inspect.getsourcelines(cls)
                spans[cls] = (str(Path(inspect.getsourcefile(cls) or "").resolve()), first, first + len(lines) - 1)
            except (OSError, TypeError):  # no source (a builtin, a class made at run time)
                continue
        places.setdefault(cls, []).append(name or "the model")
    for filename, line in reversed(_user_frames(error)):  # the innermost frame is the most specific
        path = str(Path(filename).resolve())
        for cls, (source, first, last) in spans.items():
            if source == path and first <= line <= last:
                names = places[cls]
                shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
                return f"{shown} ({cls.__name__}, {Path(filename).name}:{line})"
    return f"the model ({type(model).__name__})"


def _user_frames(error: BaseException) -> list[tuple[str, int]]:
    """(file, line) of the traced code: dynamo keeps it as ``real_stack``; else the traceback's frames."""
    stack = getattr(error, "real_stack", None)
    if stack:
        return [(f.filename, f.lineno or 0) for f in stack]
    frames, tb = [], error.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    return frames
