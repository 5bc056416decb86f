"""Where a model looked: each stream's instance weights over the video's time, as a PNG.

Besides the bars, the picture shows what can be known about the video without guessing:

* the frames at the most-weighted instances, as thumbnails above the bars, when ``source`` is a
  video file that decodes (a missing or unreadable one only means no thumbnails);
* the true element boundaries of a synthetic routine, when the video sits in a synthetic render
  folder (``<render>/videos/<name>.mp4`` beside ``<render>/latents.json``), shaded on every axis.

Instance times need the stream's seconds per instance; a stream without them is drawn over
instance numbers, and then neither thumbnails nor elements are placed on it.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from registry import write_atomic

from ..errors import DataError
from .scores import VideoScore

THUMBNAILS = 4  # more would not fit side by side at a readable size
THUMB_HEIGHT = 96  # pixels, decoded at this height by FFmpeg's scaler
DPI = 100
STREAM_COLOURS = {"dynamic": "tab:blue", "static": "tab:orange"}
ELEMENT_COLOURS = ("tab:green", "tab:purple", "tab:brown", "tab:olive", "tab:cyan", "tab:pink")


@dataclass(frozen=True)
class Element:
    """One element of a synthetic routine, in seconds: [start, end), its hold [hold_start, hold_end)."""

    name: str
    start: float
    hold_start: float
    hold_end: float
    end: float


@dataclass(frozen=True)
class Thumbnail:
    rank: int  # 1 = the most-weighted instance
    time: float  # seconds: the middle of the instance
    weight: float
    image: np.ndarray  # RGB uint8 [THUMB_HEIGHT, w, 3]


def plot_attention(result: VideoScore, path: str | Path) -> Path:
    """A PNG timeline per stream: the weight of each instance over the video's time; returns the file.

    With the video at hand (``result.source``) the frames of the most-weighted instances of the
    first stream with weights are shown above; for a synthetic video the true elements are shaded.
    """
    import matplotlib.pyplot as plt

    fig = attention_figure(result)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return write_atomic(path, buf.getvalue())


def attention_figure(result: VideoScore) -> Any:
    """The matplotlib figure ``plot_attention`` saves (the caller closes it): one axis per stream with weights,
    above them an axis of thumbnails when there are any."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    streams = [s for s, w in result.weights.items() if w]
    video = _video_file(result.source)
    try:
        elements = synthetic_elements(video) if video else []
        no_elements = ""
    except DataError as e:  # the picture is still worth drawing; it says why the elements are missing
        elements, no_elements = [], f"elements not shown: {e}"
        print(f"warning: {no_elements}", file=sys.stderr)
    thumbs, thumb_stream = _thumbnails(video, result, streams) if video else ([], None)
    steps = {s: float(step) for s in streams if (step := result.seconds_per_instance.get(s))}
    extent = max((len(result.weights[s] or []) * step for s, step in steps.items()), default=0.0)

    rows = max(len(streams), 1)
    heights = ([1.5] if thumbs else []) + [1.9] * rows
    fig, axes = plt.subplots(
        len(heights), 1, figsize=(10, sum(heights) + 0.7), squeeze=False, gridspec_kw={"height_ratios": heights}
    )
    axes = list(axes[:, 0])
    thumb_ax = axes.pop(0) if thumbs else None
    for ax, stream in zip(axes, streams):
        step = steps.get(stream)
        _draw_stream(ax, stream, np.asarray(result.weights[stream], dtype=float), step, extent)
        if step:
            _draw_elements(ax, elements)
        if thumb_ax is not None and stream == thumb_stream:
            _draw_thumbnails(fig, thumb_ax, ax, thumbs, stream)
    if not streams:
        axes[0].text(0.5, 0.5, "this model has no instance weights (e.g. mean pooling)", ha="center")
    kind = f"{result.target} " if result.target else ""
    judged = f", judged {result.judged:.2f}" if result.judged is not None else ""
    fig.suptitle(f"{result.name}: predicted {kind}score {result.score:.2f}{judged} — where the model looked")
    if no_elements:
        fig.text(0.01, 0.005, no_elements[:160], fontsize=7, color="tab:red")
    fig.tight_layout()
    return fig


