"""The component kinds of the zoo: one flat ``Registry`` per kind, in the order data flows.

Importing ``zoo`` fills them; ``python tools/list.py`` prints them.
"""

from __future__ import annotations

from .registry import Registry

DATASETS = Registry("datasets", "annotations + features or videos -> (inputs, score) samples")
SAMPLERS = Registry("samplers", "which frames of a video make each instance (clips, frames)")
CROPPERS = Registry("croppers", "where the athlete is in a frame")
BACKBONES = Registry("backbones", "frames -> one feature vector per instance")
EMBEDDINGS = Registry("embeddings", "per-instance features -> the stream's width")
GRAPH_BUILDERS = Registry("graph_builders", "instances -> instance graph (dense + edge_index)")
GRAPH_LAYERS = Registry("graph_layers", "message passing over the instance graph")
ATTENTION = Registry("attention", "instance weighting / aggregation to one vector per stream")
FUSION = Registry("fusion", "stream vectors -> one vector")
HEADS = Registry("heads", "vector -> score (and what its loss needs)")
LOSSES = Registry("losses", "model outputs + judged score -> scalar loss")
MODELS = Registry("models", "whole scorers and their streams")
METRICS = Registry("metrics", "predicted vs judged scores -> a number")
OPTIMIZERS = Registry("optimizers", "parameters -> optimiser")
SCHEDULERS = Registry("schedulers", "optimiser -> learning-rate schedule")
HOOKS = Registry("hooks", "callbacks run by the training loop")

KINDS: dict[str, Registry] = {
    r.kind: r
    for r in (
        DATASETS,
        SAMPLERS,
        CROPPERS,
        BACKBONES,
        EMBEDDINGS,
        GRAPH_BUILDERS,
        GRAPH_LAYERS,
        ATTENTION,
        FUSION,
        HEADS,
        LOSSES,
        MODELS,
        METRICS,
        OPTIMIZERS,
        SCHEDULERS,
        HOOKS,
    )
}
