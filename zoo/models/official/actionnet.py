"""Read state_dicts saved by the ACTION-NET authors' code into the zoo's ``actionnet/base`` recipe.

Their model is one module with fixed key names (``d_ct.*`` / ``s_ct.*`` for the dynamic and static
context-aware attention modules, ``fc.*`` for the regressor) and the two fixed adjacency matrices
``adj1`` [26, 26] and ``adj2`` [80, 80]. The zoo builds the graph from the formula for any length,
so the matrices are not weights here; they are checked against the formula instead.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from registry import RecipeError, load_recipe

from ...graphs.builders import TemporalDecay

STREAMS = {"d_ct": "dynamic", "s_ct": "static"}
ADJACENCY = {"adj1": "dynamic", "adj2": "static"}
LAYERS = {
    "embedding.0": "embed.net.0",
    "embedding.2": "embed.net.2",
    "gcn1": "graph_layers.layers.0.linear",
    "gcn2": "graph_layers.layers.1.linear",
    "att.0": "attention.score.0",
    "att.2": "attention.score.2",
}
HEAD = {"fc.0": "head.net.0", "fc.3": "head.net.3"}


def official_key(key: str) -> str | None:
    """The zoo key for one of the authors' keys (None for the fixed adjacency matrices)."""
    if key in ADJACENCY:
        return None
    module, _, param = key.rpartition(".")
    for prefix, stream in STREAMS.items():
        if module.startswith(prefix + "."):
            layer = module[len(prefix) + 1 :]
            if layer in LAYERS:
                return f"streams.{stream}.{LAYERS[layer]}.{param}"
    if module in HEAD:
        return f"{HEAD[module]}.{param}"
    raise RecipeError(
        f"unexpected key {key!r} in the authors' state_dict; expected d_ct.* / s_ct.* "
        f"({', '.join(LAYERS)}), fc.0 / fc.3 and adj1 / adj2"
    )


def _check_adjacency(name: str, adj: Tensor, sigma: float) -> None:
    n = adj.shape[0]
    expected = TemporalDecay(sigma=sigma, normalize="sym")(torch.zeros(1, n, 1), torch.ones(1, n, dtype=torch.bool))
    if not torch.allclose(adj.float(), expected.adj[0], atol=1e-5):
        raise RecipeError(
            f"the authors' {name} [{n}, {n}] is not exp(-|i-j|/{sigma}) normalised D^-1/2 A D^-1/2; "
            "the checkpoint comes from a modified model, set the recipe's graph to match it"
        )


def convert(state_dict: Mapping[str, Tensor], recipe: str | Mapping[str, Any] = "actionnet/base") -> dict[str, Any]:
    """A zoo checkpoint (``{"recipe", "model"}``) from the authors' state_dict.

    Feature widths come from the weights (their code also ran on other features, e.g. Video Swin),
    and the fixed adjacency matrices are checked against the recipe's graph.
    """
    sd = {k.removeprefix("module."): v for k, v in state_dict.items()}
    rc = copy.deepcopy(dict(recipe)) if isinstance(recipe, Mapping) else load_recipe(recipe)
    streams = rc["model"]["streams"]
    for name, stream in ADJACENCY.items():
        if name in sd and streams.get(stream):
            _check_adjacency(name, sd[name], float(streams[stream]["graph"].get("sigma", 1.0)))
    model = {}
    for key, value in sd.items():
        new = official_key(key)
        if new is not None:
            model[new] = value.detach().clone()
    for prefix, stream in STREAMS.items():
        w = sd.get(f"{prefix}.embedding.0.weight")
        if w is not None:
            rc["model"]["inputs"][stream] = int(w.shape[1])
    return {"recipe": rc, "model": model, "source": "ACTION-NET authors' state_dict"}
