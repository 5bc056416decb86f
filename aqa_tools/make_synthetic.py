"""Render the synthetic rhythmic-gymnastics set (docs/SYNTHETIC.md).

    python tools/make_synthetic.py --out data/synthetic_set [--videos 200 --seed 0 --workers 2 --soundtrack ...]

A folder that already holds a complete set with the same parameters is kept as it is; one that
holds a set made with other parameters is refused (pass --overwrite to replace it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__)
    parser.add_argument("--out", required=True, type=Path, help="folder of the set (kept if already complete)")
    parser.add_argument("--videos", type=int, default=200, help="how many routines")
    parser.add_argument("--seed", type=int, default=0, help="seed of the set (video i draws from [seed, i])")
    parser.add_argument(
        "--size", type=int, default=None, help="square frames of this many pixels (even; sets --width and --height)"
    )
    parser.add_argument("--width", type=int, default=None, help="frame width in pixels (even; default 128)")
    parser.add_argument("--height", type=int, default=None, help="frame height in pixels (even; default 128)")
    parser.add_argument("--fps", type=float, default=10.0, help="frames per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per routine")
    parser.add_argument("--workers", type=int, default=None, help="render processes (default: the CPU count)")
    parser.add_argument("--test-fraction", type=float, default=0.25, help="share of the videos in the test split")
    parser.add_argument("--crf", type=int, default=23, help="x264 quality (lower is better and larger)")
    parser.add_argument(
        "--soundtrack", action="store_true", help="music with a beat in every video, and a rhythm term in the score"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a set made with other parameters")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def work() -> None:
        import dataclasses

        from zoo.data.synthetic import SyntheticConfig, make_synthetic

        start = time.perf_counter()
        out = make_synthetic(
            args.out,
            videos=args.videos,
            seed=args.seed,
            size=args.size,
            width=args.width,
            height=args.height,
            fps=args.fps,
            duration=args.duration,
            workers=args.workers,
            test_fraction=args.test_fraction,
            config=dataclasses.replace(SyntheticConfig(), crf=args.crf),
            progress=not args.no_progress,
            overwrite=args.overwrite,
            soundtrack=args.soundtrack,
        )
        print(f"synthetic set in {out} ({time.perf_counter() - start:.1f} s)")

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
