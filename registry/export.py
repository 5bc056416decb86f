"""Export a model to ``torch.export`` (.pt2) or ONNX, with dynamic sizes, checked against eager.

The model only has to answer three questions (the scorer does): ``inputs`` (its input names),
``example_inputs(batch, lengths, seed, ragged)`` (a dict of tensors) and ``dynamic_dims()``
(``{input: {axis: dim_name}}``). Outputs are flattened to named tensors (``score``,
``weights.dynamic``, ...). Every export is run again at a *different* batch size and length
than it was traced with and compared with the eager model (in onnxruntime for ONNX), and the
resolved recipe is written beside the file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .recipe import dump_recipe

FORMATS = ("pt2", "onnx")


def flatten_outputs(out: Mapping[str, Any], prefix: str = "") -> dict[str, Tensor]:
    """``{"score": t, "weights": {"dynamic": w}}`` -> ``{"score": t, "weights.dynamic": w}``; None dropped."""
    flat: dict[str, Tensor] = {}
    for k, v in out.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            flat.update(flatten_outputs(v, key + "."))
        elif isinstance(v, Tensor):
            flat[key] = v
    return flat


class Positional(nn.Module):
    """The model with positional tensor inputs and a tuple of named outputs, as exporters want."""

    def __init__(self, model: nn.Module, input_names: list[str], output_names: list[str]) -> None:
        super().__init__()
        self.model, self.input_names, self.output_names = model, input_names, output_names

    def forward(self, *tensors: Tensor) -> tuple[Tensor, ...]:
        flat = flatten_outputs(self.model(dict(zip(self.input_names, tensors))))
        return tuple(flat[k] for k in self.output_names)


@dataclass
class ExportResult:
    path: Path
    format: str
    recipe_path: Path | None
    output_names: list[str]
    max_abs_diff: float
    checked_shapes: dict[str, list[int]]


def _output_names(model: nn.Module, inputs: dict[str, Tensor]) -> list[str]:
    flat = flatten_outputs(model(inputs))
    # Constant outputs (e.g. a head's bin centres) carry nothing per video; leave them out.
    return [k for k, v in flat.items() if v.dim() > 0 and v.shape[0] == next(iter(inputs.values())).shape[0]]


def _dynamic_shapes(model: nn.Module, names: list[str]) -> tuple[dict[int, Any], ...]:
    dims: dict[str, Any] = {}
    spec = model.dynamic_dims()
    out = []
    for name in names:
        axes = {}
        for axis, dim_name in spec.get(name, {}).items():
            if dim_name not in dims:
                dims[dim_name] = torch.export.Dim(dim_name, min=1 if dim_name == "batch" else 2, max=1 << 16)
            axes[axis] = dims[dim_name]
        out.append(axes)
    return tuple(out)


def _check_inputs(model: nn.Module, traced: dict[str, Tensor]) -> dict[str, Tensor]:
    """Inputs at another batch size and other lengths than those traced, with padding."""
    batch = next(iter(traced.values())).shape[0] + 1
    lengths = {k: traced[k].shape[1] + 3 for k in model.inputs}
    return model.example_inputs(batch=batch, lengths=lengths, seed=1, ragged=True)


def export_model(
    model: nn.Module,
    path: str | os.PathLike[str],
    format: str = "pt2",
    recipe: Mapping[str, Any] | None = None,
    batch: int = 2,
    lengths: dict[str, int] | None = None,
    atol: float = 1e-4,
) -> ExportResult:
    """Export ``model`` (in eval mode) to ``path`` and check it numerically at another shape."""
    if format not in FORMATS:
        raise ValueError(f"export format must be one of {FORMATS}, got {format!r}")
    model = model.eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    traced = model.example_inputs(batch=batch, lengths=lengths, seed=0, ragged=False)
    names = list(traced)
    with torch.no_grad():
        output_names = _output_names(model, traced)
    wrapper = Positional(model, names, output_names).eval()
    args = tuple(traced[n] for n in names)
    dynamic = _dynamic_shapes(model, names)
    check = _check_inputs(model, traced)
    with torch.no_grad():
        expected = wrapper(*(check[n] for n in names))
        if format == "pt2":
            program = torch.export.export(wrapper, args, dynamic_shapes=(dynamic,))
            tmp = path.with_name(f".tmp-{path.name}")
            torch.export.save(program, tmp)
            os.replace(tmp, path)
            got = torch.export.load(path).module()(*(check[n] for n in names))
        else:
            with warnings.catch_warnings():  # the exporter narrates axis renames it handles itself
                warnings.simplefilter("ignore", UserWarning)
                onnx_program = torch.onnx.export(
                    wrapper,
                    args,
                    dynamic_shapes=(dynamic,),
                    input_names=names,
                    output_names=output_names,
                    dynamo=True,
                    verbose=False,
                )
            tmp = path.with_name(f".tmp-{path.name}")
            onnx_program.save(str(tmp))
            os.replace(tmp, path)
            got = _run_onnx(path, {n: check[n] for n in names})
    diff = max(float((e - torch.as_tensor(g)).abs().max()) for e, g in zip(expected, got))
    if not diff <= atol:
        raise RuntimeError(f"{format} export of {path.name} differs from eager by {diff:.3g} (> {atol}) at a new shape")
    recipe_path = None
    if recipe is not None:
        recipe_path = path.with_name(path.name + ".recipe.yaml")
        dump_recipe(recipe, recipe_path)
    shapes = {n: list(check[n].shape) for n in names}
    return ExportResult(path, format, recipe_path, output_names, diff, shapes)


def _run_onnx(path: Path, inputs: dict[str, Tensor]) -> list[Any]:
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise RuntimeError("checking an ONNX export needs onnxruntime: pip install 'aqa-zoo[export]'") from e
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {i.name: inputs[i.name].numpy() for i in session.get_inputs()}
    return session.run(None, feed)


def export_recipe(
    recipe: Mapping[str, Any] | None,
    out: str | os.PathLike[str],
    format: str = "pt2",
    checkpoint: str | os.PathLike[str] | None = None,
) -> ExportResult:
    """Export a recipe's model (untrained, or with a checkpoint's weights; the checkpoint's recipe by default)."""
    from .checkpoint import build_model, load_checkpoint, load_state

    ckpt = load_checkpoint(checkpoint) if checkpoint is not None else None
    if recipe is None:
        if ckpt is None or "recipe" not in ckpt:
            raise ValueError("export needs a recipe, or a checkpoint that carries one")
        recipe = ckpt["recipe"]
    model = build_model(recipe)
    if ckpt is not None:
        load_state(model, ckpt["model"], source=str(checkpoint))
    return export_model(model, out, format, recipe=recipe)
