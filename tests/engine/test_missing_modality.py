"""Scoring with a modality missing: ``tools/test.py --drop``, ``eval.drop`` at the end of training, the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import zoo
from aqa_tools.test import main as score_tool
from tests.peers.pamfn_set import make_pamfn_set

# A plain two-stream scorer over rgb and audio: it cannot score without either.
TWO_STREAMS = [
    "model.type=scorer",
    "model.inputs={rgb: 12, audio: 8}",
    "model.streams={rgb: {type: stream, embed: {type: mlp, out_dim: 8}}, "
    "audio: {type: stream, embed: {type: mlp, out_dim: 8}}}",
    "model.head={type: mlp, hidden_dims: [8]}",
    "data.window={rgb: 8, audio: 8}",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_pamfn_set(tmp_path_factory.mktemp("set"), n_train=16, n_test=8)
    out = tmp_path_factory.mktemp("runs")
    overrides = [
        f"data.root={root}",
        "train.epochs=2",
        "train.batch_size=8",
        f"run.out={out}",
        "run.device=cpu",
        "run.tensorboard=false",
        "run.progress=false",
        "+eval.drop=[audio]",
        *TWO_STREAMS,
    ]
    results = zoo.engine.train("peers/pamfn_rgb", overrides, progress=False)
    return Path(results["run_dir"])


def test_training_records_the_headline_without_each_dropped_input(trained: Path) -> None:
    results = json.loads((trained / "results.json").read_text())
    (entry,) = results["missing"]
    assert entry["dropped"] == ["audio"]
    assert "cannot score with 'audio' missing" in entry["refused"]  # its reason, never a number
    from zoo.engine.report import results_table

    assert "| headline without audio | - | not scored: " in results_table(results)


def test_tools_test_drop_refuses_naming_the_input(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert score_tool(["--checkpoint", str(trained / "last.pt"), "--drop", "audio", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "needs input 'audio'" in err and "cannot score with 'audio' missing" in err


def test_tools_test_drop_of_an_input_the_model_lacks_is_named(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert score_tool(["--checkpoint", str(trained / "last.pt"), "--drop", "flow", "--no-progress"]) == 2
    assert "reads no input ['flow']; its inputs: ['audio', 'rgb']" in capsys.readouterr().err


def test_eval_drop_of_an_unread_input_is_refused_before_training(tmp_path: Path) -> None:
    root = make_pamfn_set(tmp_path / "set", n_train=8, n_test=4)
    with pytest.raises(zoo.engine.trainer.ConfigError, match="eval.drop names \\['flow'\\]"):
        zoo.engine.train(
            "peers/pamfn_rgb",
            [f"data.root={root}", f"run.out={tmp_path}", "run.device=cpu", "+eval.drop=[flow]", *TWO_STREAMS],
            progress=False,
        )


def test_mcmoe_scores_without_a_modality_beside_the_complete_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """peers/mcmoe on a feature set in PAMFN's layout: eval.drop at the end of training, and tools/test.py --drop
    printing the complete and the missing-modality numbers (MCMoE completes the missing input)."""
    root = make_pamfn_set(tmp_path / "set", n_train=16, n_test=8)
    overrides = [
        f"data.root={root}",
        "data.window={rgb: 8, flow: 8, audio: 8}",
        "model.inputs={rgb: 12, audio: 8, flow: 10}",
        "model.width=16",
        "train.epochs=2",
        "train.batch_size=8",
        f"run.out={tmp_path / 'runs'}",
        "run.device=cpu",
        "run.tensorboard=false",
        "run.progress=false",
        "+eval.drop=[audio, flow]",
    ]
    results = zoo.engine.train("peers/mcmoe", overrides, progress=False)
    missing = {tuple(e["dropped"]): e for e in results["missing"]}
    assert set(missing) == {("audio",), ("flow",)} and not any("refused" in e for e in missing.values())
    assert all(e.get("test_spearman") is not None or e.get("test_spearman_undefined") for e in missing.values())
    capsys.readouterr()
    checkpoint = str(Path(results["run_dir"]) / "last.pt")
    assert score_tool(["--checkpoint", checkpoint, "--drop", "audio", "--drop", "audio,flow", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert (
        "on 8 test videos" in out and "  without audio: Spearman " in out and "  without audio, flow: Spearman " in out
    )
    complete = score_tool(["--checkpoint", checkpoint, "--json", "--drop", "audio", "--no-progress"])
    assert complete == 0
    result = json.loads(capsys.readouterr().out)
    (alone,) = result["missing"]
    assert alone["dropped"] == ["audio"] and len(alone["predictions"]) == len(result["predictions"]) == 8
    assert [p["predicted"] for p in alone["predictions"]] != [p["predicted"] for p in result["predictions"]]
    # tools/report.py puts the complete headline and each missing-modality headline side by side, with numbers.
    from aqa_tools.report import main as report_tool

    assert report_tool([results["run_dir"]]) == 0
    page = (Path(results["run_dir"]) / "report.html").read_text()
    for dropped in ("audio", "flow"):
        row = page[page.index(f"headline without {dropped}") :].split("</tr>")[0]
        spearman = missing[(dropped,)].get("test_spearman")
        assert (f"{spearman:.3f}" if spearman is not None else "undefined") in row, row
