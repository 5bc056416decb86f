"""One self-contained HTML page about a finished run: what it scored, how it trained, where it failed.

``write_report(run_dir)`` reads the files a training run leaves (results.json, predictions.json,
metrics.csv, curves.png, recipe.yaml) and writes ``report.html``: no server, no network, every
image embedded as a ``data:`` URI, so the file can be mailed or opened anywhere. Every number on
the page is one the run recorded, or follows from its recorded predictions by the zoo's own
metrics (per-class Spearman, Fisher-z average, each video's error); nothing is re-evaluated.

Two steps: ``summarize_run`` reads and checks the run folder into a ``RunSummary`` (plain text and
PNG bytes, every number already formatted), and ``render_report`` fills ``templates/report.html``
with it. The parent folder of several seeds (``tools/train.py --seeds``: ``seed<S>/`` run folders and
a results.json listing them) gets a page of its own from the same template (``summarize_seeds``):
each seed's headline, the mean ± sd over seeds, the spread drawn, each seed's predicted vs judged.
The template is rendered with autoescaping on: every value is text, never markup, whatever a file
of the run holds (a video named ``<script>`` shows as that name).
"""

from __future__ import annotations

import base64
import csv
import functools
import json
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from registry import ConfigError, MissingFileError, UserError, write_atomic
from registry.provenance import check_match

from ..data.video import VIDEO_SUFFIXES
from .curves import plot_curves, png, pyplot
from .metrics import fisher_z_mean, format_mean_sd, format_metric, spearman, spearman_undefined

REQUIRED = ("results.json", "predictions.json")  # without these there is nothing to report
WORST = 5  # test videos shown with their attention timelines

TEMPLATE = "report.html"  # in templates/ beside this file (package data of zoo.engine)


def check_run_dir(run_dir: str | Path) -> Path:
    """The run folder, or an error naming what is missing (the folder, or the files a finished run writes)."""
    run = Path(run_dir)
    if not run.is_dir():
        raise MissingFileError(f"run folder {str(run)!r} does not exist (expected runs/<recipe>/<timestamp>/)")
    missing = [name for name in REQUIRED if not (run / name).is_file()]
    if missing:
        raise MissingFileError(
            f"run folder {str(run)!r} has no {' and no '.join(missing)}: a finished run of tools/train.py "
            f"writes {' and '.join(REQUIRED)} (an unfinished or failed run has nothing to report yet)"
        )
    return run


def check_run_files(
    run: Path,
    results: Mapping[str, Any],
    predictions: Mapping[str, Any],
    recipe: Mapping[str, Any] | None,
    accept: bool,
) -> list[str]:
    """The run's files must be of one run: results and predictions made by the same training (recipe, data,
    code), the recipe.yaml beside them the one trained, and the checkpoint file the predictions name holding
    the weights that made them. Returns the mismatches accepted (``accept``)."""
    from registry import load_checkpoint

    from .provenance import short

    made = predictions.get("provenance")
    if made is None:
        return ["predictions.json records no provenance (a run from before the zoo recorded it): unchecked"]
    lines = check_match(
        made,
        results.get("provenance"),
        f"{run}: results.json and predictions.json were not written by the same training",
        "Report a run folder as training left it",
        accept,
        labels=("in predictions.json", "in results.json"),
    )
    if recipe is not None:
        lines += check_match(
            made.get("recipe"),
            short(recipe),
            f"{run}: recipe.yaml is not the recipe the run trained",
            "Restore the run's recipe.yaml",
            accept,
            labels=("trained", "in recipe.yaml"),
        )
    checkpoint = predictions.get("checkpoint") or {}
    path = run / str(checkpoint.get("file", ""))
    if checkpoint.get("file") and path.is_file():
        held = (load_checkpoint(path).get("fingerprint") or {}).get("weights")
        lines += check_match(
            checkpoint.get("weights"),
            held,
            f"{path.name} does not hold the weights that made predictions.json",
            f"Report a run folder as training left it (was {path.name} replaced?)",
            accept,
            labels=("made the predictions", f"in {path.name}"),
        )
    return lines


