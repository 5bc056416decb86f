"""Tables of results, as the terminal and the Markdown files show them; undefined numbers say why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .metrics import fisher_z_mean, format_mean_sd, format_metric


def results_table(results: Mapping[str, Any]) -> str:
    """One run: the headline first, then the other selections, each labelled; notes and warnings below."""
    rows = []
    for key in ("selected", "last", "best_on_test"):
        e = results.get(key)
        if not e:
            continue
        label = e["label"] + (" (headline)" if e["label"] == results["headline"] else "")
        cells = [format_metric(e, "test_spearman"), format_metric(e, "test_relative_l2", 2)]
        cells += [format_metric(e, "test_mse", 3), format_metric(e, "val_spearman")]
        rows.append(f"| {label} | {e['epoch']} | " + " | ".join(cells) + " |")
    for e in results.get("missing") or []:  # the headline weights with a modality missing
        gone = ", ".join(e["dropped"])
        if "refused" in e:
            rows.append(f"| headline without {gone} | - | not scored: {e['refused']} | | | |")
            continue
        cells = [
            format_metric(e, "test_spearman"),
            format_metric(e, "test_relative_l2", 2),
            format_metric(e, "test_mse"),
        ]
        rows.append(f"| headline without {gone} | - | " + " | ".join(cells) + " | - |")
    head = "| selection | epoch | test Spearman | test rel. L2 | test MSE | val Spearman |\n|---|---|---|---|---|---|"
    text = f"{results['recipe']}  ({results.get('run_dir', '')})\n{head}\n" + "\n".join(rows)
    extra = [f"note: {n}" for n in results.get("notes", [])] + [f"warning: {w}" for w in results.get("warnings", [])]
    extra += [f"ACCEPTED MISMATCH: {a}" for a in results.get("accepted", [])]
    return text + ("\n" + "\n".join(extra) if extra else "")


def class_table(per_class: Mapping[str, Mapping[str, Any]]) -> str:
    """One model per class (apparatus, or TES/PCS): headline and last-epoch Spearman, Fisher-z averages."""
    labels = list(per_class)
    head = "| | " + " | ".join(labels) + " | Fisher-z avg |\n|---|" + "---|" * (len(labels) + 1)
    lines = [head]
    for title, pick in (
        ("headline", lambda r: r),
        ("last epoch", lambda r: {"spearman": r["last"].get("test_spearman")}),
    ):
        rows = [pick(per_class[c]) for c in labels]
        values = [r.get("spearman") for r in rows]
        avg = fisher_z_mean(values)
        cells = [format_metric({"spearman": v}, "spearman") if v is not None else "undefined" for v in values]
        avg_cell = f"{avg:.3f}" if avg is not None else "undefined (a class has no Spearman)"
        lines.append(f"| {title} | " + " | ".join(cells) + f" | {avg_cell} |")
    kinds = sorted({per_class[c]["headline"] for c in labels})
    return "\n".join(lines) + f"\n\nheadline = {', '.join(kinds)} (per class); test-set selection is never used."


def seeds_table(summary: Mapping[str, Any]) -> str:
    """Several seeds of one recipe (``zoo.engine.seeds``): each seed's headline and last-epoch test Spearman, then
    mean ± sd over seeds; a failed seed shows its error."""
    head = "| seed | headline (epoch) | test Spearman, headline | test Spearman, last epoch |\n|---|---|---|---|"
    lines = [f"{summary['recipe']}: {len(summary['seeds'])} seeds  ({summary.get('run_dir', '')})", head]
    for e in summary["seeds"]:
        if e["status"] != "finished":
            error = " ".join(str(e.get("error", "")).split()).replace("|", "\\|")  # one table row, whatever it says
            lines.append(f"| {e['seed']} | FAILED: {error} | - | - |")
            continue
        label = f"{e.get('headline') or '-'} ({e.get('epoch', '-')})"
        cells = [format_metric(e, "spearman"), format_metric(e, "last_spearman")]
        lines.append(f"| {e['seed']} | {label} | " + " | ".join(cells) + " |")
    agg = summary["aggregate"]
    lines.append(f"| mean ± sd | | {format_mean_sd(agg['spearman'])} | {format_mean_sd(agg['last_spearman'])} |")
    kinds = sorted({str(e["headline"]) for e in summary["seeds"] if e.get("headline")})
    note = f"headline = {', '.join(kinds) or '-'}; sd is the sample standard deviation over seeds; "
    return "\n".join(lines) + f"\n\n{note}test-set selection is never used."
