"""Print a fully resolved recipe (bases merged, overrides applied, every component checked), or list the recipes.

python tools/recipe.py actionnet/base
python tools/recipe.py actionnet/base train.epochs=10 +model.head.dropout=0.2
python tools/recipe.py --list ['actionnet/*']
"""

from __future__ import annotations

import argparse
import sys

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__)
    parser.add_argument("recipe", nargs="?", help="recipe name (actionnet/base) or path to a .yaml file")
    parser.add_argument("overrides", nargs="*", help="key.sub=value, +new.key=value, ~drop.key")
    parser.add_argument(
        "--list", action="store_true", help="list recipe names and what each is (the positional is a pattern)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    if not args.list and not args.recipe:
        parser.error("give a recipe name, or --list")

    def work() -> None:
        import zoo  # noqa: F401  (makes the recipe folders known, registers the components)
        from registry import dump_recipe, list_recipes, load_recipe
        from registry.recipe import describe_recipe
        from zoo.engine.sections import check_model, check_recipe

        if args.list:
            names = list_recipes(args.recipe or "*")
            width = max((len(n) for n in names), default=0)
            print("\n".join(f"{n:<{width}}  {describe_recipe(n)}" for n in names))
            return
        recipe = check_recipe(load_recipe(args.recipe, args.overrides))
        check_model(recipe)  # every component's type and arguments, as a run would build them
        print(dump_recipe(recipe.raw), end="")

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
