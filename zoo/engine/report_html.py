"""One self-contained HTML page about a finished run: what it scored, how it trained, where it failed.

``write_report(run_dir)`` reads the files a training run leaves (results.json, predictions.json,
metrics.csv, curves.png, recipe.yaml) and writes ``report.html``: no server, no network, every
image embedded as a ``data:`` URI, so the file can be mailed or opened anywhere. Every number on
the page is one the run recorded, or follows from its recorded predictions by the zoo's own
metrics (per-class Spearman, Fisher-z average, each video's error); nothing is re-evaluated.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import tempfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from registry import ConfigError, MissingFileError, UserError, write_atomic
from registry.provenance import check_match

from ..data.video import VIDEO_SUFFIXES
from .curves import plot_curves, png, pyplot
from .metrics import fisher_z_mean, format_metric, spearman, spearman_undefined

REQUIRED = ("results.json", "predictions.json")  # without these there is nothing to report
WORST = 5  # test videos shown with their attention timelines

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       max-width: 1050px; margin: 1.5em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.kv th { width: 15em; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figure { margin: 1em 0 1.6em 0; }
figcaption { font-size: 0.9em; color: #555; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.muted { color: #666; }
.warning { color: #8a4b00; }
"""
# The page may load nothing: images come inline, styles from the block above (a browser enforces it).
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


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
    run = check_run_dir(run_dir)
    if videos is not None and not Path(videos).is_dir():
        raise MissingFileError(f"video folder {str(videos)!r} (given for the thumbnails) does not exist")
    results = _read_json(run / "results.json")
    predictions = _read_json(run / "predictions.json")
    recipe_text = (run / "recipe.yaml").read_text(encoding="utf-8") if (run / "recipe.yaml").is_file() else None
    recipe = _read_recipe(run) if recipe_text is not None else None
    accepted = check_run_files(run, results, predictions, recipe, accept_mismatch)
    results = {**results, "accepted": [*(results.get("accepted") or []), *accepted]}
    test = list((predictions.get("splits") or {}).get("test") or [])
    title = f"Run report: {results.get('recipe', run.name)}"
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="muted">run folder <code>{_e(str(run))}</code>; everything below comes from its files.</p>',
        '<nav><a href="#run">the run</a><a href="#curves">training curves</a><a href="#scatter">predicted vs judged</a>'
        '<a href="#classes">per class</a><a href="#worst">worst videos</a><a href="#recipe">recipe</a></nav>',
        run_section(results, predictions),
        curves_section(run),
        scatter_section(test, results, predictions),
        class_section(test),
        worst_section(test, predictions, recipe, Path(videos) if videos else None),
        recipe_section(recipe_text),
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'  # or the browser asks the folder for favicon.ico
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
    return write_atomic(Path(out) if out else run / "report.html", page)


# -- sections -------------------------------------------------------------------------------------
def run_section(results: Mapping[str, Any], predictions: Mapping[str, Any]) -> str:
    """What the run is and its headline numbers, each selection's numbers, notes and warnings."""
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
    parts = ['<section id="run">', "<h2>The run</h2>", _kv_table(rows, "run-table")]
    selections = [results[k] for k in ("selected", "last", "best_on_test") if results.get(k)]
    if selections:
        head = ["selection", "epoch", "test Spearman", "test rel. L2", "test MSE", "val Spearman"]
        body = [
            [
                e.get("label", "-") + (" (headline)" if e.get("label") == headline else ""),
                e.get("epoch", "-"),
                format_metric(e, "test_spearman"),
                format_metric(e, "test_relative_l2", 2),
                format_metric(e, "test_mse"),
                format_metric(e, "val_spearman"),
            ]
            for e in selections
        ]
        parts += ["<h3>Selections</h3>", _table(head, body, "selections-table", numeric={1, 2, 3, 4, 5})]
    notes = [*(results.get("notes") or []), *([results["note"]] if results.get("note") else [])]
    parts += ["<h3>Notes</h3>", _list(notes, "notes")]
    if results.get("accepted"):
        parts += ["<h3>Accepted mismatches</h3>", _list(results["accepted"], "accepted", css="warning")]
    parts += ["<h3>Warnings</h3>", _list(results.get("warnings") or [], "warnings", css="warning")]
    return "\n".join([*parts, "</section>"])


def curves_section(run: Path) -> str:
    """curves.png as the run drew it, else the same curves from metrics.csv."""
    parts = ['<section id="curves">', "<h2>Training curves</h2>"]
    if (run / "curves.png").is_file():
        parts.append(_img((run / "curves.png").read_bytes(), "training loss and Spearman per epoch (curves.png)"))
    elif (run / "metrics.csv").is_file():
        parts.append('<p class="muted">curves.png is missing; drawn from metrics.csv.</p>')
        parts.append(_img(plot_curves(_read_metrics(run / "metrics.csv")), "training curves from metrics.csv"))
    else:
        parts.append("<p>The run folder has neither curves.png nor metrics.csv.</p>")
    return "\n".join([*parts, "</section>"])


