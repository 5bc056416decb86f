"""What every golden-making script shares: the authors' checkout imported, their model warmed up, a file written.

A golden is the authors' own model code run once (a fixed seed, fixed inputs of realistic shape, eval
mode) from a checkout the user gives; only tensors are kept (their state_dict, the inputs, their
outputs) and the commit they came from. Their code is imported from that checkout, never copied here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]


def use_checkout(path: str | Path, entry: str = "models/model.py") -> str:
    """Put the authors' checkout first on the import path; returns its git commit (or 'unknown')."""
    path = Path(path).resolve()
    if not (path / entry).is_file():
        raise SystemExit(f"{path} is not the authors' checkout (no {entry})")
    sys.path.insert(0, str(path))  # their modules are imported by their own names (models.model, ...)
    # Their code moves tensors to CUDA unconditionally (.cuda()); this runs on the CPU.
    torch.Tensor.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]
    nn.Module.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]
    try:
        return subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def seed(value: int = 0) -> None:
    """As their main.py's setup_seed: numpy and torch."""
    np.random.seed(value)
    torch.manual_seed(value)


def perturb(model: nn.Module, scale: float = 0.2, generator_seed: int = 2) -> None:
    """Every parameter moved off its initial value by seeded noise (``p += scale * std(p) * N(0, 1)``, or
    ``scale * N(0, 1)`` where all its values are equal): norms start at weight 1 and bias 0 and some layers
    at a constant, and a golden made there could not tell a swapped norm or a transposed softmax from the
    right one. A trained checkpoint is no closer to its initialisation."""
    g = torch.Generator().manual_seed(generator_seed)
    with torch.no_grad():
        for p in model.parameters():
            spread = float(p.std()) if p.numel() > 1 and float(p.std()) > 0 else 1.0
            p.add_(scale * spread * torch.randn(p.shape, generator=g))


def warm_up(model: nn.Module, make_batch: Any, steps: int = 5) -> None:
    """A few forward passes in train mode, so batch-norm running statistics are not their initial 0 and 1
    (a golden made at initialisation would not show that they are read)."""
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(make_batch())
    model.eval()


def half_precision(model: nn.Module) -> None:
    """Round every weight and buffer to float16 values (kept as float32): the file stores them as float16,
    half the size, and their model and ours both run on exactly these values."""
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            if t.is_floating_point():
                t.copy_(t.half().float())


def stored(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state_dict as the golden file keeps it: floats as float16 (they are exactly representable)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


def save(out: str | Path, **content: Any) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    content["torch"] = str(torch.__version__)  # a plain str: the file loads with weights_only=True
    torch.save(content, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


def videos(lengths: list[int], dim: int, generator_seed: int = 1) -> list[torch.Tensor]:
    """Fixed inputs: one [1, T, C] tensor of clip features per video, magnitudes like Video-Swin features."""
    g = torch.Generator().manual_seed(generator_seed)
    return [(torch.randn(1, n, dim, generator=g).abs() * 0.5).half().float() for n in lengths]  # float16-exact
