"""Export a model to ``torch.export`` (.pt2) or ONNX, with dynamic sizes, checked against eager.

The model only has to answer three questions (a zoo's scorer does): ``inputs`` (its input names),
``example_inputs(batch, lengths, seed, ragged)`` (a dict of realistic tensors) and
``dynamic_dims()`` (``{input: {axis: dim_name}}``). Outputs are flattened to named tensors
(``score``, ``weights.dynamic``, ...). Every export is written to a temporary file, run again at a
*different* batch size and length than it was traced with (in onnxruntime for ONNX) and compared
with the eager model on every output, with a relative and an absolute tolerance; only an export
that passes is renamed to its final name (a failed check leaves nothing), and the resolved recipe
is written beside it. An existing file is replaced only when ``overwrite`` is true.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .errors import ConfigError, RecipeError
from .files import write_atomic
from .recipe import dump_recipe

FORMATS = ("pt2", "onnx")
RTOL, ATOL = 1e-4, 1e-5  # per output: |export - eager| <= ATOL + RTOL * |eager|


class ExportCheckError(RuntimeError):
    """The exported program does not compute what the eager model computes."""


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
    max_rel_diff: float
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
                fewest = 1 if dim_name == "batch" else model.min_instances()
                dims[dim_name] = torch.export.Dim(dim_name, min=fewest, max=1 << 16)
            axes[axis] = dims[dim_name]
        out.append(axes)
    return tuple(out)


def _check_inputs(model: nn.Module, traced: dict[str, Tensor]) -> dict[str, Tensor]:
    """Inputs at another batch size and other lengths than those traced, with padding."""
    batch = next(iter(traced.values())).shape[0] + 1
    lengths = {k: traced[k].shape[1] + 3 for k in model.inputs}
    return model.example_inputs(batch=batch, lengths=lengths, seed=1, ragged=True)


def _trace(wrapper: nn.Module, args: tuple[Tensor, ...], dynamic: Any) -> torch.export.ExportedProgram:
    """One ``torch.export`` trace, which every format is written from (tracing is most of an export's cost)."""
    return torch.export.export(wrapper, args, dynamic_shapes=(dynamic,))


def _write_program(
    program: torch.export.ExportedProgram, fmt: str, names: list[str], outputs: list[str], tmp: Path
) -> None:
    if fmt == "pt2":
        with open(tmp, "wb") as f:  # a file object: torch warns about a path not ending in .pt2 (our temporary)
            torch.export.save(program, f)
        return
    with warnings.catch_warnings():  # the exporter narrates axis renames it handles itself
        warnings.simplefilter("ignore", UserWarning)
        onnx_program = torch.onnx.export(program, input_names=names, output_names=outputs, dynamo=True, verbose=False)
    onnx_program.save(str(tmp))


def _run_program(path: Path, fmt: str, inputs: Sequence[Mapping[str, Tensor]], names: list[str]) -> list[list[Any]]:
    """The saved program loaded once (loading is most of the cost), run on each set of ``inputs``."""
    if fmt == "pt2":
        with open(path, "rb") as f:
            program = torch.export.load(f).module()
        return [list(program(*(x[n] for n in names))) for x in inputs]
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise ConfigError("checking an ONNX export needs onnxruntime: pip install 'aqa-zoo[export]'") from e
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [session.run(None, {i.name: x[i.name].numpy() for i in session.get_inputs()}) for x in inputs]


def compare(expected: tuple[Tensor, ...], got: list[Any], names: list[str], where: str) -> tuple[float, float]:
    """(max absolute, max relative difference) over every output; an output out of tolerance is an error."""
    worst_abs = worst_rel = 0.0
    if len(got) != len(expected):
        raise ExportCheckError(f"{where}: the program gives {len(got)} outputs, the eager model {len(expected)}")
    for name, e, g in zip(names, expected, got):
        e, g = e.detach().double(), torch.as_tensor(g).double()
        if e.shape != g.shape:  # a broadcast difference would compare other values than it claims
            raise ExportCheckError(
                f"{where}: output {name!r} has shape {list(g.shape)} in the program, {list(e.shape)} in the eager model"
            )
        diff = (e - g).abs()
        bad = diff > ATOL + RTOL * e.abs()
        worst_abs = max(worst_abs, float(diff.max()) if diff.numel() else 0.0)
        worst_rel = max(worst_rel, float((diff / e.abs().clamp(min=ATOL)).max()) if diff.numel() else 0.0)
        if bool(bad.any()):
            i = int(bad.flatten().nonzero()[0])
            raise ExportCheckError(
                f"{where}: output {name!r} differs from the eager model at a new shape: {float(g.flatten()[i]):.6g} "
                f"vs {float(e.flatten()[i]):.6g} ({int(bad.sum())} of {bad.numel()} values beyond "
                f"{ATOL} + {RTOL} x |eager|)"
            )
    return worst_abs, worst_rel


def export_model(
    model: nn.Module,
    path: str | os.PathLike[str],
    format: str = "pt2",
    recipe: Mapping[str, Any] | None = None,
    batch: int = 2,
    lengths: dict[str, int] | None = None,
    overwrite: bool = True,
    also_check: Sequence[Mapping[str, Tensor]] = (),
) -> ExportResult:
    """Export ``model`` (in eval mode) to ``path``, checked numerically at another shape before it is kept.

    The check loads the saved file back as a user would, runs it on one video more and 3 instances longer
    than traced (``checked_shapes``) and on each input set of ``also_check``, and compares every output with
    the eager model; any difference beyond the tolerance is an ``ExportCheckError`` and no file is kept.
    """
    return export_formats(model, {format: path}, recipe, batch, lengths, overwrite, also_check)[format]


def export_formats(
    model: nn.Module,
    paths: Mapping[str, str | os.PathLike[str]],
    recipe: Mapping[str, Any] | None = None,
    batch: int = 2,
    lengths: dict[str, int] | None = None,
    overwrite: bool = True,
    also_check: Sequence[Mapping[str, Tensor]] = (),
) -> dict[str, ExportResult]:
    """``export_model`` to several formats (``{format: path}``) from one trace, each file checked alone.

    The formats are written in the order given; a format whose check fails raises and keeps no file of its
    own, while the files of the formats before it, checked already, are kept.
    """
    for fmt in paths:
        if fmt not in FORMATS:
            raise ConfigError(f"export format must be one of {FORMATS}, got {fmt!r}")
    if not paths:
        raise ConfigError(f"export: name at least one format of {FORMATS}")
    targets = {fmt: Path(p) for fmt, p in paths.items()}
    for target in targets.values():
        if target.exists() and not overwrite:
            raise ConfigError(f"{target} exists; choose another --out or pass --force to replace it")
    model = model.eval()
    traced = model.example_inputs(batch=batch, lengths=lengths, seed=0, ragged=False)
    names = list(traced)
    results: dict[str, ExportResult] = {}
    with torch.no_grad():
        outputs = _output_names(model, traced)
        wrapper = Positional(model, names, outputs).eval()
        check = _check_inputs(model, traced)
        checks = [check, *(dict(x) for x in also_check)]
        for x in checks[1:]:
            if set(x) != set(names):
                raise ConfigError(f"export: also_check inputs must be {sorted(names)} (those traced), got {sorted(x)}")
        expected = [wrapper(*(x[n] for n in names)) for x in checks]
        program = _trace(wrapper, tuple(traced[n] for n in names), _dynamic_shapes(model, names))
        shapes = {n: list(check[n].shape) for n in names}
        for fmt, path in targets.items():
            diffs: list[tuple[float, float]] = []

            def write_and_check(tmp: Path, fmt: str = fmt, path: Path = path, diffs: list = diffs) -> None:
                # the file gets its final name only if the check passes
                _write_program(program, fmt, names, outputs, tmp)
                for want, got in zip(expected, _run_program(tmp, fmt, checks, names), strict=True):
                    diffs.append(compare(want, got, outputs, f"{fmt} export {path.name}"))

            write_atomic(path, write_and_check)
            recipe_path = None
            if recipe is not None:
                recipe_path = path.with_name(path.name + ".recipe.yaml")
                dump_recipe(recipe, recipe_path)
            worst_abs, worst_rel = max(d[0] for d in diffs), max(d[1] for d in diffs)
            results[fmt] = ExportResult(path, fmt, recipe_path, outputs, worst_abs, worst_rel, shapes)
    return results


def export_recipe(
    recipe: Mapping[str, Any] | None,
    paths: Mapping[str, str | os.PathLike[str]],
    checkpoint: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    trust_imports: bool = False,
) -> dict[str, ExportResult]:
    """Export a recipe's model (untrained, or with a checkpoint's weights; the checkpoint's recipe by default)
    to each ``{format: path}`` of ``paths``, from one trace."""
    from .checkpoint import build_model, load_checkpoint, load_state

    ckpt = load_checkpoint(checkpoint) if checkpoint is not None else None
    trusted: bool | list[str] = True
    if recipe is None:
        if ckpt is None or "recipe" not in ckpt:
            raise RecipeError("export needs a recipe, or a checkpoint that carries one")
        recipe, trusted = ckpt["recipe"], (True if trust_imports else [])
    model = build_model(
        recipe, trusted, source=f"checkpoint {str(checkpoint)!r}" if trusted is not True else "the recipe"
    )
    if ckpt is not None:
        load_state(model, ckpt["model"], source=str(checkpoint))
    return export_formats(model, paths, recipe=recipe, overwrite=overwrite)
