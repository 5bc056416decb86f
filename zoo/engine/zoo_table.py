"""The zoo's results table: every selected recipe trained under one protocol, written to Markdown.

One protocol for all: the same data and splits (the synthetic set by default, or a folder of
RG-format features), the same features, standardised per channel with training statistics
(``input_norm``), the same seeds and the same epoch budget; each recipe keeps its own model, loss
and optimiser. Reported per recipe: test Spearman of the validation-selected and the
last-epoch model (mean and spread over seeds), relative L2, parameters, training time and the
median time to score one video.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import platform
import signal
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from registry import ConfigError, MissingFileError, list_recipes, load_recipe, write_atomic
from registry.errors import did_you_mean
from registry.provenance import canonical, check_match
from registry.recipe import merge

from ..data.features import FeatureData
from ..kinds import DATASETS
from .distributed import pick_device, world_from_env
from .metrics import format_mean_sd, mean_sd
from .provenance import code_version, short
from .sections import check_recipe, with_seed
from .seeds import SeedRun, stacking_refused, train_seeds
from .stages import is_stages_recipe
from .trainer import TrainingInterrupted

if TYPE_CHECKING:
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
    made: str = ""  # the date its latest cell was trained

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Row:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


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
    """What every recipe of the table shares (``fingerprint``: the loaded data's, once loaded)."""

    data: dict[str, Any]
    extract: dict[str, Any] | None
    widths: dict[str, int]
    description: str
    fingerprint: str | None = None
    features: str | None = None  # what made the features, in words (``features_made_by``), once loaded

    def load(self) -> FeatureData:
        """The protocol's data with every input it has, loaded once for all the table's runs."""
        return DATASETS.build(self.data).load(self.widths, self.extract, progress=False)

    def identity(self, seeds: Sequence[int], epochs: int) -> dict[str, Any]:
        """What rows must share to stand in one table."""
        return {
            "data": self.fingerprint,
            "description": self.description,
            "features": self.features,
            "seeds": list(seeds),
            "epochs": epochs,
        }


def features_made_by(made_by: Mapping[str, Mapping[str, Any] | None]) -> str:
    """Each input's extractor in words, from the feature folders' manifests (``FeatureData.made_by``)."""
    parts = []
    for name, made in made_by.items():
        if not made:
            parts.append(f"`{name}`: unknown (its folder has no extract.json saying what made it)")
            continue
        spec = made.get("input") or {}
        backbone = dict(spec.get("backbone") or {})
        kind = backbone.pop("type", "?")
        if backbone.get("weights"):
            weights = f"weights {backbone['weights']}"
        elif backbone.get("pretrained"):
            weights = "pretrained weights"
        else:
            weights = f"randomly initialised, seed {made.get('seed')}"
        sampler = dict(spec.get("sampler") or {})
        how = ", ".join(f"{k} {v}" for k, v in sampler.items() if k != "type")
        crop = (spec.get("cropper") or {}).get("type")
        size = spec.get("size")
        parts.append(
            f"`{name}`: {kind} ({weights}) on {sampler.get('type', '?')} ({how})"
            + (f", {crop} athlete crops" if crop else "")
            + (f", {size[0]}x{size[1]}" if size else "")
            + f", extractor version {made.get('extractor_version')}"
        )
    return "; ".join(parts)


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
    if is_stages_recipe(recipe):  # several runs, each starting from the ones before: not one row's protocol
        return f"a recipe of stages ({', '.join(recipe['stages'])}): the table trains one run per seed"
    rc = merge({}, recipe)
    widths = proto.widths
    wanted = rc["model"].get("inputs", {})
    missing = [k for k in wanted if k not in widths]
    streams = rc["model"].get("streams", {})
    used = {(s or {}).get("input") or name for name, s in streams.items() if s}
    if missing and (not streams or any(k in used for k in missing)):  # without streams, every input is read
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
    table: str | Path | None = None,
    replace: bool = False,
    command: str = "",
) -> tuple[list[Row], Protocol]:
    """Train every recipe matching ``pattern`` (fnmatch on names) under one protocol; with ``table``, put
    their rows into that Markdown table (``open_table``: checked before any training; ``write_table``).

    The protocol's data is loaded once and shared by every run; its fingerprint (what made the
    features, a digest of their bytes, the annotations and splits) goes into every cell, with the
    resolved recipe's digest and the code's. A cell kept from an earlier run is reused only when
    all of these are unchanged; otherwise it is trained again, and the line says why.
    """
    names = [n for n in list_recipes() if fnmatch.fnmatchcase(n, pattern)]
    if not names:
        raise ConfigError(f"no recipe matches {pattern!r}.{did_you_mean(pattern, list_recipes())}")
    proto = protocol(data, protocol_recipe)
    shared = proto.load()
    proto.fingerprint = short(shared.fingerprint())
    proto.features = features_made_by(shared.made_by)
    record = open_table(table, proto.identity(seeds, epochs), replace) if table is not None else None
    tic = time.time()
    rows = [table_row(name, proto, shared, seeds, epochs, Path(out)) for name in names]
    if record is not None and table is not None:
        write_table(table, record, rows, command, time.time() - tic)
    return rows, proto


