"""Benchmark audio and flow extraction at RG size: seconds per routine per modality, and where they go.

    python bench/extract_av.py                      # a 9.6 s piece of 1280x720, 25 fps video, scaled to 95 s
    python bench/extract_av.py --seconds 95         # the whole routine
    python bench/extract_av.py --raft raft_large --flow-size 256 448

The video is generated (a moving pattern, H.264, with a stereo 44.1 kHz AAC track of a tone and clicks)
and kept under --work. Backbone weights are random (their cost does not depend on the values):
``ast`` is AST-Base (1024 frames of 128 mel bins, 768-d; --ast-frames 320: the frames of one 3.2 s clip,
what ``max_length: 320`` fits a checkpoint to), ``raft_small`` (or --raft) before
``ptv:x3d_xs`` with 2 input channels. Each modality is one extract input on the RGB clip sampler it
is aligned with (16 frames at 5 fps: 3.2 s clips). Reported as medians of --repeats interleaved runs:

* audio: prepare (the video decoded for its frame times, the audio track decoded and resampled, the
  log-mel of every clip), of which the audio decode alone; the AST on the prepared spectrograms; the
  whole pipeline (``Extractor.stream``, decoding in this process);
* flow: prepare (decode, convert and resize to --flow-size, clips); RAFT on the prepared clips; the
  2-channel X3D on the flow clips; the whole pipeline;
* rgb, for scale: the same clips through ``ptv:x3d_xs`` at 160 px, the whole pipeline.

Seconds per routine = seconds for the piece x the routine's clips / the piece's clips (the backbones'
work is per clip; decoding, linear in the length, is a small share). The CPU model is printed (lscpu).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIPS = {"type": "clips", "length": 16, "fps": 5.0}


def configs(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """One extract section per modality, each a single input on the same clip sampler."""
    base = {"seed": 0, "batch_size": args.batch_size, "workers": 0}
    flow = {"model": args.raft, "size": list(args.flow_size), "iters": args.iters}
    ast = {"type": "ast", **({"max_length": args.ast_frames} if args.ast_frames else {})}
    return {
        "audio": {**base, "inputs": {"sound": {"modality": "audio", "sampler": CLIPS, "backbone": ast}}},
        "flow": {
            **base,
            "inputs": {
                "motion": {"modality": "flow", "sampler": CLIPS, "flow": flow, "backbone": {"type": "ptv:x3d_xs"}}
            },
        },
        "rgb": {**base, "inputs": {"rgb": {"sampler": CLIPS, "backbone": {"type": "ptv:x3d_xs"}, "size": [160, 160]}}},
    }


def make_video(path: Path, width: int, height: int, fps: int, seconds: float) -> Path:
    """A moving pattern with a soundtrack (440 Hz tone, a click every 0.5 s), H.264 + AAC; kept once made."""
    if path.exists():
        return path
    import av
    import numpy as np

    tmp = path.with_suffix(".tmp.mp4")
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 255, (height // 8, width // 8 + 64, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    rate = 44100
    with av.open(str(tmp), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "23"}
        audio = container.add_stream("aac", rate=rate, layout="stereo")
        for i in range(round(seconds * fps)):
            shift = (4 * i) % 512
            image = np.ascontiguousarray(tile[:, shift // 8 : shift // 8 + width])
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        t = np.arange(round(seconds * rate)) / rate
        wave = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.6 * ((t % 0.5) < 0.005)
        step = audio.codec_context.frame_size or 1024
        for start in range(0, len(wave), step):
            chunk = np.ascontiguousarray(np.repeat(wave[None, start : start + step], 2, 0).astype(np.float32))
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    tmp.replace(path)
    return path


def timed(fn: Callable[[], Any]) -> float:
    tic = time.perf_counter()
    fn()
    return time.perf_counter() - tic


def prepare(extractor: Any, video: Path) -> list[Any]:
    """Every batch one video gives its (single) input, prepared in this process."""
    from zoo.data.extract.prepare import Batch, VideoFailed, prepare_video

    plans = [inp.plan for inp in extractor.inputs.values()]
    out = []
    for message in prepare_video(0, video, plans, extractor.decoder, extractor.batch_size):
        if isinstance(message, VideoFailed):
            raise RuntimeError(message.error)
        if isinstance(message, Batch):
            out.append(message.frames)
    return out


def stages(modality: str, extractor: Any, video: Path) -> dict[str, Callable[[], Any]]:
    """What to time for one modality: name -> a call (batches prepared once, for the backbone-only stages)."""
    import torch

    from zoo.data.audio import read_audio

    inp = next(iter(extractor.inputs.values()))
    batches = prepare(extractor, video)
    normalize = inp.plan.transform.normalize

    def through(fn: Callable[[Any], Any], xs: list[Any]) -> Callable[[], None]:
        def run() -> None:
            with torch.inference_mode():
                for x in xs:
                    fn(x)

        return run

    def pipeline() -> None:
        (result,) = extractor.stream([video])
        if result.error:
            raise RuntimeError(result.error)

    out: dict[str, Callable[[], Any]] = {"prepare": lambda: prepare(extractor, video)}
    if modality == "audio":
        out["audio decode"] = lambda: read_audio(video, inp.spec.sample_rate)
        out["ast"] = through(lambda x: inp.backbone(normalize(x)), batches)
    elif modality == "flow":
        with torch.inference_mode():
            flows = [inp.backbone.flow(normalize(x)) for x in batches]
        out["raft"] = through(lambda x: inp.backbone.flow(normalize(x)), batches)
        out["x3d (2 ch)"] = through(lambda f: inp.backbone.net["video"](f), flows)
    out["pipeline"] = pipeline
    return out


def cpu_model() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no lscpu)"
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return f"{fields.get('Model name', '?').strip()}, {fields.get('CPU(s)', '?').strip()} CPU(s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=9.6, help="length of the generated video timed")
    parser.add_argument("--routine-seconds", type=float, default=95.0, help="the routine length reported per")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--modalities", nargs="+", default=["audio", "flow", "rgb"], choices=["audio", "flow", "rgb"])
    parser.add_argument("--raft", default="raft_small", choices=["raft_small", "raft_large"])
    parser.add_argument("--flow-size", type=int, nargs=2, default=[128, 224], metavar=("H", "W"))
    parser.add_argument("--iters", type=int, default=12, help="RAFT's update iterations")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--ast-frames", type=int, default=None, help="AST's spectrogram frames (default 1024; 320 fits a 3.2 s clip)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; medians are reported")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench", help="where the video is kept")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)

    import torch

    import zoo  # noqa: F401  (registers the backbones)
    from zoo.data.extract import Extractor

    if args.threads:
        torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    name = f"av_{args.width}x{args.height}_{args.fps}fps_{args.seconds:g}s.mp4"
    tic = time.perf_counter()
    video = make_video(args.work / name, args.width, args.height, args.fps, args.seconds)
    print(f"video {video} ({time.perf_counter() - tic:.1f} s to make or find)")
    print(f"CPU: {cpu_model()}; torch {torch.__version__}, {torch.get_num_threads()} threads; random weights")
    extractors = {m: Extractor(c, workers=0) for m, c in configs(args).items() if m in args.modalities}
    plans = {m: stages(m, e, video) for m, e in extractors.items()}
    times: dict[str, dict[str, list[float]]] = {m: {s: [] for s in p} for m, p in plans.items()}
    for _ in range(args.repeats):  # interleaved: a slow spell of the shared machine hits every stage alike
        for m, p in plans.items():
            for stage, fn in p.items():
                times[m][stage].append(timed(fn))
    clips = [int(s * CLIPS["fps"]) // CLIPS["length"] for s in (args.seconds, args.routine_seconds)]
    scale = clips[1] / clips[0]
    how = "measured" if scale == 1 else f"{args.seconds:g} s piece ({clips[0]} clips) x {scale:.2f} ({clips[1]} clips)"
    print(f"\nseconds ({args.repeats} runs, median); per routine of {args.routine_seconds:g} s: {how}")
    print(f"{'modality':9} {'stage':14} {'piece s':>9} {'per routine s':>14}   runs")
    report: dict[str, Any] = {"cpu": cpu_model(), "video": str(video), "scale": scale, "modalities": {}}
    for m, stage_times in times.items():
        report["modalities"][m] = {}
        for stage, xs in stage_times.items():
            med = statistics.median(xs)
            report["modalities"][m][stage] = {"piece": med, "routine": med * scale, "runs": xs}
            print(f"{m:9} {stage:14} {med:9.2f} {med * scale:14.1f}   {', '.join(f'{x:.2f}' for x in xs)}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
    raise SystemExit(main())
