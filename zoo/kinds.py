"""The zoo's component kinds: one flat ``Registry`` per kind, in the order data flows through them.

Each kind's package sets its contract (the base class its components derive from, documented in
docs/CONTRACTS.md and by ``python tools/list.py KIND --contract``) and registers its components.
"""

from __future__ import annotations

from registry import Registry, declare, set_hints

DATASETS = Registry("datasets", "annotations + features or videos -> train / validation / test splits")
DECODERS = Registry("decoders", "video file -> decoded frames with their times")
SAMPLERS = Registry("samplers", "which frames of a video make each instance (clips, frames)")
CROPPERS = Registry("croppers", "where the athlete is in a frame")
BACKBONES = Registry("backbones", "frames -> one feature vector per instance")
AUDIO_BACKBONES = Registry("audio_backbones", "log-mel spectrogram -> one feature vector per instance")
EMBEDDINGS = Registry("embeddings", "per-instance features -> the stream's width")
GRAPH_BUILDERS = Registry("graph_builders", "instances -> instance graph (dense + edge_index)")
GRAPH_LAYERS = Registry("graph_layers", "message passing over the instance graph")
ATTENTION = Registry("attention", "instance weighting / aggregation to one vector per stream")
STREAMS = Registry("streams", "one kind of instance -> one vector (embed, graph, layers, attention)")
FUSION = Registry("fusion", "stream vectors -> one vector")
HEADS = Registry("heads", "vector -> score (and what its loss needs)")
LOSSES = Registry("losses", "model outputs + judged score -> scalar loss")
MODELS = Registry("models", "whole scorers: inputs -> score and instance weights")
OPTIMIZERS = Registry("optimizers", "parameters -> optimiser")
SCHEDULERS = Registry("schedulers", "optimiser -> learning-rate schedule")
HOOKS = Registry("hooks", "callbacks run by the training loop after every epoch")

KINDS: dict[str, Registry] = {
    r.kind: r
    for r in (
        DATASETS,
        DECODERS,
        SAMPLERS,
        CROPPERS,
        BACKBONES,
        AUDIO_BACKBONES,
        EMBEDDINGS,
        GRAPH_BUILDERS,
        GRAPH_LAYERS,
        ATTENTION,
        STREAMS,
        FUSION,
        HEADS,
        LOSSES,
        MODELS,
        OPTIMIZERS,
        SCHEDULERS,
        HOOKS,
    )
}
declare(*KINDS.values())


def _list_command(kind: str, pattern: str | None) -> str:
    return f"python tools/list.py {kind}" + (f" '{pattern}'" if pattern else "")


set_hints(components=_list_command, recipes="python tools/recipe.py --list")

__all__ = [*(k.upper() for k in KINDS), "KINDS"]
