"""The components of the zoo, one folder per kind, in the order data flows through them.

``import zoo`` declares the kinds (``zoo.kinds``), registers every component in them and makes the
recipes findable by name. ``from zoo.kinds import ATTENTION`` (or ``from zoo import ATTENTION``) is
where a new component registers.
"""

from pathlib import Path

from registry import add_recipe_path

from . import kinds
from .kinds import (
    ATTENTION,
    AUDIO_BACKBONES,
    BACKBONES,
    CROPPERS,
    DATASETS,
    DECODERS,
    EMBEDDINGS,
    FUSION,
    GRAPH_BUILDERS,
    GRAPH_LAYERS,
    HEADS,
    HOOKS,
    KINDS,
    LOSSES,
    MODELS,
    OPTIMIZERS,
    SAMPLERS,
    SCHEDULERS,
    STREAMS,
)

# A checkout keeps recipes/ beside zoo/; an install ships them as zoo/recipes.
for _candidate in (Path(__file__).parent / "recipes", Path(__file__).parent.parent / "recipes"):
    if _candidate.is_dir():
        add_recipe_path(_candidate)

from . import (  # noqa: E402  (registration happens on import, after the kinds and the recipe path)
    attention,
    backbones,
    data,
    embeddings,
    engine,
    errors,
    fusion,
    graph_layers,
    graphs,
    heads,
    losses,
    models,
)

__all__ = [
    "ATTENTION",
    "AUDIO_BACKBONES",
    "BACKBONES",
    "CROPPERS",
    "DATASETS",
    "DECODERS",
    "EMBEDDINGS",
    "FUSION",
    "GRAPH_BUILDERS",
    "GRAPH_LAYERS",
    "HEADS",
    "HOOKS",
    "KINDS",
    "LOSSES",
    "MODELS",
    "OPTIMIZERS",
    "SAMPLERS",
    "SCHEDULERS",
    "STREAMS",
    "attention",
    "backbones",
    "data",
    "embeddings",
    "engine",
    "errors",
    "fusion",
    "graph_layers",
    "graphs",
    "heads",
    "kinds",
    "losses",
    "models",
]
