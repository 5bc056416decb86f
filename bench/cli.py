"""Benchmark: how long each tool takes to answer ``--help`` and an argument error (a fresh process each time).

    python bench/cli.py [--repeats 5]

Target: under 1 s for both (the tools parse their arguments before importing torch or the zoo).
Medians of ``--repeats`` runs per tool, interleaved; each run is a new Python process. Each tool is
run as users run it from a checkout, ``python tools/<tool>.py``; the ``aqa-<tool>`` console scripts
call the same ``aqa_tools.<tool>.main`` and are not timed separately.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, check=False)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="runs per tool and case; medians are reported")
    args = parser.parse_args(argv)
    tools = sorted(p for p in (ROOT / "tools").glob("*.py") if not p.name.startswith("_"))
    cases = {"--help": ["--help"], "bad option": ["--no-such-option"]}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeats):
        for tool in tools:
            for case, extra in cases.items():
                times.setdefault((tool.stem, case), []).append(timed([str(tool.relative_to(ROOT)), *extra]))
    bare = statistics.median(timed(["-c", "pass"]) for _ in range(args.repeats))
    print(
        f"{'tool':18s} {'--help s':>9s} {'bad option s':>13s}   (median of {args.repeats}; bare python: {bare:.3f} s)"
    )
    worst = 0.0
    for tool in tools:
        h, b = (statistics.median(times[(tool.stem, c)]) for c in cases)
        worst = max(worst, h, b)
        print(f"{tool.stem:18s} {h:9.3f} {b:13.3f}")
    print(f"slowest: {worst:.3f} s (target < 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
