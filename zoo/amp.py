"""Autocast dtypes by the names recipes use (``train.amp``, ``extract.amp``): the one table of them."""

from __future__ import annotations

import torch

AMP_CHOICES: tuple[str | None, ...] = (None, "bf16", "fp16")
_DTYPES = {None: None, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast_dtype(name: str | None) -> torch.dtype | None:
    """``torch.bfloat16`` for ``"bf16"``, ``torch.float16`` for ``"fp16"``, None for no autocast."""
    return _DTYPES[name]
