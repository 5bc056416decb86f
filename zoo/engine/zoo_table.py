"""The zoo's results table: every selected recipe trained under one protocol, written to Markdown.

One protocol for all: the same data and splits (the synthetic set by default, or a folder of
RG-format features), the same features, standardised per channel with training statistics
(``input_norm``), the same seeds and the same epoch budget; each recipe keeps its own model, loss
and optimiser. Reported per recipe: test Spearman of the validation-selected and the
last-epoch model (mean and spread over seeds), relative L2, parameters, training time and the
median time to score one video.
"""

from __future__ import annotations

import fnmatch
import json
import platform
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from registry import MissingFileError, list_recipes, load_recipe, write_atomic
from registry.recipe import merge

from .trainer import Trainer


@dataclass
class Row:
    recipe: str
    parameters: int = 0
    selected: list[float | None] = field(default_factory=list)  # test Spearman, validation-selected, per seed
    last: list[float | None] = field(default_factory=list)
    relative_l2: list[float | None] = field(default_factory=list)
    train_seconds: list[float] = field(default_factory=list)
    infer_ms: list[float] = field(default_factory=list)
    note: str = ""


def feature_widths(root: Path, folders: Sequence[str] = ("dynamic", "static")) -> dict[str, int]:
    """Feature width of each input folder under ``root`` (from its first .npy file)."""
    widths = {}
    for key in folders:
        files = sorted((root / key).glob("*.npy"))
        if files:
            widths[key] = int(np.load(files[0], mmap_mode="r").shape[1])
    if not widths:
        raise MissingFileError(f"no <input>/<name>.npy feature folders under {root} (looked for {list(folders)})")
    return widths


@dataclass
class Protocol:
    """What every recipe of the table shares."""

    data: dict[str, Any]
    extract: dict[str, Any] | None
    widths: dict[str, int]
    description: str


def protocol(data: str, protocol_recipe: str) -> Protocol:
    """The synthetic set as ``protocol_recipe`` makes it, or a folder of RG-format features."""
    if data == "synthetic":
        base = load_recipe(protocol_recipe)
        text = base.get("description") or f"the data of {protocol_recipe}"
        return Protocol(base["data"], base.get("extract"), dict(base["model"]["inputs"]), text)
    root = Path(data)
    section = {"type": "features", "root": str(root), "format": "rg", "val_fraction": 0.2, "pad_mask": True}
    section["annotations"] = {"train": "train.txt", "test": "test.txt"}
    return Protocol(section, None, feature_widths(root), f"RG-format features in {root}")


def adapt(recipe: Mapping[str, Any], proto: Protocol, epochs: int, seed: int, out: Path) -> dict[str, Any] | str:
    """The recipe under the protocol, or a string saying why it cannot run on this data."""
    rc = merge({}, recipe)
    widths = proto.widths
    wanted = rc["model"].get("inputs", {})
    missing = [k for k in wanted if k not in widths]
    streams = rc["model"].get("streams", {})
    used = {(s or {}).get("input") or name for name, s in streams.items() if s}
    if any(k in used for k in missing):
        return f"needs inputs {missing} that the data does not have"
    rc["model"]["inputs"] = {k: widths[k] for k in wanted if k in widths}
    for stream in streams.values():  # the same feature preprocessing for all: standardised inputs
        if stream and not stream.get("backbone"):
            stream["input_norm"] = True
    rc["data"] = merge({}, proto.data)
    if proto.extract is not None:
        rc["extract"] = merge({}, proto.extract)
    rc["train"] = {**rc["train"], "epochs": epochs, "seed": seed, "hooks": []}
    rc["eval"] = {**rc.get("eval", {}), "select": "val", "per_class": None}
    rc["run"] = {**rc.get("run", {}), "out": str(out), "tensorboard": False, "progress": False, "device": "cpu"}
    return rc


@torch.no_grad()
def inference_ms(trainer: Trainer, videos: int = 20) -> float:
    """Median milliseconds to score one test video (batch of one, features to score)."""
    model, data = trainer.model.eval(), trainer.data
    times = []
    for i in range(min(videos, len(data.test))):
        batch = {k: v.to(trainer.device) for k, v in data.batch(data.test, [i]).items()}
        tic = time.perf_counter()
        model(batch)
        times.append((time.perf_counter() - tic) * 1000)
    return statistics.median(times)


