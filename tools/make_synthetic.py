"""Render the synthetic rhythmic-gymnastics set (docs/SYNTHETIC.md).

python tools/make_synthetic.py --out data/synthetic [--videos 200 --seed 0 --workers 2 ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from zoo.data.synthetic import SyntheticConfig, make_synthetic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder of the set (kept if already complete)")
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=128, help="frame side in pixels (even)")
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per video")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--crf", type=int, default=SyntheticConfig().crf, help="x264 quality (lower is better)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = make_synthetic(
        args.out,
        videos=args.videos,
        seed=args.seed,
        size=args.size,
        fps=args.fps,
        duration=args.duration,
        workers=args.workers,
        test_fraction=args.test_fraction,
        config=dataclasses.replace(SyntheticConfig(), crf=args.crf),
        progress=True,
    )
    print(f"synthetic set in {out} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