def write_report(
    run_dir: str | Path, out: str | Path | None = None, videos: str | Path | None = None, accept_mismatch: bool = False
) -> Path:
    """Write the run's report (default ``<run_dir>/report.html``); returns its path.

    ``videos``: a folder with ``<name>.mp4`` (or another video suffix) for the thumbnails of the worst
    videos, where the recipe's data set does not say where its videos are (feature data sets). The
    run's files are checked to be of one run (``check_run_files``); ``accept_mismatch`` reports them
    anyway and the page says what was accepted.
    """
    if is_seeds_folder(Path(run_dir)):
        page = render_report(summarize_seeds(run_dir, accept_mismatch))
    else:
        page = render_report(summarize_run(run_dir, videos, accept_mismatch))
    return write_atomic(Path(out) if out else Path(run_dir) / "report.html", page)


# -- the summary: everything the page shows, as text and PNG bytes --------------------------------
@dataclass(frozen=True)
class Figure:
    """A PNG shown inside the page; ``alt`` says what it shows."""

    png: bytes
    alt: str

    @property
    def src(self) -> str:
        """The image as a ``data:`` URI (the page's Content-Security-Policy allows no other source)."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Selection:
    """One row of the selections table: a checkpoint the run chose by one rule, and its numbers."""

    label: str
    epoch: str
    test_spearman: str
    test_relative_l2: str
    test_mse: str
    val_spearman: str


@dataclass(frozen=True)
class ClassRow:
    """One row of the per-class table: a class of the test split, or the Fisher-z average over them."""

    label: str
    videos: int
    spearman: str


@dataclass(frozen=True)
class WorstVideo:
    """A test video scored far from its judges, with where the model looked."""

    rank: int
    name: str
    label: str  # its class
    judged: str
    predicted: str
    error: str  # predicted − judged
    timeline: Figure
    caption: str


@dataclass(frozen=True)
class RunSummary:
    """What the report shows of one run, read and checked from its folder by ``summarize_run``."""

    title: str
    run_dir: str
    run_table: list[tuple[str, str]]
    selections: list[Selection]
    notes: list[str]
    accepted: list[str]  # mismatches between the run's files that the report was told to accept
    warnings: list[str]
    curves: Figure | None  # None: the folder has neither curves.png nor metrics.csv
    curves_redrawn: bool  # curves.png is missing and ``curves`` was drawn from metrics.csv
    test_videos: int
    scatter: Figure | None  # None: no test predictions
    classes: list[ClassRow]
    class_average: ClassRow | None  # the Fisher-z average row; None without test predictions
    worst: list[WorstVideo]
    thumbnails: str  # where the worst videos' frames come from, or why there are none
    recipe: str | None  # recipe.yaml's text; None when the folder has none


def summarize_run(run_dir: str | Path, videos: str | Path | None = None, accept_mismatch: bool = False) -> RunSummary:
    """Read a finished run's folder into what its report shows (see ``write_report`` for the arguments)."""
    run = check_run_dir(run_dir)
    if videos is not None and not Path(videos).is_dir():
        raise MissingFileError(f"video folder {str(videos)!r} (given for the thumbnails) does not exist")
    results = _read_json(run / "results.json")
    predictions = _read_json(run / "predictions.json")
    recipe_text = (run / "recipe.yaml").read_text(encoding="utf-8") if (run / "recipe.yaml").is_file() else None
    recipe = _read_recipe(run) if recipe_text is not None else None
    accepted = check_run_files(run, results, predictions, recipe, accept_mismatch)
    test = list((predictions.get("splits") or {}).get("test") or [])
    curves, redrawn = curves_figure(run)
    scatter = None
    if test:
        rho = format_metric(results, "spearman")
        scatter = Figure(plot_scatter(test, rho, predictions.get("label")), "predicted vs judged score, test split")
    classes, average = class_rows(test)
    worst, thumbnails = worst_videos(test, predictions, Path(videos) if videos else None)
    notes = [*(results.get("notes") or []), *([results["note"]] if results.get("note") else [])]
    return RunSummary(
        title=f"Run report: {results.get('recipe', run.name)}",
        run_dir=str(run),
        run_table=run_table(results, predictions),
        selections=selections(results),
        notes=[str(n) for n in notes],
        accepted=[str(a) for a in [*(results.get("accepted") or []), *accepted]],
        warnings=[str(w) for w in results.get("warnings") or []],
        curves=curves,
        curves_redrawn=redrawn,
        test_videos=len(test),
        scatter=scatter,
        classes=classes,
        class_average=average,
        worst=worst,
        thumbnails=thumbnails,
        recipe=recipe_text,
    )


