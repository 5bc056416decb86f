"""The generic machinery of the zoo: registries, recipes, checkpoints, export.

Nothing here knows about action quality assessment; ``zoo`` fills the registries.
"""

from .checkpoint import build_model, load, load_checkpoint, load_state, save_checkpoint
from .errors import ConfigError, RecipeError, RegistryError
from .kinds import (
    ATTENTION,
    BACKBONES,
    CROPPERS,
    DATASETS,
    EMBEDDINGS,
    FUSION,
    GRAPH_BUILDERS,
    GRAPH_LAYERS,
    HEADS,
    HOOKS,
    KINDS,
    LOSSES,
    METRICS,
    MODELS,
    OPTIMIZERS,
    SAMPLERS,
    SCHEDULERS,
)
from .recipe import add_recipe_path, apply_overrides, dump_recipe, find_recipe, list_recipes, load_recipe, merge
from .registry import Entry, Registry

__all__ = [
    "ATTENTION",
    "BACKBONES",
    "CROPPERS",
    "DATASETS",
    "EMBEDDINGS",
    "FUSION",
    "GRAPH_BUILDERS",
    "GRAPH_LAYERS",
    "HEADS",
    "HOOKS",
    "KINDS",
    "LOSSES",
    "METRICS",
    "MODELS",
    "OPTIMIZERS",
    "SAMPLERS",
    "SCHEDULERS",
    "ConfigError",
    "Entry",
    "RecipeError",
    "Registry",
    "RegistryError",
    "add_recipe_path",
    "apply_overrides",
    "build_model",
    "dump_recipe",
    "find_recipe",
    "list_recipes",
    "load",
    "load_checkpoint",
    "load_recipe",
    "load_state",
    "merge",
    "save_checkpoint",
]
