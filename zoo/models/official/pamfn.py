"""PAMFN (qinghuannn/PAMFN): their key names and sizes, the zoo's ``pamfn`` model's (and a branch's ``scorer``).

Their fusion model holds its branches whole (``model_r``, ``model_f``, ``model_a``: RGB, flow, audio, each
a ``BaseModel``); here they are the ``pyramid`` streams ``streams.rgb``, ``streams.flow``, ``streams.audio``.
Their 1-wide convolutions over time are linear layers here (the weights lose their last axis of size 1),
their ``Multi_Head_Attention.linear_layers`` are ``q``, ``k``, ``v``, the constant start ``c`` is the
``start`` buffer. Dropped, and said so: each branch's own head inside the fusion model (``model_*.fc``,
never run by it) and each attention's ``norm`` (a LayerNorm their forward never calls).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from torch import Tensor

from registry import RecipeError

from .gdlt import recipe_of, unknown

BRANCHES = {"model_r": "rgb", "model_f": "flow", "model_a": "audio"}
SEQUENTIAL = {"0": "convs.0", "1": "norms.0", "3": "convs.1", "4": "norms.1"}  # Conv-BN-ReLU-Conv-BN(-ReLU)
STAGE = {"conv1.0": "convs.0", "conv1.1": "norms.0", "conv2.0": "convs.1", "conv2.1": "norms.1"}
HEAD = {"fc.1": "head.net.0", "fc.2": "head.net.1", "fc.5": "head.net.4"}  # Dropout(0) has no layer here
ATTENTION = {"0": "q", "1": "k", "2": "v"}
# Their modules that hold weights their forward never reads.
UNUSED = re.compile(r"(model_[rfa]\.fc\.\d+|stage\d\.[sf]_fusion\.fusion_[sf]\.norm)\.(weight|bias)")


def branch_key(key: str) -> str | None:
    """The key inside a ``pyramid`` stream of one of ``BaseModel``'s keys (None: not a branch key)."""
    if m := re.fullmatch(r"embedding\.(\d)\.(\w+)", key):
        return f"embed.{SEQUENTIAL[m[1]]}.{m[2]}" if m[1] in SEQUENTIAL else None
    if m := re.fullmatch(r"stage(\d)\.(conv\d\.\d)\.(\w+)", key):
        return f"stages.{int(m[1]) - 1}.{STAGE[m[2]]}.{m[3]}" if m[2] in STAGE else None
    return None


def fusion_key(key: str) -> str | None:
    """The zoo key of one of the fusion model's own keys (None: unknown)."""
    if key == "c":
        return "start"
    if key == "tau":
        return "tau"
    module, _, param = key.rpartition(".")
    if module in HEAD:
        return f"{HEAD[module]}.{param}"
    m = re.fullmatch(r"stage(\d)\.(.+)", key)
    if m is None:
        return None
    block, rest = f"blocks.{int(m[1]) - 1}", m[2]
    if n := re.fullmatch(r"(conv|short_cut)\.(\d)\.(\w+)", rest):
        return f"{block}.{n[1]}.{SEQUENTIAL[n[2]]}.{n[3]}" if n[2] in SEQUENTIAL else None
    if n := re.fullmatch(r"([sf])_fusion\.fusion_[sf]\.linear_layers\.(\d)\.(\w+)", rest):
        return f"{block}.{n[1]}_fusion.attention.{ATTENTION[n[2]]}.{n[3]}"
    if n := re.fullmatch(r"s_fusion\.proj\.0\.(\w+)", rest):
        return f"{block}.s_fusion.proj.{n[1]}"
    if n := re.fullmatch(r"f_fusion\.(proj2|policy)\.0\.(\w+)", rest):
        return f"{block}.f_fusion.{n[1]}.{n[2]}"
    if n := re.fullmatch(r"f_fusion\.(proj1|ffn)\.(\d+)\.(\d)\.(\w+)", rest):
        return f"{block}.f_fusion.{n[1]}.{n[2]}.{SEQUENTIAL[n[3]]}.{n[4]}" if n[3] in SEQUENTIAL else None
    return None


def to_zoo(key: str, value: Tensor) -> Tensor:
    """Their 1-wide Conv1d weights over features that are linear layers here lose the kernel axis."""
    linear = re.search(r"(s_fusion\.proj|proj2|policy|head\.net\.[04])\.weight$", key)
    return value.squeeze(-1) if linear and value.dim() == 3 else value


def convert(state: Mapping[str, Tensor], recipe: str | Mapping[str, Any] = "peers/pamfn_fusion") -> dict[str, Any]:
    """A zoo checkpoint from the state_dict of their fusion model (``PAMFN``), sizes read from the weights."""
    if "c" not in state or "stage1.conv.0.weight" not in state:
        raise RecipeError(
            "the authors' state_dict lacks 'c' and 'stage1.conv.0.weight': not PAMFN's fusion model; a branch "
            "alone (their BaseModel) converts with convert_branch (tools/convert_official.py --method pamfn_branch)"
        )
    rc = recipe_of(recipe)
    model_cfg = rc["model"]
    width = int(state["stage1.conv.0.weight"].shape[0])
    model_cfg["candidates"] = int(state["stage1.f_fusion.policy.0.weight"].shape[0])
    model_cfg["head"]["hidden_dims"] = [int(state["fc.1.weight"].shape[0])]
    model, left = {}, []
    for key, value in state.items():
        prefix, _, rest = key.partition(".")
        if UNUSED.fullmatch(key):
            continue
        if prefix in BRANCHES:
            inner = branch_key(rest)
            new = None if inner is None else f"streams.{BRANCHES[prefix]}.{inner}"
        else:
            new = fusion_key(key)
        if new is None:
            left.append(key)
        else:
            model[new] = to_zoo(new, value.detach().clone())
    if left:
        raise unknown(left, "PAMFN", "model_[rfa].*, c, tau, stage[1-3].*, fc.*")
    for prefix, name in BRANCHES.items():
        model_cfg["inputs"][name] = int(state[f"{prefix}.embedding.0.weight"].shape[1])
        model_cfg["streams"][name]["width"] = width
    return {"recipe": rc, "model": model, "source": "PAMFN authors' state_dict (qinghuannn/PAMFN)"}


def convert_branch(state: Mapping[str, Tensor], recipe: str | Mapping[str, Any] = "peers/pamfn_rgb") -> dict[str, Any]:
    """A zoo checkpoint (a one-stream ``scorer``) from one of their single-modality models (``BaseModel``)."""
    if "embedding.0.weight" not in state:
        raise RecipeError("the authors' state_dict lacks 'embedding.0.weight': not PAMFN's BaseModel (a branch)")
    rc = recipe_of(recipe)
    model_cfg = rc["model"]
    (name,) = model_cfg["streams"]  # a branch recipe has one stream
    model, left = {}, []
    for key, value in state.items():
        inner = branch_key(key)
        if inner is not None:
            model[f"streams.{name}.{inner}"] = value.detach().clone()
        elif m := re.fullmatch(r"fc\.1\.(\w+)", key):
            model[f"head.net.1.{m[1]}"] = value.detach().clone().squeeze(-1) if m[1] == "weight" else value.clone()
        else:
            left.append(key)
    if left:
        raise unknown(left, "PAMFN branch", "embedding.*, stage[1-3].*, fc.1.*")
    model_cfg["inputs"][name] = int(state["embedding.0.weight"].shape[1])
    model_cfg["streams"][name]["width"] = int(state["embedding.3.weight"].shape[0])
    return {"recipe": rc, "model": model, "source": "PAMFN authors' branch state_dict (qinghuannn/PAMFN BaseModel)"}
