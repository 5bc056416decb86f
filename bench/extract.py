"""Benchmark feature extraction: the whole pipeline against the backbones alone, and peak memory against video length.

python bench/extract.py                                  # 4 synthetic 20 s 128x128 videos, 3 repeats, CPU
python bench/extract.py --threads 2 --repeats 5          # torch threads of the backbone (main) thread
python bench/extract.py --device cuda --skip-memory

Speed: the same instances go through (a) ``Extractor.stream`` (decode, sample, crop and transform in
a background thread, backbones in this one) and (b) the backbones alone, on batches decoded and
transformed beforehand, with the same batch size and threads. The target is (a) <= 1.1 x (b).
Memory: the peak RSS of a fresh process extracting a short video and one ``--long-factor`` times
longer (target: <= 1.2 x). Backbones (random init): ``ptv:x3d_xs`` on 4-frame 64x64 clips at 5 fps,
``timm:resnet18`` on 112x112 motion crops at 1 fps (one context frame at 10 fps).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

import zoo  # noqa: F401  (registers the components)
from zoo.data.extract import Extractor


def extract_config(batch_size: int) -> dict[str, Any]:
    return {
        "seed": 0,
        "batch_size": batch_size,
        "inputs": {
            "dynamic": {
                "sampler": {"type": "clips", "length": 4, "fps": 5.0},
                "backbone": {"type": "ptv:x3d_xs"},
                "size": [64, 64],
            },
            "static": {
                "sampler": {"type": "frames", "fps": 1.0, "context": 1, "context_fps": 10.0},
                "cropper": {"type": "motion"},
                "backbone": {"type": "timm:resnet18"},
                "size": [112, 112],
            },
        },
    }


def make_videos(folder: Path, count: int, seconds: float, size: int, fps: float) -> list[Path]:
    """Synthetic gymnastics videos (zoo.data.synthetic), made once per folder and reused."""
    from zoo.data.synthetic import make_synthetic

    make_synthetic(folder, videos=count, seed=0, size=size, fps=fps, duration=seconds, workers=1)
    return sorted((folder / "videos").glob("*.mp4"))


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_speed(args: argparse.Namespace, videos: list[Path]) -> dict[str, Any]:
    extractor = Extractor(extract_config(args.batch_size), args.device)
    for _ in extractor.stream(videos[:1]):  # first calls build the oneDNN / cuDNN kernels
        pass

    def pipeline() -> None:
        for result in extractor.stream(videos):
            assert result.error is None, result.error

    batches = []  # the same instances, decoded and transformed beforehand

    def prepare() -> None:
        batches.clear()
        for path in videos:
            for name, inp in extractor.inputs.items():
                stats = {"frames": 0, "instances": 0}
                batches.extend((name, b) for b in inp.batches(path, extractor.batch_size, stats))

    def backbones() -> None:
        with torch.inference_mode():
            for name, batch in batches:
                extractor.inputs[name].backbone(batch.to(extractor.device)).float().cpu()

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the pipeline's background thread runs
    prepare_s = [timed(prepare) for _ in range(args.repeats)]
    torch.set_num_threads(threads)
    full_s, alone_s = [], []
    for _ in range(args.repeats):  # interleaved, so a slow spell of the machine hits both
        full_s.append(timed(pipeline))
        alone_s.append(timed(backbones))
    instances = {n: sum(len(b) for k, b in batches if k == n) for n in extractor.inputs}
    return {"full": full_s, "alone": alone_s, "prepare": prepare_s, "instances": instances, "threads": threads}


def bench_memory(args: argparse.Namespace, short: Path, long: Path) -> dict[str, Any]:
    """Peak RSS of a fresh process per video (a child reports its own ru_maxrss)."""
    out = {}
    for label, path in (("short", short), ("long", long)):
        cmd = [sys.executable, __file__, "--child-memory", str(path), "--batch-size", str(args.batch_size)]
        cmd += ["--device", args.device] + (["--threads", str(args.threads)] if args.threads else [])
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        out[label] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> bool:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM to the current RSS)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child_memory(args: argparse.Namespace) -> None:
    extractor = Extractor(extract_config(args.batch_size), args.device)
    # Without a reset, the peak of building the backbones would hide what extraction itself needs.
    reset = _reset_peak()
    built = _status_kb("VmRSS") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    features = extractor.video(args.child_memory)
    peak = _status_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    how = "VmHWM since the backbones were built" if reset else "ru_maxrss of the whole process"
    instances = {k: len(v) for k, v in features.items()}
    seconds = time.perf_counter() - start
    print(json.dumps({"built_kb": built, "peak_kb": peak, "how": how, "instances": instances, "seconds": seconds}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=4, help="short videos to time (default 4)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of a short video (default 20)")
    parser.add_argument("--size", type=int, default=128, help="frame side in pixels (default 128)")
    parser.add_argument("--fps", type=float, default=10.0, help="frame rate of the videos (default 10)")
    parser.add_argument("--long-factor", type=float, default=10.0, help="the long video is this many times longer")
    parser.add_argument("--batch-size", type=int, default=16, help="instances per backbone call (default 16)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats; medians are reported (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads of the backbones (default torch's)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the videos (default: a temp folder)")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--child-memory", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child_memory:
        child_memory(args)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        videos = make_videos(work / "short", args.videos, args.seconds, args.size, args.fps)
        print(
            f"{len(videos)} videos of {args.seconds:g} s, {args.size}x{args.size} at {args.fps:g} fps; "
            f"batch {args.batch_size}; device {args.device}; torch threads {torch.get_num_threads()}"
        )
        if not args.skip_speed:
            r = bench_speed(args, videos)
            full, alone, prep = (statistics.median(r[k]) for k in ("full", "alone", "prepare"))
            print(f"instances: {r['instances']}")
            print(f"{'case':44s} {'median s':>9s}  runs")
            for label, key, value in (
                ("full pipeline (decode..backbones, overlapped)", "full", full),
                ("backbones alone on pre-decoded batches", "alone", alone),
                ("decode+sample+crop+transform alone, 1 thread", "prepare", prep),
            ):
                print(f"{label:44s} {value:9.3f}  {' '.join(f'{x:.3f}' for x in r[key])}")
            print(f"{'ratio full / backbones alone (target <= 1.1)':44s} {full / alone:9.3f}")
        if not args.skip_memory:
            long = make_videos(work / "long", 1, args.seconds * args.long_factor, args.size, args.fps)[0]
            m = bench_memory(args, videos[0], long)
            print(f"peak RSS measured as {m['short']['how']}")
            print(f"{'peak RSS':10s} {'video s':>8s} {'instances':>22s} {'built MiB':>10s} {'peak MiB':>9s} {'s':>6s}")
            for label, seconds in (("short", args.seconds), ("long", args.seconds * args.long_factor)):
                x = m[label]
                print(
                    f"{label:10s} {seconds:8.0f} {json.dumps(x['instances']):>22s} {x['built_kb'] / 1024:10.0f} "
                    f"{x['peak_kb'] / 1024:9.0f} {x['seconds']:6.1f}"
                )
            ratio = m["long"]["peak_kb"] / m["short"]["peak_kb"]
            print(f"peak RSS long / short (target <= 1.2): {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
