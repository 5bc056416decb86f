"""tools/report.py: one self-contained HTML page per run, checked as HTML and in a real (headless) browser."""

from __future__ import annotations

import base64
import html
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import torch
from markupsafe import escape

import zoo
from aqa_tools.report import main as report_tool
from registry import dump_recipe, load_recipe, save_checkpoint
from registry.provenance import MismatchError
from tests.engine.helpers import make_feature_set, tiny_overrides
from zoo.data.synthetic import make_synthetic
from zoo.engine.metrics import format_metric
from zoo.engine.report_html import WORST, write_report
from zoo.engine.sections import data_section

SECTIONS = ("run", "curves", "scatter", "classes", "worst", "recipe")
CLASSES = ("Ball", "Hoop")
# How such features would be made from video (they exist already, made by no extraction): the samplers give the
# run its seconds per instance.
SECONDS = (
    "+extract={inputs: {dynamic: {sampler: {type: clips, length: 8, fps: 10.0}, backbone: {type: 'ptv:x3d_xs'}}, "
    "static: {sampler: {type: frames, fps: 1.0}, backbone: {type: 'timm:resnet18'}}}}"
)
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny run with two classes (a few seconds of training)."""
    root = make_feature_set(tmp_path_factory.mktemp("features"), n_train=40, n_test=16, classes=CLASSES)
    out = tmp_path_factory.mktemp("runs")
    overrides = [*tiny_overrides(root, out, epochs=3), f"data.classes=[{', '.join(CLASSES)}]", SECONDS]
    return Path(zoo.engine.train("actionnet/base", overrides, progress=False)["run_dir"])


@pytest.fixture(scope="module")
def videos(run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A video per test video's name (one synthetic routine copied): the feature set has no videos of its own."""
    render = make_synthetic(tmp_path_factory.mktemp("render"), videos=1, size=64, duration=8.0, fps=10.0, workers=1)
    folder = tmp_path_factory.mktemp("videos")
    for p in json.loads((run / "predictions.json").read_text())["splits"]["test"]:
        shutil.copy(render / "videos" / "Synth_001.mp4", folder / f"{p['name']}.mp4")
    return folder


@pytest.fixture(scope="module")
def report(run: Path, videos: Path) -> Path:
    return write_report(run, videos=videos)


