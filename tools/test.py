"""Evaluate a checkpoint on its recipe's test split (or validation split).

    python tools/test.py --checkpoint runs/actionnet/synthetic/<stamp>/selected.pt
    python tools/test.py actionnet/base --checkpoint ckpt.pt data.root=/data/rg   # another recipe's data
    python tools/test.py --checkpoint ckpt.pt --split val --json

Without a recipe, the one inside the checkpoint is used; with one, its model must match the
checkpoint (an error lists the mismatching keys).
"""

from __future__ import annotations

import argparse
import json
import sys

import zoo
from zoo.errors import USER_ERRORS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", nargs="?", help="recipe whose data (and model) to use; default: the checkpoint's")
    parser.add_argument("overrides", nargs="*", help="key.sub=value overrides (e.g. data.root=...)")
    parser.add_argument("--checkpoint", required=True, help="a zoo checkpoint (last.pt, selected.pt, converted)")
    parser.add_argument("--split", default="test", choices=["test", "val", "train"])
    parser.add_argument("--json", action="store_true", help="print JSON with every prediction")
    args = parser.parse_args(argv)
    recipe, overrides = args.recipe, args.overrides
    if recipe and "=" in recipe:  # only overrides were given
        recipe, overrides = None, [args.recipe, *overrides]
    try:
        result = zoo.engine.test_checkpoint(args.checkpoint, recipe, overrides, split=args.split)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['checkpoint']} (epoch {result['epoch']}) on {result['videos']} {result['split']} videos: "
            f"Spearman {result['spearman']:.3f}, relative L2 {result['relative_l2']:.2f}, MSE {result['mse']:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