def table_row(name: str, proto: Protocol, shared: FeatureData, seeds: Sequence[int], epochs: int, out: Path) -> Row:
    """One recipe's row: each seed's cell kept from an earlier run where nothing that made it changed, the
    others trained (``train_seeds``, in this process on the shared data) and kept as they finish."""
    row = Row(name)
    base = adapt(load_recipe(name), proto, epochs, seeds[0] if seeds else 0, out)
    if isinstance(base, str):
        row.note = base
        return row
    cells: dict[int, dict[str, Any]] = {}
    made = {seed: cell_fingerprint(with_seed(base, seed), proto) for seed in seeds}
    why: dict[int, str] = {}
    for seed in seeds:
        cell, why[seed] = _cached_cell(out / name / f"seed{seed}", made[seed])
        if cell is not None:
            cells[seed] = cell
            say_cell(name, seed, cell, ", kept from an earlier run of the same recipe, data and code")

    def keep(run: SeedRun) -> None:  # as each seed ends: an interrupted table resumes from its cells
        cells[run.seed] = table_cell(run)
        write_atomic(
            Path(run.run_dir) / CELL_FILE,
            json.dumps({"fingerprint": made[run.seed], "cell": cells[run.seed]}, indent=1),
        )
        say_cell(name, run.seed, cells[run.seed], f" (trained again: {why[run.seed]})" if why[run.seed] else "")

    todo = [seed for seed in seeds if seed not in cells]
    parsed = check_recipe(base)
    unstacked = stacking_refused(parsed, shared, pick_device(parsed.run.device, world_from_env()), len(todo))
    if unstacked and len(todo) > 1:
        print(f"{name}: seeds {', '.join(map(str, todo))} one after another, not stacked: {unstacked}", flush=True)
    try:
        train_seeds(
            base,
            todo,
            out / name,
            name=name,
            progress=False,
            data=shared,
            measure=measure,
            on_done=keep,
            keep_going=False,
            stacked=unstacked is None,
        )
    except TrainingInterrupted as e:  # the run's own advice (--resume one run) is not how a table goes on
        raise TrainingInterrupted(
            f"{signal.Signals(e.signum).name}: the table stopped while training {name}; its finished cells are kept "
            f"under {out}: run the same command again to go on (the cell that was stopped trains again from its start)",
            e.signum,
        ) from None
    for seed in seeds:
        cell = cells[seed]
        row.parameters = cell["parameters"]
        row.made = max(row.made, cell.get("made", ""))
        for key in ("selected", "last", "relative_l2", "train_seconds", "infer_ms"):
            getattr(row, key).append(cell[key])
    return row


def cell_fingerprint(recipe: Mapping[str, Any], proto: Protocol) -> dict[str, Any]:
    """What made a (recipe, seed) cell: the resolved recipe of that seed, the protocol's data, the code."""
    return {"recipe": short(recipe), "data": proto.fingerprint, "code": code_version()}


def measure(trainer: Trainer) -> dict[str, Any]:
    """What the table adds to a seed's results: the median time to score one test video."""
    return {"infer_ms": inference_ms(trainer)}


def table_cell(run: SeedRun) -> dict[str, Any]:
    """A trained seed's numbers as the table keeps them (``table_cell.json``)."""
    result = run.results or {}
    return {
        "parameters": result["parameters"],
        "selected": result["spearman"],
        "last": result["last"]["test_spearman"],
        "relative_l2": result["relative_l2"],
        "train_seconds": result["train_seconds"],
        "infer_ms": run.extra["infer_ms"],
        "headline": result["headline"],
        "made": time.strftime("%Y-%m-%d"),
    }


def say_cell(name: str, seed: int, cell: Mapping[str, Any], how: str) -> None:
    shown = "undefined" if cell["selected"] is None else f"{cell['selected']:.3f}"
    print(f"{name} seed {seed}: Spearman {shown} ({cell['headline']}{how})", flush=True)


CELL_FILE = "table_cell.json"  # one finished (recipe, seed) of the table: an interrupted table resumes from these


