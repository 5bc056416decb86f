"""Train and evaluate a recipe.

    python tools/train.py actionnet/synthetic                    # the built-in demo
    python tools/train.py actionnet/base data.root=/data/rg train.epochs=100
    python tools/train.py actionnet/base --per-class             # one model per apparatus + Fisher-z table
    python tools/train.py actionnet/base --resume                # continue the latest interrupted run
    torchrun --nproc_per_node=2 tools/train.py actionnet/base    # DistributedDataParallel

Runs go to runs/<recipe>/<timestamp>/ (run.out=...): the resolved recipe, metrics.csv, TensorBoard
events, curves.png, last.pt / selected.pt and results.json.
"""

from __future__ import annotations

import argparse
import sys

import zoo
from zoo.errors import USER_ERRORS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", help="recipe name (actionnet/base) or path to a .yaml file")
    parser.add_argument("overrides", nargs="*", help="key.sub=value, +new.key=value, ~drop.key")
    parser.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=False,
        metavar="RUN_DIR",
        help="continue the latest run of this recipe (or the given run folder)",
    )
    parser.add_argument("--per-class", action="store_true", help="one model per class listed in eval.per_class")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    progress = False if args.no_progress else None
    try:
        if args.per_class:
            zoo.engine.train_per_class(args.recipe, args.overrides, progress=progress)
        else:
            zoo.engine.train(args.recipe, args.overrides, resume=args.resume, progress=progress)
    except zoo.engine.TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