class Page(HTMLParser):
    """What a test asks of the page: ids, table rows per table, image sources, links and the <pre> text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.rows: dict[str, int] = {}
        self.images: list[str] = []
        self.links: list[str] = []
        self.pre = ""
        self._table: str | None = None
        self._in_pre = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "table":
            self._table = a.get("id") or ""
            self.rows[self._table] = 0
        if tag == "tr" and self._table is not None:
            self.rows[self._table] += 1
        if tag == "img":
            self.images.append(a.get("src") or "")
        for key in ("href", "src"):
            if tag != "img" and a.get(key):
                self.links.append(a[key] or "")
        self._in_pre = self._in_pre or tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data: str) -> None:
        if self._in_pre:
            self.pre += data


def test_the_page_holds_every_section(run: Path, videos: Path, report: Path) -> None:
    assert report == run / "report.html"
    text = report.read_text(encoding="utf-8")
    page = Page(text)
    assert set(SECTIONS) <= page.ids
    results = json.loads((run / "results.json").read_text())
    test = json.loads((run / "predictions.json").read_text())["splits"]["test"]
    # The numbers are the run's own.
    assert f"<td>{html.escape(format_metric(results, 'spearman'), quote=False)}</td>" in text
    assert f"<td>{format_metric(results, 'relative_l2', 2)}</td>" in text
    assert f"{results['parameters']:,}" in text
    # Tables: the run, its selections, one row per class plus the Fisher-z average, the worst videos.
    assert page.rows["class-table"] == 1 + len(CLASSES) + 1
    assert page.rows["worst-table"] == 1 + WORST
    worst = max(test, key=lambda p: abs(p["predicted"] - p["judged"]))
    assert text.index(worst["name"]) > text.index('id="worst-table"')
    # Images: curves, scatter and one timeline per worst video, every one a PNG inside the page.
    assert len(page.images) == 2 + WORST
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(link.startswith(("#", "data:")) for link in page.links), page.links  # nothing to fetch
    assert page.pre == (run / "recipe.yaml").read_text(encoding="utf-8")  # escaped, and read back whole
    assert f"Thumbnails from the videos in {videos}" in text
    assert f"(video: {videos / worst['name']}.mp4)" in text


def test_undefined_numbers_say_why(run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("*.pt", "report.html"))
    results = json.loads((copy / "results.json").read_text())
    results.update(spearman=None, spearman_undefined="every prediction is the same (12.5)")
    (copy / "results.json").write_text(json.dumps(results))
    predictions = json.loads((copy / "predictions.json").read_text())
    for p in predictions["splits"]["test"][:2]:
        p["class"] = "Tiny"  # a class of two videos has no Spearman
    (copy / "predictions.json").write_text(json.dumps(predictions))
    (copy / "curves.png").unlink()  # then the curves are drawn from metrics.csv
    text = write_report(copy, tmp_path / "page.html").read_text(encoding="utf-8")
    assert "undefined (every prediction is the same (12.5))" in text
    assert "undefined (needs at least 3 videos, the split has 2)" in text
    assert "undefined (a class has no Spearman)" in text
    assert "drawn from metrics.csv" in text
    assert "does not say where its videos are" in text  # a feature data set and no --videos: no thumbnails
    assert len(Page(text).images) == 2 + WORST


def test_a_synthetic_runs_videos_are_found_where_training_recorded_them(run: Path, tmp_path: Path) -> None:
    """The demo's case: the data section knows the render folder, and training records it in predictions.json."""
    data = {"type": "synthetic", "root": str(tmp_path / "synthetic"), "videos": 2, "size": 64, "duration": 8.0}
    dataset = data_section({"data": data})
    render = make_synthetic(dataset.render_dir(), workers=1, **dataset.render_params())
    copy = tmp_path / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("*.pt", "report.html"))
    predictions = json.loads((copy / "predictions.json").read_text())
    assert predictions["video_folder"] is None  # a feature data set does not know its videos
    predictions["video_folder"] = str(dataset.video_folder())
    for i, p in enumerate(predictions["splits"]["test"][:2]):
        p.update(name=f"Synth_{i + 1:03d}", predicted=p["judged"] + 20 - i)  # the two worst-scored videos
    (copy / "predictions.json").write_text(json.dumps(predictions))
    text = write_report(copy).read_text(encoding="utf-8")
    # As the page writes it: autoescaping (markupsafe) writes the apostrophe as &#39;.
    assert escape(f"Thumbnails from the run's videos in {render / 'videos'}") in text
    assert f"Synth_001 (video: {render / 'videos' / 'Synth_001.mp4'})" in text
    assert f"Synth_002 (video: {render / 'videos' / 'Synth_002.mp4'})" in text
    assert text.count("no video found") == WORST - 2


