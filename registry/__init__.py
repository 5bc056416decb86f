"""The generic machinery of the zoo: registries, recipes, typed sections, checkpoints, export, files.

Nothing here knows about action quality assessment: a zoo creates its kinds (``Registry``),
declares them (``declare``), fills them, and says which commands list them (``set_hints``).
"""

from .checkpoint import build_model, load, load_checkpoint, load_state, model_from_checkpoint, save_checkpoint
from .errors import (
    ConfigError,
    DiskFullError,
    MissingFileError,
    RecipeError,
    RegistryError,
    UnwritableError,
    UserError,
)
from .files import make_folder, write_atomic
from .hints import set_hints
from .kinds import declare, known_kinds
from .recipe import add_recipe_path, apply_overrides, dump_recipe, find_recipe, list_recipes, load_recipe, merge
from .registry import Entry, Registry

__all__ = [
    "ConfigError",
    "DiskFullError",
    "Entry",
    "MissingFileError",
    "RecipeError",
    "Registry",
    "RegistryError",
    "UnwritableError",
    "UserError",
    "add_recipe_path",
    "apply_overrides",
    "build_model",
    "declare",
    "dump_recipe",
    "find_recipe",
    "known_kinds",
    "list_recipes",
    "load",
    "load_checkpoint",
    "load_recipe",
    "load_state",
    "make_folder",
    "merge",
    "model_from_checkpoint",
    "save_checkpoint",
    "set_hints",
    "write_atomic",
]
