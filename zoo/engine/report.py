"""Tables of results, as the terminal and the Markdown files show them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .metrics import fisher_z_mean


def _fmt(v: Any, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def run_table(results: Mapping[str, Any]) -> str:
    """One run: the headline first, then the other selections, each labelled."""
    rows = []
    order = ("selected", "last", "best_on_test")
    for key in order:
        e = results.get(key)
        if not e:
            continue
        label = e["label"] + (" (headline)" if e["label"] == results["headline"] else "")
        rows.append(
            f"| {label} | {e['epoch']} | {_fmt(e.get('test_spearman'))} | {_fmt(e.get('test_relative_l2'), 2)} "
            f"| {_fmt(e.get('test_mse'), 3)} | {_fmt(e.get('val_spearman'))} |"
        )
    head = "| selection | epoch | test Spearman | test rel. L2 | test MSE | val Spearman |\n|---|---|---|---|---|---|"
    return f"{results['recipe']}  ({results.get('run_dir', '')})\n{head}\n" + "\n".join(rows)


def class_table(per_class: Mapping[str, Mapping[str, Any]]) -> str:
    """One model per class (apparatus, or TES/PCS): headline and last-epoch Spearman, Fisher-z averages."""
    labels = list(per_class)
    head = "| | " + " | ".join(labels) + " | Fisher-z avg |\n|---|" + "---|" * (len(labels) + 1)
    lines = [head]
    for title, pick in (("headline", lambda r: r["spearman"]), ("last epoch", lambda r: r["last"]["test_spearman"])):
        values = [pick(per_class[c]) for c in labels]
        lines.append(f"| {title} | " + " | ".join(_fmt(v) for v in values) + f" | {_fmt(fisher_z_mean(values))} |")
    kinds = sorted({per_class[c]["headline"] for c in labels})
    return "\n".join(lines) + f"\n\nheadline = {', '.join(kinds)} (per class); test-set selection is never used."


def fisher_z(values: Sequence[float]) -> float:
    return fisher_z_mean(values)
