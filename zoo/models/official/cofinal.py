"""CoFInAl (ZhouKanglei/CoFInAl_AQA): GDLT's skeleton and their head's key names, the zoo's ``cofinal`` head.

``regressor`` / ``regressor_revert`` give the coarse grades' logits, ``regi.0`` (their MultiheadAttention)
the fine branch's value projection, ``regressori.0.1`` / ``.2`` its two linear layers, ``etf_vec1`` the
simplex ETF. A state_dict without ``regressor_revert`` is their ETF head without the reverted grades
(``GDLTETH2``), the zoo's variant ``cofinal_2``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from .gdlt import recipe_of, skeleton_key, skeleton_sizes, unknown, with_derived

HEAD = {
    "regressor_revert.weight": "head.logit_revert.weight",
    "regressor_revert.bias": "head.logit_revert.bias",
    "regressori.0.1.weight": "head.fine.0.weight",
    "regressori.0.1.bias": "head.fine.0.bias",
    "regressori.0.2.weight": "head.fine.1.weight",
    "regressori.0.2.bias": "head.fine.1.bias",
    "regi.0.in_proj_weight": "head.attend.in_proj_weight",
    "regi.0.in_proj_bias": "head.attend.in_proj_bias",
    "regi.0.out_proj.weight": "head.attend.out_proj.weight",
    "regi.0.out_proj.bias": "head.attend.out_proj.bias",
    "etf_vec1": "head.etf",
}


def convert(state: Mapping[str, Tensor], recipe: str | Mapping[str, Any] = "peers/cofinal") -> dict[str, Any]:
    """A zoo checkpoint from CoFInAl's state_dict (variant and sizes read from the weights; restriction and heads
    from the recipe: their checkpoints do not record them)."""
    rc = recipe_of(recipe)
    skeleton_sizes(state, rc)
    head = rc["model"]["head"]
    head["variant"] = "cofinal" if "regressor_revert.weight" in state else "cofinal_2"
    if "regressori.0.1.weight" in state:
        head["hidden"] = int(state["regressori.0.1.weight"].shape[0])
    if "etf_vec1" in state:
        head["sub_grades"] = int(state["etf_vec1"].shape[0])
    model, left = {}, []
    for key, value in state.items():
        new = skeleton_key(key) or HEAD.get(key)
        if new is None:
            left.append(key)
        else:
            model[new] = value.detach().clone()
    if left:
        raise unknown(left, "CoFInAl", f"GDLT's skeleton and {', '.join(HEAD)}")
    return {
        "recipe": rc,
        "model": with_derived(model, rc),
        "source": "CoFInAl authors' state_dict (ZhouKanglei/CoFInAl_AQA)",
    }