def scatter_section(
    test: Sequence[Mapping[str, Any]], results: Mapping[str, Any], predictions: Mapping[str, Any]
) -> str:
    parts = ['<section id="scatter">', "<h2>Predicted vs judged (test split)</h2>"]
    if not test:
        parts.append("<p>predictions.json holds no test predictions.</p>")
    else:
        rho = format_metric(results, "spearman")
        parts.append(_img(plot_scatter(test, rho, predictions.get("label")), "predicted vs judged score, test split"))
        parts.append(
            f'<p class="muted">{len(test)} test videos as predictions.json records them; the dashed line is '
            "predicted = judged; Spearman is the run's headline test Spearman (results.json).</p>"
        )
    return "\n".join([*parts, "</section>"])


def class_section(test: Sequence[Mapping[str, Any]]) -> str:
    """Spearman per class of the recorded test predictions, and their Fisher-z average."""
    parts = ['<section id="classes">', "<h2>Per class (test split)</h2>"]
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for p in test:
        groups.setdefault(str(p.get("class") or "-"), []).append(p)
    if not groups:
        parts.append("<p>predictions.json holds no test predictions.</p>")
        return "\n".join([*parts, "</section>"])
    rows, rhos = [], []
    for label, items in groups.items():
        pred, true = [float(p["predicted"]) for p in items], [float(p["judged"]) for p in items]
        rho = spearman(pred, true)
        rhos.append(rho)
        cell = f"{rho:.3f}" if rho is not None else f"undefined ({spearman_undefined(pred, true)})"
        rows.append([label, len(items), cell])
    avg = fisher_z_mean(rhos)
    avg_cell = f"{avg:.3f}" if avg is not None else "undefined (a class has no Spearman)"
    rows.append(["Fisher-z average over classes", len(test), avg_cell])
    parts.append(_table(["class", "videos", "Spearman"], rows, "class-table", numeric={1, 2}))
    parts.append(
        '<p class="muted">Computed from the test predictions in predictions.json with zoo.engine.metrics '
        "(Spearman per class; Fisher-z: tanh of the mean atanh over classes).</p>"
    )
    return "\n".join([*parts, "</section>"])


def worst_section(
    test: Sequence[Mapping[str, Any]],
    predictions: Mapping[str, Any],
    recipe: Mapping[str, Any] | None,
    videos: Path | None,
) -> str:
    """The test videos scored furthest from their judges, each with where the model looked."""
    from .predict import VideoScore
    from .timeline import plot_attention

    parts = ['<section id="worst">', f"<h2>Worst-scored test videos (top {WORST} by |predicted − judged|)</h2>"]
    if not test:
        parts.append("<p>predictions.json holds no test predictions.</p>")
        return "\n".join([*parts, "</section>"])
    worst = sorted(test, key=lambda p: -abs(float(p["predicted"]) - float(p["judged"])))[:WORST]
    rows = [
        [i + 1, p["name"], p.get("class", "-"), f"{p['judged']:.2f}", f"{p['predicted']:.2f}", _error(p)]
        for i, p in enumerate(worst)
    ]
    head = ["rank", "video", "class", "judged", "predicted", "predicted − judged"]
    parts.append(_table(head, rows, "worst-table", numeric={0, 3, 4, 5}))
    folder, where = _video_folder(predictions, videos)
    parts.append(f'<p class="muted">{_e(where)}</p>')
    seconds = stream_seconds(predictions)
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
            caption = f"#{i + 1} {score.name} ({f'video: {source}' if source else 'no video found'})"
            image = _img(timeline, f"attention timeline of {score.name}")
            parts.append(f"<figure>{image}<figcaption>{_e(caption)}</figcaption></figure>")
    return "\n".join([*parts, "</section>"])


def _error(p: Mapping[str, Any]) -> str:
    return f"{float(p['predicted']) - float(p['judged']):+.2f}"


def recipe_section(text: str | None) -> str:
    body = f"<pre>{_e(text)}</pre>" if text is not None else "<p>recipe.yaml is missing from the run folder.</p>"
    return f'<section id="recipe">\n<h2>The resolved recipe (recipe.yaml)</h2>\n{body}\n</section>'


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


# -- files and HTML pieces ------------------------------------------------------------------------
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


def _e(value: object) -> str:
    """Text for between tags (quotes stay readable in the source; attributes use ``_attr``)."""
    return html.escape(str(value), quote=False)


def _attr(value: object) -> str:
    return html.escape(str(value), quote=True)


def _img(data: bytes, alt: str) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" alt="{_attr(alt)}">'


def _table(head: Sequence[str], rows: Sequence[Sequence[object]], id: str, numeric: Collection[int] = ()) -> str:
    """A table; the columns in ``numeric`` are right-aligned."""
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    cell = '<td class="num">{}</td>', "<td>{}</td>"
    body = "".join(
        "<tr>" + "".join(cell[i not in numeric].format(_e(c)) for i, c in enumerate(r)) + "</tr>" for r in rows
    )
    return f'<table id="{id}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _kv_table(rows: Sequence[tuple[str, object]], id: str) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table id="{id}" class="kv"><tbody>{body}</tbody></table>'


def _list(items: Sequence[str], id: str, css: str = "") -> str:
    if not items:
        return f'<p id="{id}" class="muted">none</p>'
    cls = f' class="{css}"' if css else ""
    return f'<ul id="{id}"{cls}>' + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"
