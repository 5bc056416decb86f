"""Evaluate a checkpoint on its recipe's test split (or validation split).

    python tools/test.py --checkpoint runs/actionnet/synthetic/<stamp>/selected.pt
    python tools/test.py actionnet/base --checkpoint ckpt.pt data.root=/data/rg   # another recipe's data
    python tools/test.py --checkpoint ckpt.pt --split val --json
    python tools/test.py --checkpoint ckpt.pt --drop audio --drop audio,flow   # with modalities missing

Without a recipe, the one inside the checkpoint is used (it may import only modules already
imported, unless --trust-imports); with one, its model must match the checkpoint (an error lists
the mismatching keys). Videos are scored as training evaluated them (the checkpoint's score scale
and windows). --drop scores the split again without the named inputs (a missing modality), beside
the complete result (without --drop: the recipe's eval.drop, one input at a time); a model that cannot
score without an input says which.
"""

from __future__ import annotations

import argparse
import json
import sys

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__)
    parser.add_argument("recipe", nargs="?", help="recipe whose data (and model) to use; default: the checkpoint's")
    parser.add_argument("overrides", nargs="*", help="key.sub=value overrides (e.g. data.root=...)")
    parser.add_argument("--checkpoint", required=True, help="a zoo checkpoint (last.pt, selected.pt, converted)")
    parser.add_argument("--split", default="test", choices=["test", "val", "train"], help="which split to score")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: the recipe's run.device)")
    parser.add_argument(
        "--json", action="store_true", help="print JSON: metrics and every prediction beside its judged score"
    )
    parser.add_argument(
        "--drop",
        action="append",
        metavar="INPUT[,INPUT]",
        help="score also without these inputs (repeatable: one result per --drop); default: the recipe's eval.drop",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (data preparation)")
    parser.add_argument("--trust-imports", action="store_true", help="let the checkpoint's recipe import its modules")
    parser.add_argument(
        "--accept-mismatch",
        action="store_true",
        help="score even where the recipe, overrides or features differ from the checkpoint's (the result lists them)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_intermixed_args(argv)
    recipe, overrides = args.recipe, list(args.overrides)
    if recipe and "=" in recipe:  # only overrides were given
        recipe, overrides = None, [recipe, *overrides]

    def work() -> None:
        import zoo
        from zoo.engine.metrics import format_metric

        result = zoo.engine.test_checkpoint(
            args.checkpoint,
            recipe,
            overrides,
            split=args.split,
            device=args.device,
            progress=not args.no_progress,
            trust_imports=args.trust_imports,
            accept_mismatch=args.accept_mismatch,
            drop=None if args.drop is None else [[k for k in d.split(",") if k] for d in args.drop],
        )
        if args.json:
            print(json.dumps(result, indent=2))
            return
        accepted = " [ACCEPTED MISMATCH: not the checkpoint's own result; see below]" if result["accepted"] else ""
        print(
            f"{result['checkpoint']} (epoch {result['epoch']}) on {result['videos']} {result['split']} videos "
            f"({result['target']} scores): Spearman {format_metric(result, 'spearman')}, "
            f"relative L2 {format_metric(result, 'relative_l2', 2)}, MSE {format_metric(result, 'mse')}{accepted}"
        )
        for entry in result["missing"]:
            print(
                f"  without {', '.join(entry['dropped'])}: Spearman {format_metric(entry, 'spearman')}, "
                f"relative L2 {format_metric(entry, 'relative_l2', 2)}, MSE {format_metric(entry, 'mse')}"
            )
        for line in result["accepted"]:
            print(f"  accepted: {line}")
        for line in result["notes"]:
            print(f"  note: {line}")

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