# -- drawing --------------------------------------------------------------------------------------
def _draw_stream(ax: Any, stream: str, w: np.ndarray, step: float | None, extent: float) -> None:
    t = np.arange(len(w)) * step if step else np.arange(len(w))
    ax.bar(t, w, width=(step or 1) * 0.9, align="edge", color=STREAM_COLOURS.get(stream, "tab:gray"), zorder=2)
    # Above the uniform weight the model attended more than to an average instance.
    ax.axhline(1.0 / len(w), color="0.35", lw=0.8, ls="--", zorder=3)
    ax.text(1.0, 1.0 / len(w), " uniform", transform=ax.get_yaxis_transform(), va="center", fontsize=7)
    ax.set_ylabel(f"{stream}\nweight")
    ax.set_xlim(0, max(extent, len(w) * step) if step else len(w))
    ax.set_ylim(0, float(w.max()) * 1.25 if w.max() > 0 else 1.0)
    ax.set_xlabel("seconds" if step else f"instance ({stream}: seconds per instance unknown)")


def _draw_elements(ax: Any, elements: list[Element]) -> None:
    if not elements:
        return
    for i, el in enumerate(elements):
        colour = ELEMENT_COLOURS[i % len(ELEMENT_COLOURS)]
        ax.axvspan(el.start, el.end, color=colour, alpha=0.12, lw=0, zorder=0)
        ax.axvspan(el.hold_start, el.hold_end, color=colour, alpha=0.18, lw=0, zorder=1)
        ax.text(el.start, 0.97, f" {el.name}", transform=ax.get_xaxis_transform(), va="top", fontsize=8, color=colour)
    ax.set_xlabel("seconds (shaded: the routine's true elements, darker: their holds)")


def _draw_thumbnails(fig: Any, ax: Any, bars: Any, thumbs: list[Thumbnail], stream: str) -> None:
    """Thumbnails side by side in time order in ``ax``, each with an arrow to its bar in ``bars``."""
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage, TextArea, VPacker

    ax.axis("off")
    ax.set_title(f"frames at the {len(thumbs)} most-weighted {stream} instances", fontsize=9, loc="left")
    for j, th in enumerate(thumbs):
        bars.annotate(str(th.rank), (th.time, th.weight), ha="center", va="bottom", fontsize=8, weight="bold")
        label = TextArea(f"#{th.rank}  {th.time:.1f} s", textprops={"fontsize": 8})
        picture = OffsetImage(th.image, zoom=72 / DPI)  # one image pixel per figure pixel
        box = AnnotationBbox(
            VPacker(children=[picture, label], align="center", pad=0, sep=2),
            (th.time, th.weight),
            xybox=((j + 0.5) / len(thumbs), 0.45),  # even slots: neighbouring instances would overlap
            xycoords=bars.transData,
            boxcoords=ax.transAxes,
            pad=0.2,
            annotation_clip=False,
            arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.8, "shrinkB": 12},  # stops above the number
        )
        fig.add_artist(box)


# -- what the video's files say -------------------------------------------------------------------
def _video_file(source: str) -> Path | None:
    from ..data.video import VIDEO_SUFFIXES

    path = Path(source) if source else None
    return path if path is not None and path.suffix.lower() in VIDEO_SUFFIXES and path.is_file() else None


