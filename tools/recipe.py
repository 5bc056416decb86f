"""Print a fully resolved recipe (bases merged, overrides applied), or list the recipes.

python tools/recipe.py actionnet/base
python tools/recipe.py actionnet/base train.epochs=10 +model.head.dropout=0.2
python tools/recipe.py --list ['actionnet/*']
"""

from __future__ import annotations

import argparse
import sys

import zoo  # noqa: F401  (makes the recipe folders known)
from registry import RecipeError, dump_recipe, list_recipes, load_recipe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", nargs="?", help="recipe name (actionnet/base) or path to a .yaml file")
    parser.add_argument("overrides", nargs="*", help="key.sub=value, +new.key=value, ~drop.key")
    parser.add_argument("--list", action="store_true", help="list recipe names (the positional is a pattern)")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(list_recipes(args.recipe or "*")))
        return 0
    if not args.recipe:
        parser.error("give a recipe name, or --list")
    try:
        print(dump_recipe(load_recipe(args.recipe, args.overrides)), end="")
    except RecipeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
