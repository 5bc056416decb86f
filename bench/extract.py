"""Benchmark feature extraction at the sizes of real data sets: per stage, the pipeline, worker scaling, memory.

    python bench/extract.py --preset rg --backbones small        # 1280x720, 25 fps, 90 s routines (CPU-sized nets)
    python bench/extract.py --preset rg --backbones real --device cuda    # I3D-R50 32-frame clips + ResNet-50 crops
    python bench/extract.py --preset demo720                     # the demo's extract: section on 720p routines
    python bench/extract.py --preset rg --skip-speed --skip-scaling      # memory only

Videos are synthetic routines (zoo.data.synthetic, rendered once into --work and reused), in the
RG preset at RG's size: 1280x720, 25 fps, 90 s. Reported, as medians of --repeats interleaved runs:

* decode: a bare PyAV decode of every frame (no conversion), what any pipeline must pay;
* decode+convert: each video decoded once and every input's frames converted (and resized, in
  FFmpeg) at the size it needs; beside it the way the previous extractor did it (each input decoding
  the whole video again into full-size RGB, then torchvision resizing the clips), on the same files;
* crop and transform: the cropper on the key frames, and the resize/crop of every instance;
* backbones alone: the same instances, prepared beforehand, through the backbones (same threads);
* pipeline: ``Extractor.stream`` (worker processes prepare, the backbones run here), and its ratio
  to the backbones alone; frames per second and seconds per routine.

``--preset demo720`` compares the demo's own extract: section (recipes/actionnet/synthetic.yaml) on
720x720, 25 fps, 30 s routines with a bare decode of the same files. Worker scaling: the CPU side
alone (decode, sample, crop, transform; no backbones) with 1..N worker processes, as throughput
against N times one worker's. Memory: the peak RSS of extracting one routine and one --long-factor
times longer (the same routine repeated by remuxing, no re-encode), in fresh processes.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRESETS = {
    "rg": {"width": 1280, "height": 720, "fps": 25.0, "duration": 90.0, "videos": 3},
    "demo720": {"width": 720, "height": 720, "fps": 25.0, "duration": 30.0, "videos": 3},
}


def backbones_config(which: str) -> dict[str, Any]:
    """ACTION-NET's real configuration (I3D-R50 on 32-frame clips, ResNet-50 on HOG crops), or CPU-sized nets."""
    real = which == "real"
    return {
        "seed": 0,
        "batch_size": 8,
        "inputs": {
            "dynamic": {
                "sampler": {"type": "clips", "length": 32, "fps": 25.0},  # 32 frames of 25 fps video: 1.28 s
                "backbone": {"type": "ptv:i3d_r50" if real else "ptv:x3d_xs"},
                "size": [224, 224] if real else [160, 160],
            },
            "static": {
                "sampler": {"type": "frames", "fps": 1.0, "context": 0},
                "cropper": {"type": "hog", "person_height": 0.3333},
                "backbone": {"type": "timm:resnet50" if real else "timm:resnet18"},
                "size": [224, 224],
            },
        },
    }


def demo_config() -> dict[str, Any]:
    import zoo  # noqa: F401
    from registry import load_recipe

    return load_recipe("actionnet/synthetic")["extract"]


def make_videos(work: Path, preset: dict[str, Any]) -> list[Path]:
    """The preset's routines, rendered once (cached under ``work``)."""
    from zoo.data.synthetic import make_synthetic

    folder = work / f"{preset['width']}x{preset['height']}_{preset['fps']:g}fps_{preset['duration']:g}s"
    make_synthetic(
        folder,
        videos=preset["videos"],
        seed=0,
        width=preset["width"],
        height=preset["height"],
        fps=preset["fps"],
        duration=preset["duration"],
        progress=True,
    )
    return sorted((folder / "videos").glob("Synth_*.mp4"))  # the set's own files, never the long copy


