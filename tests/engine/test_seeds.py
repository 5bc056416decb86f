"""Seeds as an axis: tools/train.py --seeds trains each seed as its own run under one parent, then the spread."""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import zoo
from aqa_tools.report import main as report_tool
from aqa_tools.train import main as train_main
from registry import ConfigError, MissingFileError, load_checkpoint, load_recipe
from registry.provenance import MismatchError
from tests.engine.helpers import CrashInSeed, make_feature_set, tiny_overrides
from tests.engine.test_report import BROWSER_ARGS, Page, browser  # noqa: F401  (browser: a fixture)
from zoo.engine.metrics import format_mean_sd, format_metric
from zoo.engine.report_html import write_report
from zoo.engine.rundir import latest_resumable
from zoo.engine.seeds import GIB, seed_workers
from zoo.kinds import HOOKS

EPOCHS = 2
KEYS = ("headline", "spearman", "relative_l2", "last", "selected", "best_on_test", "provenance")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_feature_set(tmp_path_factory.mktemp("features"), n_train=32, n_test=12)


def runs(out: Path) -> list[Path]:
    return sorted((out / "actionnet" / "base").iterdir())


def train(data: Path, out: Path, *argv: str) -> int:
    return train_main(["actionnet/base", *argv, *tiny_overrides(data, out, epochs=EPOCHS), "--no-progress"])