def _cached_cell(folder: Path, made: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The result kept in ``folder`` by an earlier run of this very recipe on these data with this code, else
    (None, why not)."""
    try:
        kept = json.loads((folder / CELL_FILE).read_text())
    except OSError:
        return None, ""
    except ValueError:
        return None, f"{folder / CELL_FILE} is not readable JSON"
    if not isinstance(kept, dict) or "fingerprint" not in kept:
        return None, "the kept cell records nothing of what made it (an older table)"
    changed = [k for k in made if canonical(kept["fingerprint"].get(k)) != canonical(made[k])]
    if changed:
        what = {
            "recipe": "the resolved recipe",
            "data": "the data (features, annotations or splits)",
            "code": "the code",
        }
        return None, f"{' and '.join(what[k] for k in changed)} changed since the kept cell was made"
    return kept.get("cell"), ""


def _mean_sd(values: Sequence[float | None], digits: int = 3) -> str:
    return format_mean_sd(mean_sd(values).flat(), digits) if values else "-"


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


TABLE_FORMAT = "aqa-zoo-table/1"


def open_table(out: str | Path, identity: Mapping[str, Any], replace: bool = False) -> dict[str, Any]:
    """The record of the table at ``out`` that new rows may join (checked before anything is trained).

    The record (``.json`` beside the Markdown) says what made the table (the protocol: the data's
    fingerprint, seeds, epochs) and holds every row with the date it was made, and the notes. A
    table made under another protocol, or one without a record, is refused unless ``replace``
    (a new, empty table).
    """
    out = Path(out)
    record_path = out.with_suffix(".json")
    record: dict[str, Any] = {
        "format": TABLE_FORMAT,
        "protocol": dict(identity),
        "commands": [],
        "notes": [],
        "rows": {},
    }
    if replace or not out.exists():
        return record
    if not record_path.is_file():
        raise ConfigError(
            f"{out} exists but {record_path.name} beside it does not say what made its rows, so new rows cannot be "
            "placed beside them safely. Pass --replace to write a new table there (its rows are dropped), or write "
            "to another --out"
        )
    try:
        old = json.loads(record_path.read_text())
    except ValueError as e:
        raise ConfigError(f"{record_path} is not readable JSON ({e}); pass --replace to write a new table") from None
    check_match(
        old.get("protocol"),
        dict(identity),
        f"{out} holds rows made under another protocol than this run's",
        "Run every recipe again with --replace, or write to another --out (rows of two protocols would "
        "compare numbers that are not comparable)",
        labels=("in the table", "this run"),
    )
    record.update(
        notes=list(old.get("notes") or []), rows=dict(old.get("rows") or {}), commands=list(old.get("commands") or [])
    )
    return record


def write_table(out: str | Path, record: dict[str, Any], rows: Sequence[Row], command: str, elapsed: float) -> Path:
    """Put ``rows`` into ``record`` (replacing those recipes' rows, keeping the others) and write both files."""
    out = Path(out)
    record_path = out.with_suffix(".json")
    run = {
        "command": command,
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "minutes": round(elapsed / 60, 1),
    }
    record["commands"] = [*[c for c in record["commands"] if c["command"] != command], run]
    record["rows"].update({r.recipe: r.to_dict() for r in rows})
    write_atomic(record_path, json.dumps(record, indent=1) + "\n")
    return write_atomic(out, markdown(record, record_path.name))


def markdown(record: Mapping[str, Any], record_name: str = "RESULTS.json") -> str:
    """The table as written by tools/zoo_table.py, from its record."""
    rows = [Row.from_dict(r) for r in record["rows"].values()]
    proto = record["protocol"]

    def rank(r: Row) -> float:
        defined = [v for v in r.selected if v is not None]
        return -statistics.mean(defined) if defined and len(defined) == len(r.selected) else 1.0

    ranked = sorted(rows, key=rank)
    lines = [
        "# Results: the zoo's recipes under one protocol",
        "",
        f"Produced by these commands, not typed by hand (every number is in {record_name} beside this file, with "
        "what made it):",
        "",
        *[f"    {c['command']}    # {c['date']}, {c['minutes']:g} min; {c['machine']}" for c in record["commands"]],
        "",
        *[f"- **Note.** {note}" for note in record.get("notes") or []],
        f"- **Data**: {proto['description']} (fingerprint `{proto['data']}`: what made the features, their bytes, "
        "the annotations and splits; a row is kept only while it is unchanged).",
        f"- **Features made by**: {proto.get('features') or 'not recorded'}.",
        f"- **Protocol**: every recipe keeps its own model, loss and optimiser; data, splits, features "
        "(standardised per channel with training statistics), seeds "
        f"({', '.join(map(str, proto['seeds']))}) and the epoch budget ({proto['epochs']}) are shared. Mean ± "
        "standard deviation over seeds.",
        "- **Columns**: test Spearman of the checkpoint chosen on the validation split (the headline) and of "
        "the last epoch; relative L2 (validation-selected); training time per seed; median time to score one "
        "video from its features (batch of one, CPU); the date the row was trained. Best-on-test numbers are "
        "not reported.",
        "",
        "| recipe | parameters | Spearman (val-selected) | Spearman (last epoch) | rel. L2 | train s | ms / video "
        "| made |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in ranked:
        if r.note:
            lines.append(f"| {r.recipe} | - | - | - | - | - | - | - |  <!-- {r.note} -->")
            continue
        lines.append(
            f"| {r.recipe} | {r.parameters / 1e6:.2f} M | {_mean_sd(r.selected)} | {_mean_sd(r.last)} | "
            f"{_mean_sd(r.relative_l2, 2)} | {statistics.mean(r.train_seconds):.0f} | "
            f"{statistics.median(r.infer_ms):.1f} | {r.made or '-'} |"
        )
    skipped = [r for r in rows if r.note]
    if skipped:
        lines += ["", "Not run on this data: " + "; ".join(f"`{r.recipe}` ({r.note})" for r in skipped) + "."]
    return "\n".join(lines) + "\n"
