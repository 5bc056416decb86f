"""MCMoE (XuHuangbiao/MCMoE, ``MoE_AQA``): their key names and sizes, the ``mcmoe`` model's.

Their modalities ``v``, ``a``, ``f`` are the recipe's inputs ``rgb``, ``audio``, ``flow``; the recipe's
order of inputs is the order of the experts' mixture, so the router's last layer (rows) and the fusion's
first convolution (input channels) are permuted from theirs (v, a, f) to it. ``in_proj`` is each
modality's ``conv1d`` embedding, ``transformer.encoder`` the shared ``encoder`` stack, ``generators``
the ``completion``, ``experts``, ``router_mix`` and ``fusion`` the ``mixture``, ``transformer.decoder``
and ``prototype`` the grade decoder, ``regressor`` the grade head's logits.

Their ``PositionalEncoding`` adds ``pe[:b]`` to the prototypes, a ``[b, 1, D]`` slice: the row of the
video's position in the batch, not of the query (a bug; video i of a batch gets ``pe[i]`` on all its
queries, so their batched scores depend on the batch order). Scored alone, as their test at batch 1 and
as the zoo always scores, every video gets ``pe[0] = [0, 1, 0, 1, ...]``: it is folded into the queries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from registry import RecipeError

from .gdlt import DECODER, layer_count, recipe_of, unknown, with_derived

MODALITIES = {"v": "rgb", "a": "audio", "f": "flow"}  # theirs -> the recipe's input names, in their order
SEQUENTIAL = {"0": "convs.0", "1": "norms.0", "3": "convs.1", "4": "norms.1"}  # Conv-BN-act-Conv-BN


def order(rc: Mapping[str, Any]) -> list[str]:
    """Their modality letters in the order of the recipe's inputs (the mixture's order)."""
    names = list(rc["model"].get("inputs") or {})
    back = {v: k for k, v in MODALITIES.items()}
    missing = [n for n in MODALITIES.values() if n not in names]
    if missing or len(names) != len(MODALITIES):
        raise RecipeError(
            f"mcmoe weights hold the modalities {list(MODALITIES.values())}; the recipe's model.inputs are {names}"
        )
    return [back[n] for n in names]


def sizes(state: Mapping[str, Tensor], rc: dict[str, Any]) -> None:
    """Set in ``rc`` the sizes their weights have: input widths, width, layers, queries, feed-forward ratios."""
    need = [f"in_proj.{m}.0.weight" for m in MODALITIES] + ["prototype.weight", "router_mix.fc2.weight"]
    missing = [k for k in need if k not in state]
    if missing:
        raise RecipeError(
            f"the authors' state_dict lacks {missing}: not MCMoE's MoE_AQA (in_proj.v/a/f, generators, experts, "
            "router_mix, fusion, transformer, prototype, regressor); convert_official.py --method names the method"
        )
    model = rc["model"]
    width = int(state["in_proj.v.3.weight"].shape[0])
    model["width"] = width
    model["inputs"] = {MODALITIES[m]: int(state[f"in_proj.{m}.0.weight"].shape[1]) for m in order(rc)}
    for m in MODALITIES:
        first = state[f"in_proj.{m}.0.weight"]
        if int(first.shape[0]) * 2 != int(first.shape[1]):
            raise RecipeError(f"mcmoe: in_proj.{m} narrows {first.shape[1]} to {first.shape[0]}, theirs halves it")
    ff = int(state["transformer.encoder.layers.0.linear1.weight"].shape[0])
    encoder = model.setdefault("encoder", {})
    encoder["num_layers"] = layer_count(state, "transformer.encoder.layers")
    encoder.setdefault("layer", {})["ff_ratio"] = ff / width
    encoder["norm"] = "layer" if "transformer.encoder.norm.weight" in state else "none"
    decoder = model.setdefault("decoder", {})
    queries = int(state["prototype.weight"].shape[0])
    decoder.update(queries=queries, layers=layer_count(state, "transformer.decoder.layers"))
    decoder["ff_ratio"] = int(state["transformer.decoder.layers.0.linear1.weight"].shape[0]) / width
    model.setdefault("head", {})["grades"] = queries


def key_of(key: str) -> str | None:
    """Our key for one of theirs (None: not one of MCMoE's)."""
    if m := re.fullmatch(r"in_proj\.([vaf])\.(\d)\.(\w+)", key):
        return f"embeds.{MODALITIES[m[1]]}.{SEQUENTIAL[m[2]]}.{m[3]}" if m[2] in SEQUENTIAL else None
    if m := re.fullmatch(r"experts\.([vaf])\.(\d)\.(\w+)", key):
        return f"mixture.experts.{MODALITIES[m[1]]}.{SEQUENTIAL[m[2]]}.{m[3]}" if m[2] in SEQUENTIAL else None
    if m := re.fullmatch(r"fusion\.(\d)\.(\w+)", key):
        return f"mixture.fusion.{SEQUENTIAL[m[1]]}.{m[2]}" if m[1] in SEQUENTIAL else None
    if m := re.fullmatch(r"generators\.([vaf])\.(.+)", key):
        return f"completion.generators.{MODALITIES[m[1]]}.{m[2]}"
    if m := re.fullmatch(r"router_mix\.fc([12])\.(\w+)", key):
        return f"mixture.router.{0 if m[1] == '1' else 2}.{m[2]}"
    if m := re.fullmatch(r"transformer\.encoder\.layers\.(\d+)\.(.+)", key):
        return f"encoder.layers.{m[1]}.layer.{m[2]}"
    if key.startswith("transformer.encoder.norm."):
        return f"encoder.norm.{key.rpartition('.')[2]}"
    if (m := re.fullmatch(r"transformer\.decoder\.layers\.(\d+)\.([a-z_]+\d?)\.(.+)", key)) and m[2] in DECODER:
        return f"decoder.layers.{m[1]}.{DECODER[m[2]]}.{m[3]}"
    if key.startswith("transformer.decoder.norm."):
        return f"decoder.norm.{key.rpartition('.')[2]}"
    if key == "prototype.weight":
        return "decoder.queries"
    if m := re.fullmatch(r"regressor\.(\w+)", key):
        return f"head.logit.{m[1]}"
    return None


def reorder(key: str, value: Tensor, letters: list[str]) -> Tensor:
    """Their (v, a, f) blocks in the recipe's order: the router's outputs and the fusion's input channels."""
    perm = ["vaf".index(m) for m in letters]
    if key.startswith("router_mix.fc2."):
        return value[perm]
    if key == "fusion.0.weight":
        blocks = value.chunk(len(letters), dim=1)
        return torch.cat([blocks[i] for i in perm], 1)
    return value


def convert(state: Mapping[str, Tensor], recipe: str | Mapping[str, Any] = "peers/mcmoe") -> dict[str, Any]:
    """A zoo checkpoint from MCMoE's state_dict (sizes read from the weights, heads from the recipe)."""
    rc = recipe_of(recipe)
    sizes(state, rc)
    letters = order(rc)
    model, left = {}, []
    for key, value in state.items():
        if key == "pos_encoder.pe":
            continue  # folded into the queries below
        new = key_of(key)
        if new is None:
            left.append(key)
        else:
            model[new] = reorder(key, value.detach().clone(), letters)
    if left:
        raise unknown(
            left,
            "MCMoE",
            "in_proj.*, generators.*, experts.*, router_mix.*, fusion.*, transformer.*, prototype, regressor",
        )
    if "pos_encoder.pe" in state:  # what their PositionalEncoding adds to a video scored alone: pe[0]
        # in float32 (their sum's precision), whatever precision the file stores
        model["decoder.queries"] = model["decoder.queries"].float() + state["pos_encoder.pe"][0, 0].float()
    return {
        "recipe": rc,
        "model": with_derived(model, rc),
        "source": "MCMoE authors' state_dict (XuHuangbiao/MCMoE), their pe[0] folded into the queries",
    }