def run_table(results: Mapping[str, Any], predictions: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the run is and its headline numbers, as (name, value) rows."""
    headline = results.get("headline")
    entry = next(
        (results.get(k) for k in ("selected", "last") if (results.get(k) or {}).get("label") == headline), None
    )
    epoch = f" (epoch {entry['epoch']})" if entry and entry.get("epoch") is not None else ""
    videos = " / ".join(str(results.get(f"{s}_videos", "-")) for s in ("train", "val", "test"))
    scored_by = predictions.get("label") or "-"
    if predictions.get("epoch") is not None:
        scored_by += f" (epoch {predictions['epoch']})"
    rows = [
        ("recipe", results.get("recipe", "-")),
        ("headline", f"{headline or '-'}{epoch}"),
        ("test Spearman (headline)", format_metric(results, "spearman")),
        ("test relative L2 (headline)", format_metric(results, "relative_l2", 2)),
        ("epochs trained", results.get("epochs", "-")),
        ("parameters", f"{results['parameters']:,}" if isinstance(results.get("parameters"), int) else "-"),
        ("training time", f"{results['train_seconds']} s" if results.get("train_seconds") is not None else "-"),
        ("videos (train / val / test)", videos),
        ("predictions.json scored by", scored_by),
    ]
    return [(name, str(value)) for name, value in rows]


def selections(results: Mapping[str, Any]) -> list[Selection]:
    """Each checkpoint the run selected (by validation, the last epoch, best on test) with its numbers, then
    the headline with each input of ``eval.drop`` missing (``results["missing"]``), beside the complete one."""
    headline = results.get("headline")
    missing = [
        Selection(
            label=f"headline without {', '.join(e.get('dropped') or [])}",
            epoch="-",
            test_spearman=f"not scored: {e['refused']}" if "refused" in e else format_metric(e, "test_spearman"),
            test_relative_l2="-" if "refused" in e else format_metric(e, "test_relative_l2", 2),
            test_mse="-" if "refused" in e else format_metric(e, "test_mse"),
            val_spearman="-",
        )
        for e in results.get("missing") or []
    ]
    return [
        Selection(
            label=e.get("label", "-") + (" (headline)" if e.get("label") == headline else ""),
            epoch=str(e.get("epoch", "-")),
            test_spearman=format_metric(e, "test_spearman"),
            test_relative_l2=format_metric(e, "test_relative_l2", 2),
            test_mse=format_metric(e, "test_mse"),
            val_spearman=format_metric(e, "val_spearman"),
        )
        for e in (results[k] for k in ("selected", "last", "best_on_test") if results.get(k))
    ] + missing


def curves_figure(run: Path) -> tuple[Figure | None, bool]:
    """curves.png as the run drew it, else the same curves from metrics.csv (then True), else None."""
    if (run / "curves.png").is_file():
        return Figure((run / "curves.png").read_bytes(), "training loss and Spearman per epoch (curves.png)"), False
    if (run / "metrics.csv").is_file():
        return Figure(plot_curves(_read_metrics(run / "metrics.csv")), "training curves from metrics.csv"), True
    return None, False


def class_rows(test: Sequence[Mapping[str, Any]]) -> tuple[list[ClassRow], ClassRow | None]:
    """Spearman per class of the recorded test predictions, and their Fisher-z average."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for p in test:
        groups.setdefault(str(p.get("class") or "-"), []).append(p)
    if not groups:
        return [], None
    rows, rhos = [], []
    for label, items in groups.items():
        pred, true = [float(p["predicted"]) for p in items], [float(p["judged"]) for p in items]
        rho = spearman(pred, true)
        rhos.append(rho)
        cell = f"{rho:.3f}" if rho is not None else f"undefined ({spearman_undefined(pred, true)})"
        rows.append(ClassRow(label, len(items), cell))
    avg = fisher_z_mean(rhos)
    avg_cell = f"{avg:.3f}" if avg is not None else "undefined (a class has no Spearman)"
    return rows, ClassRow("Fisher-z average over classes", len(test), avg_cell)


def worst_videos(
    test: Sequence[Mapping[str, Any]], predictions: Mapping[str, Any], videos: Path | None
) -> tuple[list[WorstVideo], str]:
    """The test videos scored furthest from their judges, each with where the model looked, and a sentence
    saying where their thumbnails come from ("" without test predictions)."""
    from .predict import VideoScore
    from .timeline import plot_attention

    if not test:
        return [], ""
    worst = sorted(test, key=lambda p: -abs(float(p["predicted"]) - float(p["judged"])))[:WORST]
    folder, where = _video_folder(predictions, videos)
    seconds = stream_seconds(predictions)
    shown = []
    with tempfile.TemporaryDirectory(prefix="aqa-report-") as tmp:
        for i, p in enumerate(worst):
            source = _find_video(folder, p["name"]) if folder else None
            weights = dict(p.get("weights") or {})
            score = VideoScore(
                name=p["name"],
                score=float(p["predicted"]),
                weights=weights,
                seconds_per_instance={s: seconds.get(s) for s in weights},
                source=str(source) if source else "",
                judged=float(p["judged"]),
            )
            timeline = plot_attention(score, Path(tmp) / f"{i}.png").read_bytes()
            shown.append(
                WorstVideo(
                    rank=i + 1,
                    name=str(p["name"]),
                    label=str(p.get("class", "-")),
                    judged=f"{p['judged']:.2f}",
                    predicted=f"{p['predicted']:.2f}",
                    error=f"{float(p['predicted']) - float(p['judged']):+.2f}",
                    timeline=Figure(timeline, f"attention timeline of {score.name}"),
                    caption=f"#{i + 1} {score.name} ({f'video: {source}' if source else 'no video found'})",
                )
            )
    return shown, where


# -- several seeds: the parent folder of tools/train.py --seeds ------------------------------------
SEEDS_FORMAT = "aqa-seeds/1"  # zoo.engine.seeds writes it (not imported: the report needs no trainer)


@dataclass(frozen=True)
class SeedRow:
    """One seed of the seeds table: its headline and test Spearman (headline, last epoch), or its error."""

    seed: str
    status: str  # finished | failed
    headline: str  # "validation-selected (epoch 7)", or the error of a failed seed
    spearman: str
    last_spearman: str
    folder: str  # its run folder, relative to the parent
    report: str | None  # its own report page (relative link), where tools/report.py wrote one


@dataclass(frozen=True)
class SeedFigure:
    """A seed's predicted vs judged test scores, as its headline checkpoint scored them."""

    seed: str
    figure: Figure
    caption: str


@dataclass(frozen=True)
class SeedsSummary:
    """What the report shows of several seeds of one recipe, read and checked by ``summarize_seeds``."""

    title: str
    run_dir: str
    run_table: list[tuple[str, str]]
    seeds: list[SeedRow]
    mean_sd: tuple[str, str]  # test Spearman over seeds: headline, last epoch
    spread: Figure | None  # None: no seed has a defined Spearman
    headlines: list[SeedFigure]
    notes: list[str]
    accepted: list[str]


def is_seeds_folder(folder: Path) -> bool:
    """Whether ``folder`` is the parent of several seeds: ``seed<S>/`` folders (or a results.json saying so)."""
    if not folder.is_dir():
        return False
    if any(p.is_dir() and p.name.removeprefix("seed").isdigit() for p in folder.glob("seed*")):
        return True
    try:
        return json.loads((folder / "results.json").read_text(encoding="utf-8")).get("format") == SEEDS_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_seeds_results(parent: Path) -> dict[str, Any]:
    """The parent's results.json, or an error saying why there is none to report (yet)."""
    path = parent / "results.json"
    if not path.is_file():
        raise MissingFileError(
            f"{parent} holds seed folders but no results.json: tools/train.py --seeds writes it when every seed has "
            "ended (still running, or stopped?); report one seed with tools/report.py <parent>/seed<S>"
        )
    summary = _read_json(path)
    if summary.get("format") != SEEDS_FORMAT or not isinstance(summary.get("seeds"), list):
        raise ConfigError(
            f"{path} is not the results of several seeds (format {summary.get('format')!r}, expected "
            f"{SEEDS_FORMAT!r} with a list of seeds)"
        )
    return summary


def summarize_seeds(parent_dir: str | Path, accept_mismatch: bool = False) -> SeedsSummary:
    """Read and check a seeds parent folder into what its page shows.

    Each finished seed's folder is checked as a single run's (``check_run_files``) and against what the
    parent recorded of it (its provenance and headline numbers): a folder replaced since is refused
    unless ``accept_mismatch``, and the page then lists what was accepted.
    """
    parent = Path(parent_dir)
    summary = read_seeds_results(parent)
    rows, figures, accepted = [], [], []
    for entry in summary["seeds"]:
        folder = parent / Path(str(entry.get("run_dir") or f"seed{entry.get('seed')}")).name
        if entry.get("status") != "finished":
            rows.append(_failed_row(entry, folder))
            continue
        results, predictions, lines = _read_seed(parent, folder, entry, accept_mismatch)
        accepted += lines
        rows.append(_seed_row(entry, folder))
        test = list((predictions.get("splits") or {}).get("test") or [])
        if test:
            figure = Figure(plot_scatter(test, format_metric(results, "spearman"), predictions.get("label")), "")
            alt = f"seed {entry['seed']}: predicted vs judged score, test split"
            caption = f"seed {entry['seed']} ({folder.name}): {predictions.get('label') or 'headline'} checkpoint"
            figures.append(SeedFigure(str(entry["seed"]), Figure(figure.png, alt), caption))
    agg = summary.get("aggregate") or {}
    finished = [e for e in summary["seeds"] if e.get("status") == "finished"]
    kinds = sorted({str(e.get("headline")) for e in finished if e.get("headline")})
    notes = [f"headline = {', '.join(kinds) or '-'} (per seed); test-set selection is never used."]
    notes += [f"seed {e['seed']} failed: {e.get('error')}" for e in summary["seeds"] if e.get("status") != "finished"]
    return SeedsSummary(
        title=f"Seeds report: {summary.get('recipe', parent.name)} ({len(summary['seeds'])} seeds)",
        run_dir=str(parent),
        run_table=seeds_run_table(summary),
        seeds=rows,
        mean_sd=(format_mean_sd(agg.get("spearman") or {}), format_mean_sd(agg.get("last_spearman") or {})),
        spread=spread_figure(summary["seeds"]),
        headlines=figures,
        notes=notes,
        accepted=[str(a) for a in accepted],
    )


def _read_seed(
    parent: Path, folder: Path, entry: Mapping[str, Any], accept: bool
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """A finished seed's results and predictions, checked as one run and against the parent's record of it."""
    run = check_run_dir(folder)
    results, predictions = _read_json(run / "results.json"), _read_json(run / "predictions.json")
    recipe = _read_recipe(run) if (run / "recipe.yaml").is_file() else None
    lines = check_run_files(run, results, predictions, recipe, accept)
    recorded = entry.get("results") or {}
    keys = ("provenance", "headline", "spearman", "last")
    lines += check_match(
        {k: recorded.get(k) for k in keys},
        {k: results.get(k) for k in keys},
        f"{parent}/results.json records another run of seed {entry.get('seed')} than {run.name}/ holds",
        f"Report the seeds folder as tools/train.py left it (was {run.name}/ replaced?)",
        accept,
        labels=("in the parent's results.json", f"in {run.name}/results.json"),
    )
    return results, predictions, lines


def _seed_row(entry: Mapping[str, Any], folder: Path) -> SeedRow:
    epoch = f" (epoch {entry['epoch']})" if entry.get("epoch") is not None else ""
    return SeedRow(
        seed=str(entry.get("seed")),
        status="finished",
        headline=f"{entry.get('headline') or '-'}{epoch}",
        spearman=format_metric(entry, "spearman"),
        last_spearman=format_metric(entry, "last_spearman"),
        folder=folder.name,
        report=f"{folder.name}/report.html" if (folder / "report.html").is_file() else None,
    )


def _failed_row(entry: Mapping[str, Any], folder: Path) -> SeedRow:
    return SeedRow(
        seed=str(entry.get("seed")),
        status="failed",
        headline=f"failed: {entry.get('error') or 'no error recorded'}",
        spearman="-",
        last_spearman="-",
        folder=folder.name,
        report=None,
    )


def seeds_run_table(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the seeds are, as (name, value) rows."""
    seeds = summary["seeds"]
    failed = [str(e.get("seed")) for e in seeds if e.get("status") != "finished"]
    rows = [
        ("recipe", summary.get("recipe", "-")),
        ("seeds", ", ".join(str(e.get("seed")) for e in seeds)),
        (
            "finished",
            f"{len(seeds) - len(failed)} of {len(seeds)}" + (f" (failed: {', '.join(failed)})" if failed else ""),
        ),
        ("trained at once", f"{summary.get('workers', '-')} (torch threads each: {summary.get('threads', '-')})"),
    ]
    return [(name, str(value)) for name, value in rows]


def spread_figure(seeds: Sequence[Mapping[str, Any]]) -> Figure | None:
    """Each seed's test Spearman (headline and last epoch) as a dot, and the mean ± sd where every seed has one
    (as the table: a mean that left seeds out would describe other seeds than were asked for)."""
    columns = (("spearman", "headline"), ("last_spearman", "last epoch"))
    points = {label: [(e["seed"], e[key]) for e in seeds if e.get(key) is not None] for key, label in columns}
    if not any(points.values()):
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    for x, (_, label) in enumerate(columns):
        values = [v for _, v in points[label]]
        ax.scatter([x] * len(values), values, s=28, alpha=0.8, zorder=3)
        for seed, v in points[label]:
            ax.annotate(f"seed {seed}", (x, v), xytext=(6, 0), textcoords="offset points", fontsize=7, va="center")
        if len(values) >= 2 and len(values) == len(seeds):  # the table's mean ± sd: statistics.mean / stdev
            m, sd = statistics.mean(values), statistics.stdev(values)
            ax.errorbar([x - 0.15], [m], yerr=[sd], fmt="_", color="0.2", capsize=5, markersize=14)
    ax.set_xticks([0, 1], [label for _, label in columns])
    ax.set_xlim(-0.5, 1.7)
    ax.set_ylabel("test Spearman's rho")
    ax.set_title(f"{len(seeds)} seeds: each dot one seed; bar: mean ± sd over seeds", fontsize=9)
    return Figure(png(fig), "test Spearman per seed (headline and last epoch), with mean ± sd")


# -- the page -------------------------------------------------------------------------------------
def render_report(summary: RunSummary | SeedsSummary) -> str:
    """The page's HTML: ``templates/report.html`` filled with the summary, every value escaped as text."""
    try:
        template = _templates().get_template(TEMPLATE)
    except jinja2.TemplateNotFound:
        path = Path(__file__).with_name("templates") / TEMPLATE
        raise MissingFileError(
            f"{path} does not exist: the report's template is package data of zoo.engine "
            "(reinstall the zoo: pip install -e .)"
        ) from None
    return template.render(summary=summary, seeds=isinstance(summary, SeedsSummary), worst_limit=WORST)


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        # A run's files are data: a video named "<script>..." must show as that name, never run as markup.
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a field the template misspells is an error, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# -- what the run's recipe says -------------------------------------------------------------------
def stream_seconds(predictions: Mapping[str, Any]) -> dict[str, float | None]:
    """Seconds per instance of each stream, as training recorded them in predictions.json (``streams``)."""
    streams = predictions.get("streams") or {}
    return {s: float(v) if (v := (info or {}).get("seconds_per_instance")) else None for s, info in streams.items()}


def _video_folder(predictions: Mapping[str, Any], videos: Path | None) -> tuple[Path | None, str]:
    """Where the run's videos are (given, or as training recorded it), and a sentence saying so."""
    if videos is not None:
        return videos, f"Thumbnails from the videos in {videos} (given)."
    if "video_folder" not in predictions:
        return None, "predictions.json does not record where the videos were (an older run): no thumbnails."
    recorded = predictions["video_folder"]
    if recorded is None:
        return None, (
            "The run's data set does not say where its videos are: no thumbnails "
            "(tools/report.py --videos DIR adds them)."
        )
    folder = Path(recorded)
    if not folder.is_dir():
        here = "" if folder.is_absolute() else f" (a path relative to {Path.cwd()}, where this report was made)"
        return None, f"The run's videos were in {folder}{here}, which is not there now: no thumbnails."
    return folder, f"Thumbnails from the run's videos in {folder}."


def _find_video(folder: Path, name: str) -> Path | None:
    return next((p for s in VIDEO_SUFFIXES if (p := folder / f"{name}{s}").is_file()), None)


# -- figures --------------------------------------------------------------------------------------
def plot_scatter(test: Sequence[Mapping[str, Any]], rho: str, label: str | None) -> bytes:
    """Predicted against judged score per test video, coloured by class, with the identity line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    classes = sorted({str(p.get("class") or "-") for p in test})
    for c in classes:
        mine = [p for p in test if str(p.get("class") or "-") == c]
        ax.scatter([p["judged"] for p in mine], [p["predicted"] for p in mine], s=22, alpha=0.8, label=c)
    values = [float(p[k]) for p in test for k in ("judged", "predicted")]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.05 or 1.0
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], ls="--", color="0.4", lw=1, label="predicted = judged")
    ax.plot([], [], ls="none", label=f"Spearman {rho}")  # the headline number, as the run recorded it
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("judged score")
    ax.set_ylabel("predicted score")
    ax.set_title(f"test split, {len(test)} videos ({label or 'headline'} checkpoint)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return png(fig)


# -- files ----------------------------------------------------------------------------------------
def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ConfigError(f"{path} is not valid JSON ({e}); was the run interrupted while writing it?") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} should hold a JSON object, got {type(data).__name__}")
    return data


def _read_recipe(run: Path) -> dict[str, Any] | None:
    from registry import load_recipe

    try:
        return load_recipe(run / "recipe.yaml")
    except UserError:
        return None  # the page still shows the file's text; only the thumbnails and seconds need it parsed


def _read_metrics(path: Path) -> list[dict[str, float | None]]:
    """metrics.csv's numeric columns per epoch; an empty cell (an epoch not evaluated) is None, any other
    text is an error naming the row and column."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            values = {}
            for key, text in row.items():
                if not key or key.endswith("_undefined"):
                    continue
                try:
                    values[key] = float(text) if text not in (None, "") else None
                except ValueError:
                    raise ConfigError(f"{path}:{line}: column {key!r} holds {text!r}, not a number") from None
            rows.append(values)
    return [r for r in rows if r.get("epoch") is not None]
