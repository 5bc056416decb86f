"""Benchmark the synthetic set's H.264 encoding: x264 as the set writes it (``cpu-independent``) against x264's
CPU-dependent default, side by side, and whether the bytes follow the heap's old contents.

    python bench/encode_x264.py                    # 128 x 128 (the demo's 200 frames) and 1280 x 720 (50 frames)
    python bench/encode_x264.py --repeats 9 --hd-frames 100

Speed: medians of --repeats interleaved encodes of the same rendered frames (one thread, ``preset=medium``,
crf 23, as ``zoo.data.synthetic.writer.encode_mp4``), seconds per frame, and the ratio. Bytes: every routine
of --routines at 64 x 64, 3 s (the tests' size) encoded in four processes: one as started, three whose
``malloc`` returns zeros (``MALLOC_PERTURB_=255``) or other bytes (165, 9); how many routines' bytes differ, per
setting. The CPU model and whether it has AVX-512 are printed (x264 takes its AVX-512 code only where it runs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"default": "", "cpu-independent": "cpu-independent=1"}


def _encode(frames: list, width: int, height: int, params: str, path: str) -> float:
    """Seconds to encode ``frames`` with ``x264-params`` ``params``, as the set's writer does."""
    from zoo.data.synthetic import encode_mp4

    start = time.perf_counter()
    encode_mp4(path, frames, width, height, 10.0, x264_params=params)
    return time.perf_counter() - start


def speed(width: int, height: int, n_frames: int, repeats: int) -> dict[str, float]:
    """Median seconds per frame of each setting at ``width`` x ``height``, runs interleaved."""
    from zoo.data.synthetic import render_frames, sample_routine

    routine = sample_routine(0, 0, 10.0, n_frames / 10.0)
    frames = list(render_frames(routine, width, height))
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            for name, params in SETTINGS.items():
                times[name].append(_encode(frames, width, height, params, f"{tmp}/{name}.mp4") / len(frames))
    return {name: statistics.median(t) for name, t in times.items()}


def digests(routines: int, params: str) -> list[str]:
    """SHA-256 of every routine's MP4 at the tests' size (run in a child process with MALLOC_PERTURB_ set)."""
    from zoo.data.synthetic import render_frames, sample_routine

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(routines):
            frames = list(render_frames(sample_routine(i, 0, 10.0, 3.0), 64, 64))
            _encode(frames, 64, 64, params, f"{tmp}/v.mp4")
            out.append(hashlib.sha256(Path(f"{tmp}/v.mp4").read_bytes()).hexdigest())
    return out


def heap_dependence(routines: int) -> dict[str, int]:
    """Per setting, how many routines encode to other bytes in processes whose heaps hold other bytes."""
    result = {}
    for name, params in SETTINGS.items():
        runs = []
        for fill in (None, 255, 165, 9):
            code = f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from bench.encode_x264 import digests; "
            code += f"print(json.dumps(digests({routines}, {params!r})))"
            env = {k: v for k, v in os.environ.items() if k != "MALLOC_PERTURB_"}
            env.update({} if fill is None else {"MALLOC_PERTURB_": str(fill)})
            done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            runs.append(json.loads(done.stdout.splitlines()[-1]))
        result[name] = sum(len(set(per_run)) > 1 for per_run in zip(*runs))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--hd-frames", type=int, default=50, help="frames of the 1280 x 720 case")
    parser.add_argument("--routines", type=int, default=40, help="routines of the bytes check")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name")), "?")
    print(f"CPU: {model}, {os.cpu_count()} cores, AVX-512: {'yes' if 'avx512f' in cpu else 'no'}")
    for width, height, n in ((128, 128, 200), (1280, 720, args.hd_frames)):
        m = speed(width, height, n, args.repeats)
        ratio = m["cpu-independent"] / m["default"]
        print(
            f"{width} x {height}, {n} frames, median of {args.repeats}: default {m['default'] * 1e3:.2f} ms/frame, "
            f"cpu-independent {m['cpu-independent'] * 1e3:.2f} ms/frame (ratio {ratio:.2f})"
        )
    changed = heap_dependence(args.routines)
    print(
        f"routines of {args.routines} (64 x 64, 3 s) whose bytes follow the heap's contents: "
        + ", ".join(f"{name} {n}" for name, n in changed.items())
    )


if __name__ == "__main__":
    main()
