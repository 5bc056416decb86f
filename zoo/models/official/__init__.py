"""The authors' checkpoints, converted into zoo checkpoints: one door for every method (``convert_official``).

Each method has a module that maps its authors' key names to the zoo recipe's and reads the sizes the
recipe must have from the weights' shapes (widths, numbers of layers and queries): ``actionnet``
(Zeng et al.), ``gdlt`` (xuangch/CVPR22_GDLT), ``cofinal`` (ZhouKanglei/CoFInAl_AQA), ``asgtn``
(jiangliu5/ASGTN_AQA), ``pamfn`` and ``pamfn_branch`` (qinghuannn/PAMFN: the fusion model, one branch), ``mcmoe``
(XuHuangbiao/MCMoE).
What cannot be read from shapes (attention heads, restriction, variant) comes
from the recipe, which a caller may override. Every key is accounted for: a key a converter does not
know is an error naming it, and a key the zoo model lacks is reported when the weights are loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from torch import Tensor

from registry import ConfigError, RecipeError
from registry.errors import did_you_mean

from . import actionnet, asgtn, cofinal, gdlt, mcmoe, pamfn

METHODS: dict[str, tuple[Callable[..., dict[str, Any]], str]] = {
    "actionnet": (actionnet.convert, "actionnet/base"),
    "gdlt": (gdlt.convert, "peers/gdlt"),
    "cofinal": (cofinal.convert, "peers/cofinal"),
    "asgtn": (asgtn.convert, "peers/asgtn"),
    "mcmoe": (mcmoe.convert, "peers/mcmoe"),
    "pamfn": (pamfn.convert, "peers/pamfn_fusion"),
    "pamfn_branch": (pamfn.convert_branch, "peers/pamfn_rgb"),
}


def read_official(path: str | Path) -> dict[str, Tensor]:
    """The authors' state_dict from a file, read safely; a file that is not one says what it is instead."""
    from registry.checkpoint import FORMAT, load_checkpoint

    try:
        state = load_checkpoint(path)
    except RecipeError as e:
        raise RecipeError(str(e).replace("checkpoint", "the authors' state_dict", 1)) from None
    if state.get("format") == FORMAT:
        raise RecipeError(
            f"{path} is already a zoo checkpoint (format {FORMAT}): use it directly, no conversion needed"
        )
    if isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not state or not all(isinstance(v, Tensor) for v in state.values()):
        kinds = sorted({type(v).__name__ for v in state.values()})
        raise RecipeError(
            f"{path} holds no state_dict: expected a dict of tensors (torch.save(model.state_dict())), "
            f"found keys {sorted(state)[:8]} with values of type {kinds}"
        )
    return {k.removeprefix("module."): v for k, v in state.items()}  # DataParallel's prefix


def convert_official(
    state_dict: Mapping[str, Tensor], recipe: str | Mapping[str, Any] | None = None, method: str = "actionnet"
) -> dict[str, Any]:
    """A zoo checkpoint (``{"recipe", "model", "source"}``) from a state_dict of ``method``'s authors' code."""
    if method not in METHODS:
        raise ConfigError(
            f"no converter for method {method!r}.{did_you_mean(method, METHODS)} Methods: {', '.join(METHODS)}"
        )
    convert, default = METHODS[method]
    state = {k.removeprefix("module."): v for k, v in state_dict.items()}
    return convert(state, recipe if recipe is not None else default)


__all__ = ["METHODS", "convert_official", "read_official"]