def run_zoo_table(
    pattern: str = "*",
    data: str = "synthetic",
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 100,
    protocol_recipe: str = "actionnet/synthetic",
    out: str | Path = "runs/zoo_table",
) -> tuple[list[Row], Protocol]:
    """Train every recipe matching ``pattern`` (fnmatch on names) under one protocol."""
    names = [n for n in list_recipes() if fnmatch.fnmatchcase(n, pattern)]
    proto = protocol(data, protocol_recipe)
    rows = []
    for name in names:
        row = Row(name)
        for seed in seeds:
            rc = adapt(load_recipe(name), proto, epochs, seed, Path(out))
            if isinstance(rc, str):
                row.note = rc
                break
            folder = Path(out) / name / f"seed{seed}"
            cell = _cached_cell(folder, rc)
            if cell is None:
                trainer = Trainer(rc, folder, name=name, progress=False)
                result = trainer.fit()
                cell = {
                    "parameters": result["parameters"],
                    "selected": result["spearman"],
                    "last": result["last"]["test_spearman"],
                    "relative_l2": result["relative_l2"],
                    "train_seconds": result["train_seconds"],
                    "infer_ms": inference_ms(trainer),
                    "headline": result["headline"],
                }
                write_atomic(folder / CELL_FILE, json.dumps({"recipe": _as_json(rc), "cell": cell}, indent=1))
                how = ""
            else:
                how = ", kept from an earlier run"
            row.parameters = cell["parameters"]
            for key in ("selected", "last", "relative_l2", "train_seconds", "infer_ms"):
                getattr(row, key).append(cell[key])
            shown = "undefined" if cell["selected"] is None else f"{cell['selected']:.3f}"
            print(f"{name} seed {seed}: Spearman {shown} ({cell['headline']}{how})", flush=True)
        rows.append(row)
    return rows, proto


CELL_FILE = "table_cell.json"  # one finished (recipe, seed) of the table: an interrupted table resumes from these


def _cached_cell(folder: Path, rc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The result kept in ``folder`` by an earlier run of exactly this resolved recipe, else None."""
    try:
        kept = json.loads((folder / CELL_FILE).read_text())
    except (OSError, ValueError):
        return None
    return kept.get("cell") if kept.get("recipe") == _as_json(rc) else None


def _as_json(rc: Mapping[str, Any]) -> Any:
    return json.loads(json.dumps(rc, default=str))  # compared as it is stored


def _mean_sd(values: Sequence[float | None], digits: int = 3) -> str:
    if not values:
        return "-"
    if any(v is None for v in values):
        undefined = sum(v is None for v in values)
        return f"undefined ({undefined} of {len(values)} seeds)"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, torch {torch.__version__}"
    )


def markdown(rows: Sequence[Row], command: str, data: str, seeds: Sequence[int], epochs: int, elapsed: float) -> str:
    """docs/RESULTS.md, as written by tools/zoo_table.py."""

    def rank(r: Row) -> float:
        defined = [v for v in r.selected if v is not None]
        return -statistics.mean(defined) if defined and len(defined) == len(r.selected) else 1.0

    ranked = sorted(rows, key=rank)
    lines = [
        "# Results: the zoo's recipes under one protocol",
        "",
        "Produced by this command, not typed by hand:",
        "",
        f"    {command}",
        "",
        f"- **When / where**: {time.strftime('%Y-%m-%d')}; {machine()}; {elapsed / 60:.0f} minutes in all.",
        f"- **Data**: {data}.",
        f"- **Protocol**: every recipe keeps its own model, loss and optimiser; data, splits, features "
        "(standardised per channel with training statistics), seeds "
        f"({', '.join(map(str, seeds))}) and the epoch budget ({epochs}) are shared. Mean ± standard deviation "
        "over seeds.",
        "- **Columns**: test Spearman of the checkpoint chosen on the validation split (the headline) and of "
        "the last epoch; relative L2 (validation-selected); training time per seed; median time to score one "
        "video from its features (batch of one, CPU). Best-on-test numbers are not reported.",
        "",
        "| recipe | parameters | Spearman (val-selected) | Spearman (last epoch) | rel. L2 | train s | ms / video |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in ranked:
        if r.note:
            lines.append(f"| {r.recipe} | - | - | - | - | - | - |  <!-- {r.note} -->")
            continue
        lines.append(
            f"| {r.recipe} | {r.parameters / 1e6:.2f} M | {_mean_sd(r.selected)} | {_mean_sd(r.last)} | "
            f"{_mean_sd(r.relative_l2, 2)} | {statistics.mean(r.train_seconds):.0f} | "
            f"{statistics.median(r.infer_ms):.1f} |"
        )
    skipped = [r for r in rows if r.note]
    if skipped:
        lines += ["", "Not run on this data: " + "; ".join(f"`{r.recipe}` ({r.note})" for r in skipped) + "."]
    return "\n".join(lines) + "\n"
