"""Write one self-contained HTML page about a finished training run.

    python tools/report.py runs/actionnet/synthetic/<stamp>              # -> <stamp>/report.html
    python tools/report.py runs/actionnet/base/<stamp> --out base.html --videos /data/rg/videos
    python tools/report.py runs/actionnet/base/<stamp>-seeds             # several seeds: the spread

The page holds the run's headline numbers, its training curves, predicted vs judged scores of the
test split, a per-class table, the worst-scored test videos with their attention timelines (with
frames, where the videos can be found) and the resolved recipe. It needs no server and no network:
every image is embedded in the file. On the parent folder of several seeds (tools/train.py --seeds)
the page shows each seed's headline and last-epoch test Spearman, their mean ± sd, the spread drawn
and each seed's predicted vs judged scores. Exit codes: 0 written, 2 not a finished run folder.
"""

from __future__ import annotations

import argparse
import sys

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__)
    parser.add_argument(
        "run_dir",
        metavar="RUN_DIR",
        help="a run folder of tools/train.py (runs/<recipe>/<stamp>), or the parent of several seeds (<stamp>-seeds)",
    )
    parser.add_argument("--out", metavar="FILE", help="the file to write, when not RUN_DIR/report.html")
    parser.add_argument(
        "--videos",
        metavar="DIR",
        help="folder of the videos (<name>.mp4), for the thumbnails where the recipe's data set does not know it",
    )
    parser.add_argument(
        "--accept-mismatch",
        action="store_true",
        help="report a run folder whose files are not of one run (the page lists what was accepted)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def work() -> None:
        from zoo.engine.report_html import write_report

        path = write_report(args.run_dir, args.out, videos=args.videos, accept_mismatch=args.accept_mismatch)
        print(f"report: {path}")

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
