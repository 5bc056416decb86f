"""Where a model looked: each stream's instance weights over the video's time, as a PNG."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from registry import write_atomic

if TYPE_CHECKING:
    from .predict import VideoScore


def plot_attention(result: VideoScore, path: str | Path) -> Path:
    """A PNG timeline per stream: the weight of each instance over the video's time; returns the file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    streams = [s for s, w in result.weights.items() if w]
    fig, axes = plt.subplots(max(len(streams), 1), 1, figsize=(10, 1.9 * max(len(streams), 1) + 0.6), squeeze=False)
    for ax, stream in zip(axes[:, 0], streams):
        w = np.asarray(result.weights[stream])
        step = result.seconds_per_instance.get(stream)
        t = np.arange(len(w)) * step if step else np.arange(len(w))
        ax.bar(t, w, width=(step or 1) * 0.9, align="edge", color="tab:orange" if stream == "static" else "tab:blue")
        ax.set_ylabel(f"{stream}\nweight")
        ax.set_xlim(0, (len(w)) * (step or 1))
        ax.set_xlabel("seconds" if step else "instance")
    if not streams:
        axes[0, 0].text(0.5, 0.5, "this model has no instance weights (e.g. mean pooling)", ha="center")
    judged = f", judged {result.judged:.2f}" if result.judged is not None else ""
    fig.suptitle(f"{result.name}: predicted score {result.score:.2f}{judged} — where the model looked")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return write_atomic(path, buf.getvalue())
