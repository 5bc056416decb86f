"""Train and evaluate a recipe.

    python tools/train.py actionnet/synthetic                    # the built-in demo
    python tools/train.py actionnet/base data.root=/data/rg train.epochs=100
    python tools/train.py actionnet/base --per-class             # one model per apparatus + Fisher-z table
    python tools/train.py actionnet/base --resume                # continue the latest interrupted run
    python tools/train.py actionnet/base --seeds 0,1,2           # one run per seed, then mean ± sd
    python tools/train.py peers/pamfn data.root=/data/pamfn      # a recipe of stages, run in order
    torchrun --nproc_per_node=2 tools/train.py actionnet/base    # DistributedDataParallel

Runs go to runs/<recipe>/<timestamp>/ (run.out=...): the resolved recipe, metrics.csv, TensorBoard
events, curves.png, last.pt / selected.pt and results.json. Several seeds (--seeds, or the recipe's
train.seeds; the command line wins) go to runs/<recipe>/<timestamp>-seeds/seed<S>/, each the run
train.seed=S makes, as many at once as the cores and memory allow (one at a time on a GPU unless
--parallel-seeds), then one table of each seed's headline and last-epoch test Spearman with mean ± sd
over seeds, also in <timestamp>-seeds/results.json. A recipe of stages (peers/pamfn) trains its stages in
order into runs/<recipe>/<timestamp>-stages/<stage>/, later stages starting from earlier ones' checkpoints;
--resume continues from the first stage that did not finish. A seed that fails is reported; the others finish.
Options and overrides may come in any order. Exit codes: 0 done, 2 a bad recipe or input, 3 training
diverged, 4 the disk is full (with several seeds: the first failed seed's; 1 for a bug).
"""

from __future__ import annotations

import argparse
import sys

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run


def seed_list(text: str) -> list[int]:
    """``0,1,2`` as seeds (argparse names the option and the value when it is not)."""
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated integers expected (0,1,2), got {text!r}") from None


def positive(text: str) -> int:
    """A count of 1 or more (argparse names the option and the value when it is not)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number >= 1 expected, got {text!r}")
    return value


def stages_recipe(recipe: str) -> bool:
    """Whether ``recipe`` is a recipe of stages (peers/pamfn: training recipes run in order)."""
    from registry import load_recipe
    from zoo.engine.stages import is_stages_recipe

    return is_stages_recipe(load_recipe(recipe))


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
    parser.add_argument(
        "--seeds",
        type=seed_list,
        metavar="S,S,...",
        help="train once per seed (e.g. 0,1,2), each in runs/<recipe>/<stamp>-seeds/seed<S>/; wins over train.seeds; "
        "several seeds do not go with --per-class (refused for now) or --resume (resume one seed's folder)",
    )
    parser.add_argument(
        "--parallel-seeds",
        type=positive,
        metavar="N",
        help="train N seeds at once (without it: as many as cores and memory allow on a CPU, one on a GPU)",
    )
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

    def work() -> int:
        import zoo
        from registry import ConfigError
        from zoo.engine import seeds as by_seed

        progress = False if args.no_progress else None
        accept = args.accept_mismatch
        if stages_recipe(args.recipe):
            if args.seeds:
                raise ConfigError("--seeds does not go with a recipe of stages (yet): train one seed with train.seed=S")
            zoo.engine.stages.train_stages(
                args.recipe, args.overrides, args.resume, args.per_class, progress=progress, accept_mismatch=accept
            )
            return 0
        seeds, overrides = by_seed.plan_seeds(args.recipe, args.overrides, args.seeds)
        if len(seeds) > 1:
            by_seed.refuse_with_seeds(seeds, per_class=args.per_class, resume=args.resume)
            summary = by_seed.train_recipe_seeds(
                args.recipe, overrides, seeds, args.parallel_seeds, progress=progress, accept_mismatch=accept
            )
            return by_seed.seeds_exit_code(summary)
        if args.per_class:
            zoo.engine.train_per_class(args.recipe, overrides, progress=progress, accept_mismatch=accept)
        else:
            zoo.engine.train(args.recipe, overrides, resume=args.resume, progress=progress, accept_mismatch=accept)
        return 0

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
