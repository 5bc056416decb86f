"""GDLT's skeleton (xuangch/CVPR22_GDLT; also CoFInAl's and ASGTN's): their key names and sizes, the zoo's.

Their ``in_proj`` (Conv1d-BN-ReLU-Conv1d-BN) is the stream's ``conv1d`` embedding, ``transformer.encoder``
its graph-layer stack (with the stack's closing ``norm``), ``transformer.decoder`` and ``prototype`` the
``grade_decoder`` attention (the queries), ``regressor`` the grade head's logits. The grade values are
not weights (their ``torch.linspace``): the recipe says them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from torch import Tensor

from registry import RecipeError, load_recipe

STREAM = "streams.dynamic"
EMBED = {
    "in_proj.0": "embed.convs.0",
    "in_proj.1": "embed.norms.0",
    "in_proj.3": "embed.convs.1",
    "in_proj.4": "embed.norms.1",
}
DECODER = {
    "self_attn": "self_attn",
    "multihead_attn": "cross_attn",
    "linear1": "ff.0",
    "linear2": "ff.3",
    "norm1": "norms.0",
    "norm2": "norms.1",
    "norm3": "norms.2",
}


def skeleton_key(key: str) -> str | None:
    """The zoo key of one of GDLT's keys (None: not part of the skeleton)."""
    module, _, param = key.rpartition(".")
    if module in EMBED:
        return f"{STREAM}.{EMBED[module]}.{param}"
    if m := re.fullmatch(r"transformer\.encoder\.layers\.(\d+)\.(.+)", key):
        return f"{STREAM}.graph_layers.layers.{m[1]}.layer.{m[2]}"
    if key.startswith("transformer.encoder.norm."):
        return f"{STREAM}.graph_layers.norm.{param}"
    if (m := re.fullmatch(r"transformer\.decoder\.layers\.(\d+)\.([a-z_]+\d?)\.(.+)", key)) and m[2] in DECODER:
        return f"{STREAM}.attention.layers.{m[1]}.{DECODER[m[2]]}.{m[3]}"
    if key.startswith("transformer.decoder.norm."):
        return f"{STREAM}.attention.norm.{param}"
    if key == "prototype.weight":
        return f"{STREAM}.attention.queries"
    if module == "regressor":
        return f"head.logit.{param}"
    return None


def layer_count(state: Mapping[str, Tensor], prefix: str) -> int:
    found = {int(m[1]) for k in state if (m := re.match(rf"{re.escape(prefix)}\.(\d+)\.", k))}
    return max(found) + 1 if found else 0


def skeleton_sizes(state: Mapping[str, Tensor], rc: dict[str, Any]) -> None:
    """Set in ``rc`` the sizes GDLT's skeleton weights have: widths, layers, queries, feed-forward ratios."""
    need = ["in_proj.0.weight", "in_proj.3.weight", "prototype.weight", "transformer.decoder.layers.0.linear1.weight"]
    missing = [k for k in need if k not in state]
    if missing:
        raise RecipeError(
            f"the authors' state_dict lacks {missing}: not GDLT's skeleton (in_proj, transformer, prototype, "
            "regressor); is it another method's? tools/convert_official.py --method names the method"
        )
    first, second = state["in_proj.0.weight"], state["in_proj.3.weight"]
    width, in_dim, middle = int(second.shape[0]), int(first.shape[1]), int(first.shape[0])
    model = rc["model"]
    model["inputs"]["dynamic"] = in_dim
    stream = model["streams"]["dynamic"]
    embed = stream["embed"]
    embed["out_dim"] = width
    if middle * 2 != in_dim:  # their options allow only in_dim // 2; a modified copy may differ
        embed.pop("hidden_ratio", None)
        embed["hidden_dims"] = [middle]
    queries = int(state["prototype.weight"].shape[0])
    decoder_ff = int(state["transformer.decoder.layers.0.linear1.weight"].shape[0])
    attention = stream["attention"]
    attention.update(queries=queries, layers=layer_count(state, "transformer.decoder.layers"))
    attention["ff_ratio"] = decoder_ff / width
    layers = stream.get("graph_layers")
    if layers is not None and layers.get("type") == "stack" and layers["layer"].get("type") == "transformer":
        layers["num_layers"] = layer_count(state, "transformer.encoder.layers")
        ff = state.get("transformer.encoder.layers.0.linear1.weight")
        if ff is not None:
            layers["layer"]["ff_ratio"] = int(ff.shape[0]) / width
        layers["norm"] = "layer" if "transformer.encoder.norm.weight" in state else "none"
    model["head"]["grades"] = queries


# Buffers the recipe determines (the grades' values: their torch.linspace, not weights they save).
DERIVED = ("head.values", "head.values_revert")


def with_derived(model: dict[str, Tensor], rc: Mapping[str, Any]) -> dict[str, Tensor]:
    """``model`` with the recipe-determined buffers (``DERIVED``) of the model ``rc`` builds added."""
    from registry import build_model

    built = build_model(rc).state_dict()
    return {**model, **{k: built[k].clone() for k in DERIVED if k in built and k not in model}}


def recipe_of(recipe: str | Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(recipe)) if isinstance(recipe, Mapping) else load_recipe(recipe)


def unknown(keys: list[str], method: str, expected: str) -> RecipeError:
    return RecipeError(f"unexpected key(s) {keys[:8]} in the authors' {method} state_dict; expected {expected}")


def convert(state: Mapping[str, Tensor], recipe: str | Mapping[str, Any] = "peers/gdlt") -> dict[str, Any]:
    """A zoo checkpoint from GDLT's state_dict (sizes read from the weights, heads from the recipe)."""
    rc = recipe_of(recipe)
    skeleton_sizes(state, rc)
    model, left = {}, []
    for key, value in state.items():
        new = skeleton_key(key)
        if new is None:
            left.append(key)
        else:
            model[new] = value.detach().clone()
    if left:
        raise unknown(left, "GDLT", "in_proj.*, transformer.encoder/decoder.*, prototype.weight, regressor.*")
    return {"recipe": rc, "model": with_derived(model, rc), "source": "GDLT authors' state_dict (xuangch/CVPR22_GDLT)"}