@pytest.fixture(scope="module")
def parent(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seeds trained by the tool in processes of their own, at once (not stacked: each seed is then its single
    run to the last bit; stacked seeds are tests/engine/test_stacked.py's)."""
    out = tmp_path_factory.mktemp("runs")
    assert train(data, out, "--seeds", "0,1", "--parallel-seeds", "2") == 0
    (folder,) = runs(out)
    return folder


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Torch threads as a seed's process had them: CPU sums, and so the last digits, depend on the count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def single_run(data: Path, out: Path, seed: int, *more: str) -> dict[str, Any]:
    """What ``tools/train.py actionnet/base train.seed=S`` makes, in ``out`` (the same run.out: the same recipe)."""
    overrides = [*tiny_overrides(data, out, epochs=EPOCHS), f"train.seed={seed}", *more]
    return zoo.engine.train("actionnet/base", overrides, progress=False)


def test_seeds_train_under_one_parent_each_the_run_of_its_seed(parent: Path, data: Path) -> None:
    assert parent.name.endswith("-seeds")
    assert sorted(p.name for p in parent.iterdir() if p.is_dir()) == ["seed0", "seed1"]
    summary = json.loads((parent / "results.json").read_text())
    assert json.loads((parent / "run.json").read_text())["status"] == "finished"
    assert [e["seed"] for e in summary["seeds"]] == [0, 1] and summary["failed"] == []
    for entry in summary["seeds"]:
        own = json.loads((parent / f"seed{entry['seed']}" / "results.json").read_text())
        assert entry["status"] == "finished" and entry["results"] == own  # every seed's results, whole
        assert entry["spearman"] == own["spearman"] and entry["last_spearman"] == own["last"]["test_spearman"]
        assert load_recipe(parent / f"seed{entry['seed']}" / "recipe.yaml")["train"]["seed"] == entry["seed"]
    for key in ("spearman", "last_spearman"):
        values = [e[key] for e in summary["seeds"]]
        assert None not in values, values  # the tiny set ranks: both seeds have a Spearman
        assert summary["aggregate"][key]["mean"] == statistics.mean(values)
        assert summary["aggregate"][key]["sd"] == statistics.stdev(values)
    # Each seed is exactly the single run of train.seed=S (same recipe, data, code: same provenance and numbers).
    with threads(summary["threads"]):
        for entry in summary["seeds"]:
            alone = single_run(data, parent.parents[2], entry["seed"])
            assert {k: alone[k] for k in KEYS} == {k: entry["results"][k] for k in KEYS}, entry["seed"]


def test_the_table_shows_each_seed_and_the_spread(parent: Path) -> None:
    from zoo.engine.report import seeds_table

    summary = json.loads((parent / "results.json").read_text())
    table = seeds_table(summary)
    for entry in summary["seeds"]:
        cells = [format_metric(entry, "spearman"), format_metric(entry, "last_spearman")]
        assert f"| {entry['seed']} | validation-selected ({entry['epoch']}) | {cells[0]} | {cells[1]} |" in table
    agg = summary["aggregate"]
    row = f"| mean ± sd | | {format_mean_sd(agg['spearman'])} | {format_mean_sd(agg['last_spearman'])} |"
    assert row in table and " ± " in row


def test_a_seed_that_fails_is_reported_and_the_others_finish(
    data: Path, tmp_path: Path, registered: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    registered(HOOKS, "test_crash_in_seed", CrashInSeed)
    hooks = "train.hooks=[{type: test_crash_in_seed, seed: 1}]"
    # One seed at a time, in this process: the test plugin is registered here only.
    assert train(data, tmp_path, "--seeds", "0,1", "--parallel-seeds", "1", hooks) == 1  # a bug: exit code 1
    out = capsys.readouterr()
    assert "| 1 | FAILED: RuntimeError: test crash in seed 1 | - | - |" in out.out
    assert "undefined (1 of 2 seeds failed)" in out.out
    assert "Traceback" in out.err and "test crash in seed 1" in out.err  # a bug keeps its traceback
    (parent,) = runs(tmp_path)
    summary = json.loads((parent / "results.json").read_text())
    failed, finished = summary["seeds"][1], summary["seeds"][0]
    assert failed["status"] == "failed" and failed["error"] == "RuntimeError: test crash in seed 1"
    assert "Traceback" in failed["traceback"] and summary["failed"] == [1]
    assert finished["status"] == "finished" and finished["spearman"] is not None
    assert summary["aggregate"]["spearman"] == {
        "mean": None,
        "sd": None,
        "mean_undefined": "1 of 2 seeds failed",
        "sd_undefined": "1 of 2 seeds failed",
        "seeds": 2,
    }
    assert json.loads((parent / "run.json").read_text())["status"] == "failed"
    assert json.loads((parent / "seed1" / "run.json").read_text())["status"] == "failed"
    # The seed that finished is the single run of its seed (here trained in this process, on data loaded once).
    alone = single_run(data, tmp_path, 0, hooks)
    assert {k: alone[k] for k in KEYS} == {k: finished["results"][k] for k in KEYS}
    # The report shows the failed seed with its error, and the mean as undefined.
    text = write_report(parent).read_text(encoding="utf-8")
    assert "failed: RuntimeError: test crash in seed 1" in text and "undefined (1 of 2 seeds failed)" in text


def test_one_seed_keeps_the_layout_of_one_run(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train(data, tmp_path, "--seeds", "1", "+train.seeds=[0, 2]") == 0
    out = capsys.readouterr().out
    assert "--seeds 1 wins over the recipe's train.seeds [0, 2]" in out
    (run,) = runs(tmp_path)
    assert not run.name.endswith("-seeds") and (run / "results.json").is_file() and (run / "selected.pt").is_file()
    train_section = load_recipe(run / "recipe.yaml")["train"]
    assert train_section["seed"] == 1 and "seeds" not in train_section  # the run train.seed=1 makes
    assert f"run folder: {run}" in out and "mean ± sd" not in out  # today's output: one run's table and files


def test_what_does_not_go_with_several_seeds_is_refused(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train(data, tmp_path, "--seeds", "0,1", "--per-class") == 2
    assert "--per-class with several seeds (0,1) is not supported yet" in capsys.readouterr().err
    assert train(data, tmp_path, "--seeds", "0,1", "--resume") == 2
    assert "resume one seed's folder" in capsys.readouterr().err
    assert train(data, tmp_path, "+train.seeds=[3, 3]") == 2
    assert "train.seeds lists seed(s) [3] more than once" in capsys.readouterr().err
    assert train(data, tmp_path, "--seeds", "0,-1") == 2
    assert "--seeds must hold seeds >= 0, got [0, -1]" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"train.seeds is \[0, 1\] but one run trains one seed"):
        zoo.engine.train("actionnet/base", [*tiny_overrides(data, tmp_path), "+train.seeds=[0, 1]"])
    assert not (tmp_path / "actionnet").exists()  # refused before any folder was made


def test_how_many_seeds_train_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import zoo.engine.seeds as seeds

    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(seeds.os, "cpu_count", lambda: 16)
    monkeypatch.setattr(seeds, "available_memory", lambda: 10 * GIB)
    assert seed_workers(3, cpu, 2 * GIB) == 3  # the seeds asked for
    assert seed_workers(8, cpu, 2 * GIB) == 5  # the memory: 10 GiB for 2 GiB each
    assert seed_workers(30, cpu, GIB // 4) == 16  # the cores
    assert seed_workers(3, gpu, GIB) == 1  # one at a time on a GPU ...
    assert seed_workers(3, gpu, GIB, requested=2) == 2  # ... unless asked for more
    monkeypatch.setattr(seeds, "available_memory", lambda: None)  # unknown: the cores alone decide
    assert seed_workers(20, cpu, 100 * GIB) == 16


def test_a_seeds_parent_is_not_a_run_to_resume(tmp_path: Path) -> None:
    parent = tmp_path / "actionnet" / "base" / "20240101-000000-seeds"
    parent.mkdir(parents=True)
    (parent / "run.json").write_text(json.dumps({"status": "running", "pid": 1, "host": "elsewhere"}))
    with pytest.raises(MissingFileError, match="nothing to resume"):
        latest_resumable(tmp_path, "actionnet/base")


def test_the_report_of_the_parent_shows_the_seeds(parent: Path, tmp_path: Path) -> None:
    assert report_tool([str(parent), "--out", str(tmp_path / "seeds.html")]) == 0
    text = (tmp_path / "seeds.html").read_text(encoding="utf-8")
    page = Page(text)
    summary = json.loads((parent / "results.json").read_text())
    assert {"seeds", "spread", "headlines", "seeds-table", "mean-sd"} <= page.ids
    assert page.rows["seeds-table"] == 1 + 2 + 1  # head, one row per seed, mean ± sd
    agg = summary["aggregate"]
    assert f'<td class="num">{format_mean_sd(agg["spearman"])}</td>' in text
    assert len(page.images) == 1 + 2  # the spread, and each seed's predicted vs judged
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    # A seed folder that is not the run the parent recorded is refused, naming both.
    copy = tmp_path / "copy"
    shutil.copytree(parent, copy, ignore=shutil.ignore_patterns("*.pt"))
    own = json.loads((copy / "seed1" / "results.json").read_text())
    (copy / "seed1" / "results.json").write_text(json.dumps({**own, "spearman": 0.99}))
    with pytest.raises(MismatchError, match="records another run of seed 1 than seed1/ holds"):
        write_report(copy)


def test_the_seeds_page_in_a_browser(browser: tuple[Any, str], parent: Path, tmp_path: Path) -> None:  # noqa: F811
    sync_playwright, executable = browser
    report = write_report(parent, tmp_path / "seeds.html")
    errors: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True, args=BROWSER_ARGS
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.goto(report.as_uri(), wait_until="load")
            images = page.evaluate("() => Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
            rows = page.locator("#seeds-table tbody tr").count()
            mean = page.locator("#mean-sd").inner_text()
        finally:
            context.close()
    assert not errors, errors
    assert images == [True] * 3 and rows == 2
    assert mean.startswith("mean ± sd") and "±" in mean.split("mean ± sd", 1)[1]


@pytest.mark.slow  # seconds of other processes: skip with -m 'not slow'
def test_ctrl_c_stops_every_seed_at_an_epoch_end_saved_and_resumable(data: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    argv = ["actionnet/base", "--seeds", "0,1", "--parallel-seeds", "2", *tiny_overrides(data, tmp_path, epochs=500)]
    argv.append("--no-progress")
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "tools/train.py", *argv], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        metrics = lambda: list(tmp_path.glob("actionnet/base/*-seeds/seed0/metrics.csv"))  # noqa: E731
        while not (metrics() and len(metrics()[0].read_text().splitlines()) > 2):  # two epochs done
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1].decode()[-3000:]
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)  # the parent alone, as a terminal's Ctrl-C reaches it (seeds have their group)
        out_bytes, err_bytes = proc.communicate(timeout=120)
    finally:
        proc.kill()
    err, out = err_bytes.decode(), out_bytes.decode()
    assert "seed 0: stopped: SIGTERM: stopped after epoch" in out and "FAILED" not in out  # stopped, not failed
    assert proc.returncode == 128 + signal.SIGINT, err[-3000:]
    assert "SIGINT: each running seed finishes its epoch, saves last.pt and stops" in err
    (parent,) = tmp_path.glob("actionnet/base/*-seeds")
    seeds = sorted(p for p in parent.iterdir() if p.is_dir() and (p / "run.json").is_file())
    assert seeds and seeds[0].name == "seed0"
    for folder in seeds:  # each seed that ran: stopped at an epoch end, that epoch saved, and told how to go on
        state = json.loads((folder / "run.json").read_text())
        assert (state["status"], state["signal"]) == ("interrupted", "SIGTERM"), state  # the parent asked with SIGTERM
        assert load_checkpoint(folder / "last.pt")["epoch"] == state["epoch"] < 500
        seed = folder.name.removeprefix("seed")
        assert f"python tools/train.py actionnet/base --resume {folder} --seeds {seed}" in err


def test_a_stop_signal_in_one_seed_trained_here_starts_no_other(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zoo.engine.seeds as seeds
    from zoo.engine.trainer import TrainingInterrupted

    started: list[int] = []

    class Stopped:  # seed 0 is stopped by SIGINT at an epoch end (saved, resumable)
        def __init__(self, recipe: dict, *args: object, **kwargs: object) -> None:
            started.append(recipe["train"]["seed"])

        def fit(self) -> None:
            raise TrainingInterrupted("SIGINT: stopped after epoch 1 of 2; ... --resume ...", 2)

    monkeypatch.setattr(seeds, "Trainer", Stopped)
    recipe = load_recipe("actionnet/base", tiny_overrides(data, tmp_path, epochs=2))
    with pytest.raises(TrainingInterrupted, match=r"(?s)seed 0: stopped: SIGINT.*not started: seeds 1, 2") as e:
        seeds.train_seeds(recipe, [0, 1, 2], tmp_path / "parent", name="actionnet/base", workers=1)
    assert started == [0] and e.value.exit_code == 130