def test_a_run_folder_whose_files_are_not_of_one_run_is_refused(run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("report.html"))
    recipe = load_recipe(copy / "recipe.yaml")
    recipe["model"]["head"]["dropout"] = 0.3
    (copy / "recipe.yaml").write_text(dump_recipe(recipe))  # a recipe.yaml the run did not train
    with pytest.raises(MismatchError, match="recipe.yaml is not the recipe the run trained"):
        write_report(copy)
    text = write_report(copy, accept_mismatch=True).read_text(encoding="utf-8")
    assert "Accepted mismatches" in text and "recipe.yaml is not the recipe the run trained" in text
    # The checkpoint the predictions name must hold the weights that made them.
    other = tmp_path / "other"
    shutil.copytree(run, other, ignore=shutil.ignore_patterns("report.html"))
    predictions = json.loads((other / "predictions.json").read_text())
    stale = other / predictions["checkpoint"]["file"]
    ckpt = torch.load(stale, weights_only=True)
    ckpt["model"] = {k: v + 1 if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    save_checkpoint(stale, {k: v for k, v in ckpt.items() if k not in ("format", "fingerprint")})
    with pytest.raises(MismatchError, match=f"{stale.name} does not hold the weights that made predictions.json"):
        write_report(other)


def test_the_tool_refuses_what_is_not_a_finished_run(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report_tool([str(tmp_path / "nowhere")]) == 2
    assert f"error: run folder '{tmp_path / 'nowhere'}' does not exist" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert report_tool([str(empty)]) == 2
    assert "has no results.json and no predictions.json" in capsys.readouterr().err
    (empty / "results.json").write_text("{}")
    assert report_tool([str(empty)]) == 2
    err = capsys.readouterr().err
    assert "has no predictions.json" in err and "no results.json" not in err
    (empty / "predictions.json").write_text("{not json")
    assert report_tool([str(empty)]) == 2
    assert "predictions.json is not valid JSON" in capsys.readouterr().err
    assert report_tool([str(run), "--videos", str(tmp_path / "novideos")]) == 2
    assert (
        f"video folder '{tmp_path / 'novideos'}' (given for the thumbnails) does not exist" in capsys.readouterr().err
    )
    out = tmp_path / "elsewhere" / "page.html"
    assert report_tool([str(run), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out and out.stat().st_size > 10_000


@pytest.fixture(scope="session")  # above the module's fixtures: a skip comes before any training
def browser() -> tuple[Any, str]:
    """Playwright's sync API and the system Chromium, or a skip saying which is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright): no browser to open the report in")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("no Chromium on PATH (apt-get install -y chromium): no browser to open the report in")
    return sync_playwright, executable


def test_the_page_in_a_browser(browser: tuple[Any, str], report: Path, tmp_path: Path) -> None:
    sync_playwright, executable = browser
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        # Playwright takes the profile folder as an argument (it refuses --user-data-dir among the args).
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=executable,
            headless=True,
            args=BROWSER_ARGS,
            viewport={"width": 1200, "height": 900},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri(), wait_until="load")
            images = page.evaluate(
                "() => Array.from(document.images).map(i => ({complete: i.complete, width: i.naturalWidth}))"
            )
            rows = {t: page.locator(f"#{t} tbody tr").count() for t in ("class-table", "worst-table")}
            figures = page.locator("#worst figure img").count()
            headings = page.locator("h2").all_inner_texts()
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            context.close()
    assert not errors, errors
    assert len(images) == 2 + WORST and all(i["complete"] and i["width"] > 0 for i in images), images
    assert rows == {"class-table": len(CLASSES) + 1, "worst-table": WORST}
    assert figures == WORST
    assert any(h.startswith("Worst-scored test videos") for h in headings) and "Per class (test split)" in headings
    assert requests and all(u.startswith(("file:", "data:")) for u in requests), requests
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_a_metrics_file_with_text_where_numbers_belong_is_named(run: Path, tmp_path: Path) -> None:
    from registry import ConfigError

    copy = tmp_path / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("report.html", "curves.png"))
    rows = (copy / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    cells = rows[2].split(",")
    cells[header.index("train_loss")] = "oops"
    rows[2] = ",".join(cells)
    (copy / "metrics.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(ConfigError, match=r"metrics\.csv:3: column 'train_loss' holds 'oops', not a number"):
        write_report(copy)


MARKUP = "<script>alert(1)</script>"  # a video name that a page built without escaping would run


@pytest.fixture(scope="module")
def markup_report(run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a copy of the run whose worst-scored test video is named like a script tag."""
    copy = tmp_path_factory.mktemp("markup") / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("*.pt", "report.html"))
    predictions = json.loads((copy / "predictions.json").read_text())
    worst = max(predictions["splits"]["test"], key=lambda p: abs(p["predicted"] - p["judged"]))
    worst["name"] = MARKUP
    (copy / "predictions.json").write_text(json.dumps(predictions))
    return write_report(copy)


def test_a_video_named_like_markup_is_written_as_text(markup_report: Path) -> None:
    text = markup_report.read_text(encoding="utf-8")
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<td>{escaped}</td>" in text  # the worst table's video cell
    assert f"<figcaption>#1 {escaped} (no video found)</figcaption>" in text
    assert "<script" not in text.lower()  # the page has no script of its own: any is the name, unescaped


def test_a_video_named_like_markup_runs_nothing_in_a_browser(
    browser: tuple[Any, str], markup_report: Path, tmp_path: Path
) -> None:
    sync_playwright, executable = browser
    errors: list[str] = []
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:  # alert(1), had the name run (the page's CSP should also stop it)
        dialogs.append(dialog.message)
        dialog.dismiss()

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True, args=BROWSER_ARGS
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            # A script the CSP refuses is a console error ("Refused to execute inline script ...").
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("dialog", on_dialog)
            page.goto(markup_report.as_uri(), wait_until="load")
            scripts = page.evaluate("() => document.scripts.length")
            cell = page.locator("#worst-table tbody tr").first.locator("td").nth(1).inner_text()
            caption = page.locator("#worst figcaption").first.inner_text()
        finally:
            context.close()
    assert not errors, errors
    assert scripts == 0 and not dialogs, (scripts, dialogs)
    assert cell == MARKUP and caption == f"#1 {MARKUP} (no video found)"  # shown as the text it is
