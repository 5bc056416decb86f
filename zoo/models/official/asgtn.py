"""ASGTN (jiangliu5/ASGTN_AQA): GDLT's skeleton and their graph block, the zoo's ``asgtn`` input layers.

``gcn_t.gc{1,2}_t`` are the temporal branch (``weight``: the channel mixing, ``adjweight``: the per-position
edge weights), ``gcn_s.gc{1,2}_s`` the channel branch (``adjweight``: per channel, ``weight``: the position
mixing), ``w1`` / ``w2`` the branches' weights. Their graph layers also hold a ``bias`` their forward never
uses (uninitialised by their code): it is dropped, and said so in the checkpoint's ``source``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from registry import RecipeError

from .gdlt import recipe_of, skeleton_key, skeleton_sizes, unknown, with_derived

LAYERS = "streams.dynamic.input_layers"
BLOCK = {
    "w1": "mix_temporal",
    "w2": "mix_channel",
    "gcn_t.gc1_t.weight": "temporal.0.weight",
    "gcn_t.gc1_t.adjweight": "temporal.0.position_weight",
    "gcn_t.gc2_t.weight": "temporal.1.weight",
    "gcn_t.gc2_t.adjweight": "temporal.1.position_weight",
    "gcn_s.gc1_s.adjweight": "channel.0.channel_weight",
    "gcn_s.gc1_s.weight": "channel.0.weight",
    "gcn_s.gc2_s.adjweight": "channel.1.channel_weight",
    "gcn_s.gc2_s.weight": "channel.1.weight",
}
UNUSED = ("gcn_t.gc1_t.bias", "gcn_t.gc2_t.bias", "gcn_s.gc1_s.bias", "gcn_s.gc2_s.bias")


def convert(state: Mapping[str, Tensor], recipe: str | Mapping[str, Any] = "peers/asgtn") -> dict[str, Any]:
    """A zoo checkpoint from ASGTN's state_dict (the block's positions and widths read from the weights)."""
    rc = recipe_of(recipe)
    skeleton_sizes(state, rc)
    missing = [k for k in BLOCK if k not in state]
    if missing:
        raise RecipeError(f"the authors' ASGTN state_dict lacks {missing}: not ASGTN's graph block")
    block = rc["model"]["streams"]["dynamic"]["input_layers"]
    positions, wide = (int(d) for d in state["gcn_s.gc1_s.weight"].shape)
    if wide % positions:
        raise RecipeError(f"ASGTN's channel branch maps {positions} positions to {wide}, not a whole multiple")
    block.update(positions=positions, position_ratio=wide // positions)
    block["hidden"] = int(state["gcn_t.gc1_t.weight"].shape[1])
    model, left = {}, []
    for key, value in state.items():
        if key in UNUSED:
            continue
        new = skeleton_key(key) or (f"{LAYERS}.{BLOCK[key]}" if key in BLOCK else None)
        if new is None:
            left.append(key)
        else:
            model[new] = value.detach().clone()
    if left:
        raise unknown(left, "ASGTN", f"GDLT's skeleton and {', '.join(BLOCK)}")
    dropped = [k for k in UNUSED if k in state]
    source = "ASGTN authors' state_dict (jiangliu5/ASGTN_AQA)" + (
        f"; dropped {dropped}, which their forward never uses" if dropped else ""
    )
    return {"recipe": rc, "model": with_derived(model, rc), "source": source}
