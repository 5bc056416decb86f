"""The training curves of a run (loss; Spearman on validation and test), drawn once for curves.png and the report."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

DPI = 100


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (no display is ever needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(fig: Any) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI)
    pyplot().close(fig)
    return buf.getvalue()


def plot_curves(rows: Sequence[Mapping[str, Any]], title: str | None = None) -> bytes:
    """PNG of training loss and Spearman on validation and test per epoch; epochs without a value are skipped."""
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    loss = [(r["epoch"], r["train_loss"]) for r in rows if r.get("train_loss") is not None]
    if loss:
        ax1.plot(*zip(*loss), label="train loss")
        ax1.set_yscale("log")
        ax1.legend()
    ax1.set_xlabel("epoch")
    for key, name in (("val_spearman", "validation"), ("test_spearman", "test")):
        pts = [(r["epoch"], r[key]) for r in rows if r.get(key) is not None]
        if pts:
            ax2.plot(*zip(*pts), label=name)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("Spearman's rho")
    if ax2.lines:
        ax2.legend()
    elif rows:  # undefined at every epoch: say so instead of an empty axis
        msg = "Spearman undefined at every epoch (see results.json)"
        ax2.text(0.5, 0.5, msg, ha="center", transform=ax2.transAxes)
    if title:
        fig.suptitle(title)
    return png(fig)
