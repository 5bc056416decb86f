"""Train every selected recipe under one protocol and write the results table (docs/RESULTS.md).

    python tools/zoo_table.py                                   # every recipe, synthetic set, 3 seeds
    python tools/zoo_table.py --recipes 'peers/*' --seeds 0 --epochs 50
    python tools/zoo_table.py --data /data/rg_features          # an RG-format feature folder

Same data, splits, features, seeds and epoch budget for all; each recipe keeps its own model,
loss and optimiser. Finished (recipe, seed) cells are kept under runs/zoo_table and reused only
while the resolved recipe, the data's fingerprint and the code are unchanged, so an interrupted
table resumes. A run on some recipes updates their rows of --out and keeps the others (the record
beside it, RESULTS.json, says what made each); a table of another protocol (data, seeds, epochs)
is refused unless --replace.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__)
    parser.add_argument("--data", default="synthetic", help="'synthetic' or a folder of RG-format features")
    parser.add_argument("--recipes", default="*", help="fnmatch pattern over recipe names")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds; each recipe trains once per seed")
    parser.add_argument("--epochs", type=int, default=100, help="epoch budget for every recipe")
    parser.add_argument("--out", default="docs/RESULTS.md", help="the Markdown table to write (or update)")
    parser.add_argument(
        "--replace", action="store_true", help="write a new table, dropping the rows and notes --out holds"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds takes comma-separated integers, got {args.seeds!r}")
    command = "python tools/zoo_table.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )

    def work() -> None:
        import zoo  # noqa: F401  (registers the components)
        from zoo.engine.zoo_table import run_zoo_table

        out = Path(args.out)
        rows, _ = run_zoo_table(
            args.recipes, args.data, seeds, args.epochs, table=out, replace=args.replace, command=command.strip()
        )
        print(f"wrote {out} and {out.with_suffix('.json')} ({len(rows)} row(s) of this run)")

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