def loop_video(src: Path, dst: Path, times: int) -> Path:
    """``src`` repeated ``times`` times by remuxing its packets with shifted timestamps (no re-encoding)."""
    import av

    if dst.exists():
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.part")
    with av.open(str(src)) as first:
        stream = first.streams.video[0]
        packets = [p for p in first.demux(stream) if p.dts is not None]
        span = max(p.pts + (p.duration or 0) for p in packets) - min(p.pts for p in packets)
    with av.open(str(tmp), "w", format="mp4") as out:
        with av.open(str(src)) as template:
            ostream = out.add_stream_from_template(template.streams.video[0])
        for k in range(times):
            with av.open(str(src)) as inp:
                istream = inp.streams.video[0]
                for p in inp.demux(istream):
                    if p.dts is None:
                        continue
                    p.pts += k * span
                    p.dts += k * span
                    p.stream = ostream
                    out.mux(p)
    os.replace(tmp, dst)
    return dst


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- the stages ------------------------------------------------------------------------------------
def bare_decode(videos: list[Path]) -> int:
    import av

    frames = 0
    for path in videos:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for _ in container.decode(stream):
                frames += 1
    return frames


def decode_convert(videos: list[Path], extractor: Any) -> None:
    """Each video decoded once; every input's frames converted at the size it needs (this extractor)."""
    from zoo.data.video import Resampler

    for path in videos:
        video = extractor.decoder.open(path)
        plans = [
            (inp.plan, Resampler(inp.plan.sampler.fps), inp.plan.frame_size(*video.size))
            for inp in extractor.inputs.values()
        ]
        for frame in video.frames():
            for _, keep, size in plans:
                if keep.take(frame.time):
                    frame.rgb(size)


def decode_convert_before(videos: list[Path], extractor: Any) -> None:
    """The previous extractor: each input decodes the whole video into full-size RGB; clips resized by torchvision."""
    from zoo.data.video import VideoReader

    for path in videos:
        for inp in extractor.inputs.values():
            with VideoReader(path) as reader:
                for frame in reader.iter_frames(inp.plan.sampler.fps):
                    if inp.plan.cropper is None and inp.plan.kind == "video":
                        inp.plan.transform.geometry(frame.image[None])


def prepared(videos: list[Path], extractor: Any) -> tuple[list[tuple[str, Any]], dict[str, float]]:
    """Every batch as the workers make it, and the seconds spent cropping and transforming."""
    import torch

    from zoo.data.extract.prepare import Batch, prepare_video

    stage = {"crop": 0.0, "transform": 0.0}
    plans = [inp.plan for inp in extractor.inputs.values()]
    originals = {}
    for plan in plans:  # time the cropper and the transform inside the preparation
        originals[plan.name] = (plan.cropper, plan.transform.geometry)
        if plan.cropper is not None:
            plan.cropper = _Timed(plan.cropper, stage, "crop")
        plan.transform.geometry = _Timed(plan.transform.geometry, stage, "transform")  # type: ignore[method-assign]
    batches = []
    import cv2

    cv2_threads = cv2.getNumThreads()
    try:
        torch.set_num_threads(1)  # as a worker process runs: one torch thread, no OpenCV thread pool
        cv2.setNumThreads(1)
        for i, path in enumerate(videos):
            for msg in prepare_video(i, path, plans, extractor.decoder, extractor.batch_size):
                if isinstance(msg, Batch):
                    batches.append((msg.input, msg.frames))
    finally:
        cv2.setNumThreads(cv2_threads)
        for plan in plans:
            plan.cropper, geometry = originals[plan.name]
            plan.transform.geometry = geometry  # type: ignore[method-assign]
    return batches, stage


class _Timed:
    def __init__(self, fn: Callable[..., Any], into: dict[str, float], key: str) -> None:
        self.fn, self.into, self.key = fn, into, key

    def __call__(self, *args: Any) -> Any:
        start = time.perf_counter()
        out = self.fn(*args)
        self.into[self.key] += time.perf_counter() - start
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fn, name)


def backbones_alone(batches: list[tuple[str, Any]], extractor: Any) -> None:
    from zoo.data.extract.prepare import Batch

    for i, (name, frames) in enumerate(batches):
        extractor._forward(Batch(i, name, frames), Path("bench"))


def pipeline(videos: list[Path], extractor: Any) -> None:
    for result in extractor.stream(videos):
        assert result.error is None, result.error


