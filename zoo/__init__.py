"""The components of the zoo, one folder per kind, in the order data flows through them.

``import zoo`` registers every component in the ``registry`` kinds and makes the recipes
findable by name.
"""

from pathlib import Path

from registry import add_recipe_path

# A checkout keeps recipes/ beside zoo/; an install ships them as zoo/recipes.
for _candidate in (Path(__file__).parent / "recipes", Path(__file__).parent.parent / "recipes"):
    if _candidate.is_dir():
        add_recipe_path(_candidate)

from . import (  # noqa: E402  (registration happens on import, after the recipe path is known)
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
    "losses",
    "models",
]
