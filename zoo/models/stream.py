"""One stream: (backbone?) -> embed -> instance graph -> graph layers -> attention -> one vector."""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn

from registry import ATTENTION, BACKBONES, EMBEDDINGS, GRAPH_BUILDERS, GRAPH_LAYERS, MODELS

from ..nn import FeatureNorm

SKIPS = ("concat", "add", "none")


@MODELS.register("stream")
class Stream(nn.Module):
    """A stream over one kind of instance; ACTION-NET's context-aware attention module is one recipe of it.

    ``skip`` joins the embedding X and the graph output H before attention: ``concat`` gives
    ``[X ; H]`` (ACTION-NET), ``add`` X + H, ``none`` H alone. Without ``graph_layers`` the
    attention sees X. With a ``backbone`` the stream takes frames ``[B, N, 3, (T,) H, W]``.
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
    ) -> None:
        super().__init__()
        if skip not in SKIPS:
            raise ValueError(f"stream: skip must be one of {SKIPS}, got {skip!r}")
        if (graph is None) != (graph_layers is None):
            raise ValueError("stream: 'graph' (the builder) and 'graph_layers' go together; give both or neither")
        self.input = input
        self.backbone = BACKBONES.build(backbone)
        if self.backbone is not None:
            in_dim = in_dim or self.backbone.feature_dim
        if in_dim is None:
            raise ValueError("stream: in_dim is unknown; give the scorer 'inputs: {name: width}' or a backbone")
        self.in_dim = in_dim
        # Standardise the input features with statistics of the training set (see Scorer.fit_input_stats).
        self.input_norm = FeatureNorm(in_dim) if input_norm else None
        self.embed = EMBEDDINGS.build(embed or {"type": "identity"}, in_dim=in_dim)
        # Embeddings that mix instances (convolutions, batch norm) take the mask to keep padding out.
        self._embed_takes_mask = "mask" in inspect.signature(self.embed.forward).parameters
        width = self.embed.out_dim
        self.graph = GRAPH_BUILDERS.build(graph, in_dim=width)
        self.graph_layers = GRAPH_LAYERS.build(graph_layers, in_dim=width)
        self.skip = skip if self.graph_layers is not None else "none"
        graph_dim = self.graph_layers.out_dim if self.graph_layers is not None else width
        if self.skip == "add" and graph_dim != width:
            raise ValueError(f"stream: skip 'add' needs equal widths, embed gives {width} and the graph {graph_dim}")
        att_in = width + graph_dim if self.skip == "concat" else graph_dim
        self.attention = ATTENTION.build(attention or {"type": "mean"}, in_dim=att_in)
        self.out_dim = self.attention.out_dim

    def instances(self, x: Tensor) -> Tensor:
        """Per-instance features ``[B, N, C]``: the input, or the backbone run on every instance."""
        if self.backbone is None:
            if x.dim() != 3 or x.shape[-1] != self.in_dim:
                raise ValueError(f"stream expects features [B, N, {self.in_dim}], got {list(x.shape)}")
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
        z = (self.embed(feats, mask) if self._embed_takes_mask else self.embed(feats)) * keep
        if self.graph_layers is not None:
            h = self.graph_layers(z, self.graph(z, mask), mask) * keep
            z = torch.cat([z, h], -1) if self.skip == "concat" else (z + h if self.skip == "add" else h)
        return self.attention(z, mask)