def _thumbnails(video: Path, result: VideoScore, streams: list[str]) -> tuple[list[Thumbnail], str | None]:
    """The frames nearest the middles of the top instances of the first stream with weights and times."""
    steps = {s: float(step) for s in streams if (step := result.seconds_per_instance.get(s))}
    stream = next(iter(steps), None)
    if stream is None:
        return [], None
    w = np.asarray(result.weights[stream], dtype=float)
    step = steps[stream]
    top = np.argsort(-w, kind="stable")[:THUMBNAILS]
    times = [(int(i) + 0.5) * step for i in top]
    images = frames_near(video, times, THUMB_HEIGHT)
    if images is None:
        return [], None
    thumbs = [Thumbnail(r + 1, times[r], float(w[i]), images[r]) for r, i in enumerate(top)]
    return sorted(thumbs, key=lambda th: th.time), stream


def frames_near(video: str | Path, times: list[float], height: int) -> list[np.ndarray] | None:
    """The frame nearest each time (seconds), RGB at ``height`` pixels; None when the video cannot be decoded.

    Only the chosen frames are converted to RGB (FFmpeg scales them in the same pass), and decoding
    stops after the last one: a long video costs no more than its decoding up to that point.
    """
    import av

    from ..data.video import VideoError, VideoReader

    order = sorted(range(len(times)), key=times.__getitem__)
    found: dict[int, np.ndarray] = {}
    try:
        with VideoReader(video) as reader:
            h, w = reader.size
            size = (height, max(1, round(w * height / h)))
            prev = None
            for frame in reader.frames():
                while order and frame.time >= times[order[0]]:
                    i = order.pop(0)
                    near = prev if prev is not None and times[i] - prev.time < frame.time - times[i] else frame
                    found[i] = near.rgb(size)
                if not order:
                    break
                prev = frame
            for i in order:  # times past the last frame
                if prev is None:
                    return None
                found[i] = prev.rgb(size)
    except (VideoError, OSError, av.FFmpegError) as e:  # a video that cannot be read: no thumbnails, said once
        print(f"warning: no thumbnails from {video}: {e}", file=sys.stderr)
        return None
    return [found[i] for i in range(len(times))]


def synthetic_elements(video: Path) -> list[Element]:
    """The elements of a synthetic routine from its render folder's latents.json; [] for any other video.

    A render folder whose files do not hold what the synthetic set writes is a ``DataError`` naming
    the file (the set writes them itself, so a bad one is damage or a bug, not something to skip).
    """
    render = video.parent.parent
    if video.parent.name != "videos" or not (render / "latents.json").is_file():
        return []
    latents = _read_json_object(render / "latents.json")
    routine = latents.get(video.stem)
    if routine is None:
        return []  # a video the render did not make
    fps = _render_fps(render, video.stem)
    elements = routine.get("elements") if isinstance(routine, dict) else None
    if not isinstance(elements, list):
        raise DataError(
            f"{render / 'latents.json'}: {video.stem} has no list of elements (the synthetic set writes one)"
        )
    found = []
    for i, el in enumerate(elements):
        frames = el.get("frames") if isinstance(el, dict) else None
        if not (isinstance(frames, list) and len(frames) == 4 and all(isinstance(f, int | float) for f in frames)):
            raise DataError(
                f"{render / 'latents.json'}: element {i} of {video.stem} has no four frame numbers "
                f"(start, hold start, hold end, end): {el!r}"
            )
        start, hold_start, hold_end, end = (float(f) / fps for f in frames)
        found.append(Element(str(el.get("name", f"element {i}")), start, hold_start, hold_end, end))
    return found


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not readable JSON ({e})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: holds a {type(data).__name__}, expected a JSON object")
    return data


def _render_fps(render: Path, name: str) -> float:
    """Frames per second of a synthetic render: its params.json, else the video's meta/<name>.json."""
    for path in (render / "params.json", render / "meta" / f"{name}.json"):
        if not path.is_file():
            continue
        fps = _read_json_object(path).get("fps")
        if isinstance(fps, int | float) and not isinstance(fps, bool) and fps > 0:
            return float(fps)
        raise DataError(f"{path}: 'fps' is {fps!r}, expected a positive number")
    raise DataError(f"{render}: neither params.json nor meta/{name}.json says the render's frame rate")