def cpu_side(videos: list[Path], extractor: Any, workers: int) -> float:
    """Seconds for the CPU side alone (decode .. transform, no backbones) with ``workers`` processes."""
    from zoo.data.extract.loader import VideoStream, messages

    plans = [inp.plan for inp in extractor.inputs.values()]
    stream = VideoStream(videos, plans, extractor.decoder, extractor.batch_size, extractor.config["max_missing_frames"])
    start = time.perf_counter()
    for _ in messages(stream, workers, extractor.prefetch, pin_memory=False):
        pass
    return time.perf_counter() - start


# -- memory ------------------------------------------------------------------------------------------
def child_memory(args: argparse.Namespace) -> None:
    from zoo.data.extract import Extractor

    extractor = Extractor(json.loads(args.config), args.device, workers=0)
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS from here on: the extraction, not the backbones' build
    start = time.perf_counter()
    features = extractor.video(args.child_memory)
    peak = next(int(x.split()[1]) for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM:"))
    out = {
        "peak_kb": peak,
        "instances": {k: len(v) for k, v in features.items()},
        "seconds": time.perf_counter() - start,
    }
    print(json.dumps(out))


def bench_memory(args: argparse.Namespace, config: dict[str, Any], short: Path, long: Path) -> dict[str, Any]:
    out = {}
    for label, path in (("short", short), ("long", long)):
        cmd = [
            sys.executable,
            __file__,
            "--child-memory",
            str(path),
            "--config",
            json.dumps(config),
            "--device",
            args.device,
        ]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        out[label] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


# -- reporting ------------------------------------------------------------------------------------
def median(xs: list[float]) -> float:
    return statistics.median(xs)


def row(label: str, values: list[float], note: str = "") -> str:
    return f"  {label:52s} {median(values):9.2f}   {' '.join(f'{v:.2f}' for v in values)}{note}"


def bench_speed(args: argparse.Namespace, config: dict[str, Any], videos: list[Path]) -> dict[str, float]:
    import torch

    from zoo.data.extract import Extractor

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    extractor = Extractor(config, args.device, workers=args.workers if args.workers is not None else "auto")
    for _ in extractor.stream(videos[:1]):  # first calls build the kernels
        pass
    batches, _ = prepared(videos[:1], extractor)
    backbones_alone(batches[:2], extractor)
    times: dict[str, list[float]] = {}
    stage_times: dict[str, list[float]] = {"crop": [], "transform": []}
    frames = 0
    for _ in range(args.repeats):  # interleaved: a slow spell of the machine hits every stage alike
        t = time.perf_counter()
        frames = bare_decode(videos)
        times.setdefault("decode", []).append(time.perf_counter() - t)
        times.setdefault("convert", []).append(timed(lambda: decode_convert(videos, extractor)))
        times.setdefault("convert_before", []).append(timed(lambda: decode_convert_before(videos, extractor)))
        batches, stage = prepared(videos, extractor)
        torch.set_num_threads(threads)
        for k, v in stage.items():
            stage_times[k].append(v)
        times.setdefault("backbones", []).append(timed(lambda b=batches: backbones_alone(b, extractor)))
        times.setdefault("pipeline", []).append(timed(lambda: pipeline(videos, extractor)))
    n = len(videos)
    print(f"per stage, {n} routines, seconds (median, then every run); torch threads {threads}, device {args.device}")
    print(row("decode (bare PyAV, every frame, no conversion)", times["decode"]))
    print(row("decode+convert, once per video (this extractor)", times["convert"]))
    print(row("decode+convert, once per input (the previous one)", times["convert_before"]))
    print(row("crop (on the key frames)", stage_times["crop"]))
    print(row("transform (resize / crop of every instance)", stage_times["transform"]))
    print(row("backbones alone (prepared batches)", times["backbones"]))
    print(row(f"pipeline (workers={extractor.workers})", times["pipeline"]))
    pipe, alone = median(times["pipeline"]), median(times["backbones"])
    conv, before = median(times["convert"]), median(times["convert_before"])
    print(f"  ratio pipeline / backbones alone: {pipe / alone:.3f}")
    print(f"  decode+convert, previous / this: {before / conv:.2f}x ({before / n:.2f} -> {conv / n:.2f} s per routine)")
    print(f"  pipeline: {frames / pipe:.0f} frames/s, {pipe / n:.2f} s per routine")
    side = conv + median(stage_times["crop"]) + median(stage_times["transform"])
    return {"pipeline": pipe, "backbones": alone, "decode": median(times["decode"]), "convert": conv, "cpu_side": side}


def bench_scaling(args: argparse.Namespace, config: dict[str, Any], videos: list[Path]) -> None:
    from zoo.data.extract import Extractor

    extractor = Extractor(config, args.device, workers=0)
    counts = [n for n in (1, 2, 4, 8) if n <= max(1, args.max_workers)]
    jobs = videos * max(1, max(counts) // len(videos) + 1)  # enough videos for every worker
    results = {n: [] for n in counts}
    for _ in range(args.repeats):
        for n in counts:
            results[n].append(cpu_side(jobs[: max(n, len(videos))], extractor, n))
    one = len(jobs[: max(1, len(videos))]) / median(results[1])
    print(f"worker scaling, CPU side only (decode .. transform), {os.cpu_count()} cores:")
    for n in counts:
        rate = len(jobs[: max(n, len(videos))]) / median(results[n])
        print(f"  {n} worker(s): {rate:.3f} routines/s = {rate / one:.2f} x one worker (target >= {0.7 * n:.1f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="rg", help="the videos and extract section")
    parser.add_argument(
        "--backbones", choices=("small", "real"), default="small", help="rg preset: CPU-sized or ACTION-NET's"
    )
    parser.add_argument("--videos", type=int, default=None, help="routines to time (default: the preset's)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; medians are reported")
    parser.add_argument("--workers", type=int, default=None, help="pipeline workers (default: extract.workers auto)")
    parser.add_argument("--max-workers", type=int, default=os.cpu_count() or 1, help="scaling: up to this many")
    parser.add_argument("--threads", type=int, default=None, help="torch threads of the backbones")
    parser.add_argument(
        "--long-factor", type=int, default=10, help="memory: the long routine is this many times longer"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench", help="where rendered videos are kept")
    parser.add_argument("--skip-speed", action="store_true", help="no per-stage timing")
    parser.add_argument("--skip-scaling", action="store_true", help="no worker scaling")
    parser.add_argument("--skip-memory", action="store_true", help="no peak-RSS measurement")
    parser.add_argument("--child-memory", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--config", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_memory:
        child_memory(args)
        return 0
    import zoo  # noqa: F401

    preset = dict(PRESETS[args.preset])
    if args.videos:
        preset["videos"] = args.videos
    config = demo_config() if args.preset == "demo720" else backbones_config(args.backbones)
    videos = make_videos(args.work, preset)
    shape = f"{preset['width']}x{preset['height']}, {preset['fps']:g} fps"
    print(f"{len(videos)} routines of {preset['duration']:g} s, {shape}")
    print(f"extract: {json.dumps(config['inputs'])}")
    if not args.skip_speed:
        r = bench_speed(args, config, videos)
        if args.preset == "demo720":
            print(f"  demo extract section / bare decode: {r['pipeline'] / r['decode']:.1f}x (target <= 10x)")
        cpu = r["cpu_side"] / len(videos)  # one worker's decode+convert, crop and transform per routine
        rg = 1000 * cpu * 92 / preset["duration"]  # all of RG: 1000 routines of about 92 s
        print(f"  CPU side (one worker: decode+convert, crop, transform): {cpu:.2f} s per routine")
        print(
            f"  all of RG on the CPU side: {rg / 3600:.1f} worker-hours; a 16-core host's 15 workers at 0.7 x N "
            f"would take {rg / (15 * 0.7) / 60:.0f} min (a GPU's backbones cannot finish sooner than that)"
        )
    if not args.skip_scaling:
        bench_scaling(args, config, videos)
    if not args.skip_memory:
        long_path = videos[0].parents[1] / "long" / f"{args.long_factor}x_{videos[0].name}"  # beside the set's videos
        long = loop_video(videos[0], long_path, args.long_factor)
        m = bench_memory(args, copy.deepcopy(config), videos[0], long)
        print("peak RSS of the extraction (VmHWM after the backbones are built), fresh process each:")
        for label in ("short", "long"):
            x = m[label]
            print(f"  {label:6s} {json.dumps(x['instances']):36s} {x['peak_kb'] / 1024:8.0f} MiB {x['seconds']:7.1f} s")
        print(f"  long / short: {m['long']['peak_kb'] / m['short']['peak_kb']:.3f} (target <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
