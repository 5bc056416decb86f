"""Train every selected recipe under one protocol and write the results table (docs/RESULTS.md).

    python tools/zoo_table.py                                   # every recipe, synthetic set, 3 seeds
    python tools/zoo_table.py --recipes 'peers/*' --seeds 0 --epochs 50
    python tools/zoo_table.py --data /data/rg_features          # an RG-format feature folder

Same data, splits, features, seeds and epoch budget for all; each recipe keeps its own model,
loss and optimiser.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import zoo  # noqa: F401  (registers the components)
from zoo.engine.runlog import write_atomic
from zoo.engine.table import markdown, run_table
from zoo.errors import USER_ERRORS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="synthetic", help="'synthetic' or a folder of RG-format features")
    parser.add_argument("--recipes", default="*", help="fnmatch pattern over recipe names")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--epochs", type=int, default=100, help="epoch budget for every recipe")
    parser.add_argument("--out", default="docs/RESULTS.md")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    command = "python tools/zoo_table.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    tic = time.time()
    try:
        rows, proto = run_table(args.recipes, args.data, seeds, args.epochs)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    text = markdown(rows, command.strip(), proto.description, seeds, args.epochs, time.time() - tic)
    write_atomic(Path(args.out), text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
