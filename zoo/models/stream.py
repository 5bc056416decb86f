"""One stream: (backbone?) -> embed -> instance graph -> graph layers -> attention -> one vector."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from registry import ConfigError

from ..blocks import FeatureNorm
from ..kinds import ATTENTION, BACKBONES, EMBEDDINGS, GRAPH_BUILDERS, GRAPH_LAYERS, STREAMS
from .base import InstanceStream

SKIPS = ("concat", "add", "none")


@STREAMS.register("stream")
class Stream(InstanceStream):
    """Embed -> instance graph -> graph layers -> attention: ACTION-NET's context-aware attention module.

    ``input_layers`` (with ``input_graph`` when they need one) run on the input instances before the
    embedding, keeping their width (ASGTN's spatiotemporal block on the clip features).

    ``skip`` joins the embedding X and the graph output H before attention: ``concat`` gives
    ``[X ; H]`` (ACTION-NET), ``add`` X + H, ``none`` H alone. Without ``graph_layers`` the
    attention sees X. ``graph`` (a builder) is given exactly when the graph layers need one (a
    transformer layer does not). With a ``backbone`` the stream takes frames ``[B, N, 3, (T,) H, W]``.
    """

    def __init__(
        self,
        in_dim: int | None = None,
        embed: dict[str, Any] | None = None,
        graph: dict[str, Any] | None = None,
        graph_layers: dict[str, Any] | None = None,
        skip: str = "concat",
        attention: dict[str, Any] | None = None,
        backbone: dict[str, Any] | None = None,
        input: str | None = None,
        input_norm: bool = False,
        input_graph: dict[str, Any] | None = None,
        input_layers: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if skip not in SKIPS:
            raise ConfigError(f"stream: skip must be one of {SKIPS}, got {skip!r}")
        self.input = input
        self.backbone = BACKBONES.build(backbone)
        if self.backbone is not None:
            in_dim = in_dim or self.backbone.feature_dim
        if in_dim is None:
            raise ConfigError("stream: in_dim is unknown; give the scorer 'inputs: {name: width}' or a backbone")
        self.in_dim = in_dim
        # Standardise the input features with statistics of the training set (see Scorer.fit_input_stats).
        self.input_norm = FeatureNorm(in_dim) if input_norm else None
        # Graph layers on the input instances themselves, before the embedding (ASGTN's block on the clip features).
        before = GRAPH_LAYERS.build(input_layers, in_dim=in_dim)
        if before is not None and before.out_dim != in_dim:
            raise ConfigError(f"stream: input_layers must keep the input's width {in_dim}, they give {before.out_dim}")
        self.input_graph = _graph_builder(input_graph, before, in_dim, "input_graph", "input_layers")
        self.input_layers = before
        self.embed = EMBEDDINGS.build(embed or {"type": "identity"}, in_dim=in_dim)
        width = self.embed.out_dim
        layers = GRAPH_LAYERS.build(graph_layers, in_dim=width)
        # Registered before the layers, as always: module order fixes the order of weight initialisation.
        self.graph = _graph_builder(graph, layers, width, "graph", "graph_layers")
        self.graph_layers = layers
        self.skip = skip if self.graph_layers is not None else "none"
        graph_dim = self.graph_layers.out_dim if self.graph_layers is not None else width
        if self.skip == "add" and graph_dim != width:
            raise ConfigError(f"stream: skip 'add' needs equal widths, embed gives {width} and the graph {graph_dim}")
        att_in = width + graph_dim if self.skip == "concat" else graph_dim
        self.attention = ATTENTION.build(attention or {"type": "mean"}, in_dim=att_in)
        self.out_dim = self.attention.out_dim

    def instances(self, x: Tensor) -> Tensor:
        """Per-instance features ``[B, N, C]``: the input, or the backbone run on every instance."""
        if self.backbone is None:
            if x.dim() != 3 or x.shape[-1] != self.in_dim:
                raise ConfigError(f"stream {self.input!r} expects features [B, N, {self.in_dim}], got {list(x.shape)}")
            return x
        b, n = x.shape[:2]
        return self.backbone(x.flatten(0, 1)).view(b, n, -1)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``x [B, N, C]`` (or frames), ``mask [B, N]`` -> ``(feature [B, D], weights [B, N] or None)``."""
        feats = self.instances(x)
        if mask is None:
            mask = torch.ones(feats.shape[:2], dtype=torch.bool, device=feats.device)
        keep = mask.unsqueeze(-1).to(feats.dtype)
        if self.input_norm is not None:
            feats = self.input_norm(feats) * keep
        if self.input_layers is not None:
            graph = self.input_graph(feats, mask) if self.input_graph is not None else None
            feats = self.input_layers(feats, graph, mask) * keep
        z = self.embed(feats, mask) * keep
        if self.graph_layers is not None:
            graph = self.graph(z, mask) if self.graph is not None else None
            h = self.graph_layers(z, graph, mask) * keep
            z = torch.cat([z, h], -1) if self.skip == "concat" else (z + h if self.skip == "add" else h)
        return self.attention(z, mask)


def _graph_builder(
    graph: dict[str, Any] | None, layers: nn.Module | None, width: int, key: str, layers_key: str
) -> nn.Module | None:
    """The builder the graph layers need, or None when they need none (or there are none)."""
    if layers is None or not layers.needs_graph:
        if graph is not None:
            why = f"there are no {layers_key}" if layers is None else f"{type(layers).__name__} reads no graph"
            raise ConfigError(f"stream: '{key}' is given but {why}; remove it (or add graph layers that use it)")
        return None
    if graph is None:
        raise ConfigError(
            f"stream: the {layers_key} ({type(layers).__name__}) pass messages over an instance graph; give "
            f"'{key}:' a builder (python tools/list.py graph_builders), e.g. {{type: temporal_decay}}"
        )
    return GRAPH_BUILDERS.build(graph, in_dim=width)
