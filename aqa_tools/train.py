"""Train and evaluate a recipe.

    python tools/train.py actionnet/synthetic                    # the built-in demo
    python tools/train.py actionnet/base data.root=/data/rg train.epochs=100
    python tools/train.py actionnet/base --per-class             # one model per apparatus + Fisher-z table
    python tools/train.py actionnet/base --resume                # continue the latest interrupted run
    torchrun --nproc_per_node=2 tools/train.py actionnet/base    # DistributedDataParallel

Runs go to runs/<recipe>/<timestamp>/ (run.out=...): the resolved recipe, metrics.csv, TensorBoard
events, curves.png, last.pt / selected.pt and results.json. Options and overrides may come in any
order. Exit codes: 0 done, 2 a bad recipe or input, 3 training diverged, 4 the disk is full.
"""

from __future__ import annotations

import argparse
import sys

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__)
    parser.add_argument("recipe", help="recipe name (actionnet/base) or path to a .yaml file")
    parser.add_argument("overrides", nargs="*", help="key.sub=value, +new.key=value, ~drop.key")
    parser.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=False,
        metavar="RUN_DIR",
        help="continue the latest unfinished run of this recipe (or the given run folder)",
    )
    parser.add_argument("--per-class", action="store_true", help="one model per class listed in eval.per_class")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--accept-mismatch",
        action="store_true",
        help="train on features the recipe's extract section did not make (results and checkpoints say so)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_intermixed_args(argv)
    if isinstance(args.resume, str) and "=" in args.resume:  # `--resume key=value`: an override, not a folder
        args.overrides.insert(0, args.resume)
        args.resume = True

    def work() -> None:
        import zoo

        progress = False if args.no_progress else None
        accept = args.accept_mismatch
        if args.per_class:
            zoo.engine.train_per_class(args.recipe, args.overrides, progress=progress, accept_mismatch=accept)
        else:
            zoo.engine.train(args.recipe, args.overrides, resume=args.resume, progress=progress, accept_mismatch=accept)

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
