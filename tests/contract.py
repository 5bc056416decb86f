"""What the contract tests of every kind share: padded batches, one video alone, gradients, export through a scorer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from registry.export import ExportResult, export_formats
from zoo.kinds import MODELS

# Videos of different lengths in one padded batch; the last is a single instance.
LENGTHS = (7, 4, 1)


def ragged(lengths: tuple[int, ...] | list[int], dim: int, seed: int = 0, pad: float = 0.0) -> tuple[Tensor, Tensor]:
    """Features ``[B, max(lengths), dim]`` and their mask; padded rows hold zeros, or noise of scale ``pad``.

    Zero padding is what the stream hands its parts; noisy padding checks a part that promises that
    its valid rows do not depend on the padding at all.
    """
    g = torch.Generator().manual_seed(seed)
    n = max(lengths)
    mask = torch.arange(n).unsqueeze(0) < torch.tensor(list(lengths)).unsqueeze(1)
    x = torch.randn(len(lengths), n, dim, generator=g)
    noise = pad * torch.randn(len(lengths), n, dim, generator=g)
    return torch.where(mask.unsqueeze(-1), x, noise), mask


def alone(x: Tensor, mask: Tensor, b: int) -> tuple[Tensor, Tensor]:
    """Video ``b`` of a padded batch as a batch of one, without padding."""
    n = int(mask[b].sum())
    return x[b : b + 1, :n], mask[b : b + 1, :n]


def assert_close(got: Tensor, want: Tensor, what: str) -> None:
    """Equal to float precision (the tolerance of the masked-length contract)."""
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4, msg=lambda m: f"{what}: {m}")


def check_alone(module: nn.Module, x: Tensor, mask: Tensor) -> None:
    """An attention module pools each padded video as it would alone (eval mode); padding gets no weight."""
    module.eval()
    with torch.no_grad():
        feats, weights = module(x, mask)
        for b in range(x.shape[0]):
            xb, mb = alone(x, mask, b)
            f, w = module(xb, mb)
            n = xb.shape[1]
            assert_close(feats[b : b + 1], f, f"video {b} alone: feature")
            assert (weights is None) == (w is None), "weights given in a batch but not alone, or the reverse"
            if w is not None:
                assert_close(weights[b : b + 1, ..., :n], w, f"video {b} alone: weights")
                assert weights[b, ..., n:].abs().sum() == 0, f"video {b}: padded instances got weight"


def assert_finite_grads(module: nn.Module, who: str) -> None:
    """Every trainable parameter of ``module`` got a gradient, and every gradient is finite."""
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    missing = [n for n, p in params if p.grad is None]
    assert not missing, f"{who}: trainable parameters without a gradient: {missing}"
    bad = [n for n, p in params if not torch.isfinite(p.grad).all()]
    assert not bad, f"{who}: non-finite gradients in {bad}"


def scorer(
    streams: dict[str, dict[str, Any]],
    inputs: dict[str, int],
    fusion: dict[str, Any] | None = None,
    head: dict[str, Any] | None = None,
) -> nn.Module:
    """A whole scorer around the part under test (it answers what ``export_model`` asks of a model)."""
    torch.manual_seed(0)
    cfg = {
        "type": "scorer",
        "inputs": inputs,
        "streams": {name: {"type": "stream", **s} for name, s in streams.items()},
        "fusion": fusion,
        "head": head or {"type": "linear"},
    }
    return MODELS.build(cfg)


def export_cases(names: list[str], onnx: set[str]) -> list[tuple[str, str]]:
    """``(name, formats)`` to export: every name to pt2, the ``onnx`` subset to ONNX as well (``"pt2,onnx"``:
    both from one trace, as ``tools/export.py --format pt2,onnx`` does)."""
    stale = onnx - set(names)
    assert not stale, f"the ONNX subset names components that are not registered: {sorted(stale)}"
    return [(n, "pt2,onnx" if n in onnx else "pt2") for n in names]


def export_checked(model: nn.Module, tmp_path: Path, formats: str) -> dict[str, ExportResult]:
    """Export ``model`` to each of ``formats`` (comma-separated); ``export_formats`` itself runs each saved
    program at a new batch and length and compares it with eager."""
    paths = {fmt: tmp_path / f"model.{fmt}" for fmt in formats.split(",")}
    results = export_formats(model, paths, lengths={k: 5 for k in model.inputs})
    assert list(results) == list(paths)
    for result in results.values():
        assert result.path.is_file() and result.output_names[0] == "score"
    return results
