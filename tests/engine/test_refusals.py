"""What the zoo refuses, and the right answers it gives instead of silently wrong ones (runs, metrics, files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import registry
import zoo
from aqa_tools.convert_official import main as convert_tool
from aqa_tools.export import main as export_tool
from aqa_tools.predict import main as predict_tool
from aqa_tools.test import main as evaluate_tool
from aqa_tools.train import main as train_tool
from registry import RecipeError, load_checkpoint
from tests.engine.helpers import DIMS, make_feature_set, tiny_overrides
from zoo.engine import rundir
from zoo.engine.distributed import World
from zoo.engine.metrics import few_videos_warning, fisher_z_mean, score_metrics

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_feature_set(tmp_path_factory.mktemp("features"))


@pytest.fixture(scope="module")
def trained(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny run; its validation-selected checkpoint."""
    out = tmp_path_factory.mktemp("runs")
    results = zoo.engine.train("actionnet/base", tiny_overrides(data, out, epochs=3), progress=False)
    return Path(results["run_dir"]) / "selected.pt"


# -- run folders and resume ----------------------------------------------------------------------
def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rundir, "_stamp", lambda: "20260101-000000")
    made = [rundir.create_run_dir(tmp_path, "actionnet/base", World()) for _ in range(3)]
    assert [p.name for p in made] == ["20260101-000000", "20260101-000000-2", "20260101-000000-3"]
    assert all(p.is_dir() and not any(p.iterdir()) for p in made)


def test_resume_picks_the_interrupted_run_and_never_rewrites_a_finished_one(data: Path, tmp_path: Path) -> None:
    finished = zoo.engine.train("actionnet/base", tiny_overrides(data, tmp_path, epochs=2), progress=False)
    first = Path(finished["run_dir"])
    before = (first / "results.json").read_bytes()
    with pytest.raises(RecipeError, match=r"nothing to resume: every run of 'actionnet/base'.*finished"):
        zoo.engine.train("actionnet/base", tiny_overrides(data, tmp_path, epochs=2), resume=True, progress=False)
    with pytest.raises(RecipeError, match="a finished run is never rewritten"):
        zoo.engine.train("actionnet/base", tiny_overrides(data, tmp_path, epochs=2), resume=first, progress=False)
    # A run killed before its first checkpoint: a folder, a 'running' state of a process that is gone, no last.pt.
    killed = first.parent / "29990101-000000"
    killed.mkdir()
    (killed / "run.json").write_text(json.dumps({"status": "running", "pid": 2**22 + 7, "host": "elsewhere"}))
    resumed = zoo.engine.train("actionnet/base", tiny_overrides(data, tmp_path, epochs=2), resume=True, progress=False)
    assert Path(resumed["run_dir"]) == killed and (killed / "last.pt").is_file()
    assert json.loads((killed / "run.json").read_text())["status"] == "finished"
    assert (first / "results.json").read_bytes() == before  # the finished run was not touched


# -- data -----------------------------------------------------------------------------------------
def test_the_same_video_in_train_and_test_is_refused(tmp_path: Path) -> None:
    root = make_feature_set(tmp_path, n_train=8, n_test=4)
    test_file = root / "test.txt"
    test_file.write_text(test_file.read_text() + (root / "train.txt").read_text().splitlines()[1] + "\n")
    with pytest.raises(
        zoo.errors.DataError, match=r"1 video\(s\) are in more than one split: Ball_000 \(train and test\)"
    ):
        zoo.engine.train("actionnet/base", tiny_overrides(root, tmp_path / "runs", epochs=1), progress=False)
    ok = zoo.engine.train(
        "actionnet/base",
        [*tiny_overrides(root, tmp_path / "runs", epochs=1), "+data.allow_overlap=true"],
        progress=False,
    )
    assert ok["test_videos"] == 5


def test_a_validation_split_that_leaves_no_training_video_is_named(tmp_path: Path) -> None:
    root = make_feature_set(tmp_path, n_train=2, n_test=3)
    with pytest.raises(zoo.errors.DataError, match=r"data\.val_fraction=0\.9 holds out 2 of the 2 training video"):
        zoo.engine.train("actionnet/base", [*tiny_overrides(root, tmp_path, epochs=1), "data.val_fraction=0.9"])


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"not an npy file at all", "not a readable .npy"), (None, "dtype <U")],
)
def test_unreadable_feature_files_are_named(tmp_path: Path, content: bytes | None, message: str) -> None:
    from zoo.data.features import FeatureError, load_feature

    path = tmp_path / "Ball_001.npy"
    if content is None:
        np.save(path, np.array([["a", "b"], ["c", "d"]]))
    else:
        path.write_bytes(content)
    with pytest.raises(FeatureError, match=rf"{path}.*{message}"):
        load_feature(path, 2)


def test_a_binary_annotation_file_is_named(tmp_path: Path) -> None:
    from zoo.data.annotations import AnnotationError, read_rg

    path = tmp_path / "train.txt"
    path.write_bytes(b"\xff\xfe\x00\x81binary")
    with pytest.raises(AnnotationError, match=rf"{path} is not a text file"):
        read_rg(path)


# -- metrics ----------------------------------------------------------------------------------------
def test_undefined_metrics_are_undefined_with_the_reason() -> None:
    m = score_metrics([5.0, 5.0, 5.0, 5.0], [1.0, 2.0, 3.0, 4.0], (1.0, 4.0))
    assert m["spearman"] is None and "every prediction is the same" in m.undefined["spearman"]
    m = score_metrics([1.0, 2.0, 3.0], [4.0, 4.0, 4.0], (4.0, 4.0))
    assert m["spearman"] is None and "every judged score is the same" in m.undefined["spearman"]
    assert m["relative_l2"] is None and "span no range" in m.undefined["relative_l2"]  # not inf
    for n in (1, 2):
        assert score_metrics(list(range(n)), list(range(n)), (0, 5))["spearman"] is None  # not 0.0, not +-1.0
    assert score_metrics([1, 2, 3], [1, 3, 2], (0, 5))["spearman"] == pytest.approx(0.5)
    assert fisher_z_mean([0.5, None]) is None
    assert few_videos_warning("test", 4) and few_videos_warning("test", 50) is None


def test_a_model_that_predicts_one_score_selects_nothing_and_says_why(tmp_path: Path) -> None:
    root = make_feature_set(tmp_path, n_train=12, n_test=6)
    for key, dim in DIMS.items():  # every video the same features: the model cannot rank them
        for path in (root / key).glob("*.npy"):
            np.save(path, np.ones((6, dim), np.float32))
    results = zoo.engine.train("actionnet/base", tiny_overrides(root, tmp_path / "runs", epochs=2), progress=False)
    assert results["selected"] is None and results["headline"] == "last epoch"
    assert results["spearman"] is None and "every prediction is the same" in results["spearman_undefined"]
    assert any("nothing was selected" in n for n in results["notes"])
    assert any("validation split holds only 3 video" in w for w in results["warnings"])
    assert not (Path(results["run_dir"]) / "selected.pt").exists()
    table = zoo.engine.report.results_table(results)
    assert "undefined (every prediction is the same" in table and "0.000" not in table


def test_a_feature_that_overflows_in_the_model_names_the_video(data: Path, trained: Path, tmp_path: Path) -> None:
    root = tmp_path / "huge"
    root.mkdir()
    for item in data.iterdir():
        (root / item.name).symlink_to(item)
    (root / "dynamic").unlink()
    (root / "dynamic").mkdir()
    for f in (data / "dynamic").glob("*.npy"):
        (root / "dynamic" / f.name).symlink_to(f)
    test_name = (data / "test.txt").read_text().splitlines()[1].split()[0]
    (root / "dynamic" / f"{test_name}.npy").unlink()
    np.save(root / "dynamic" / f"{test_name}.npy", np.full((6, DIMS["dynamic"]), 3e38, np.float32))  # finite
    # Far outside the training features: refused before the model runs (test and predict alike) ...
    with pytest.raises(zoo.data.features.FeatureError, match=rf"{test_name}: input 'dynamic' holds 3e\+38"):
        zoo.engine.test_checkpoint(trained, overrides=[f"data.root={root}"], progress=False)
    assert predict_tool(["--checkpoint", str(trained), "--feature-root", str(root), test_name, "--plot-dir", ""]) == 1
    # ... and, accepted, the overflow inside the model still names the video instead of printing nan.
    with pytest.raises(zoo.errors.NonFiniteError, match=rf"NaN or inf for 1 video\(s\): {test_name}"):
        zoo.engine.test_checkpoint(trained, overrides=[f"data.root={root}"], progress=False, accept_mismatch=True)


# -- checkpoints: imports, scoring, conversion ------------------------------------------------------
def test_a_checkpoint_may_not_import_a_module_nobody_chose(trained: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(trained)
    ckpt["recipe"]["imports"] = ["zoo", "aqa_plugin"]
    ckpt["fingerprint"] = registry.checkpoint.fingerprint(ckpt)  # a crafted file carries a fingerprint that fits
    sent = tmp_path / "sent.pt"
    torch.save(ckpt, sent)
    (tmp_path / "aqa_plugin.py").write_text("open('ran', 'w').write('code from the checkpoint ran')\n")
    code = (
        "import registry, zoo\n"
        "try:\n    registry.load('sent.pt')\nexcept registry.RecipeError as e:\n    print('REFUSED', e)\n"
        "registry.load('sent.pt', imports=['aqa_plugin'])\nprint('ALLOWED')\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    refused, allowed = done.stdout.split("ALLOWED")[0].split("REFUSED")[1], done.stdout
    assert "['aqa_plugin']" in refused and "--trust-imports" in refused and "ALLOWED" in allowed
    assert (tmp_path / "ran").exists()  # only after the caller allowed it
    with pytest.raises(RecipeError, match=r"imports must be a list of module names.*got 5"):
        registry.build_model({"imports": 5, "model": {}})
    assert registry.checkpoint.import_names({"imports": "zoo"}) == ["zoo"]  # one name is a list of one


def test_predict_and_test_score_as_training_did(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ov = [*tiny_overrides(data, tmp_path, epochs=2), "data.score_scale=25.0"]
    results = zoo.engine.train("actionnet/base", ov, progress=False)
    ckpt_path = Path(results["run_dir"]) / "selected.pt"
    ckpt = load_checkpoint(ckpt_path)
    assert ckpt["scoring"]["score_scale"] == 25.0 and ckpt["scoring"]["window"] == {"dynamic": None, "static": None}
    del ckpt["recipe"]["data"]["score_scale"]  # the recipe's own default (1.0) would score 25x too low
    del ckpt["fingerprint"]  # as a file from before fingerprints (an edited recipe is refused otherwise)
    torch.save(ckpt, tmp_path / "stripped.pt")
    tested = zoo.engine.test_checkpoint(tmp_path / "stripped.pt", progress=False)
    assert tested["spearman"] == pytest.approx(results["selected"]["test_spearman"])
    name = tested["predictions"][0]["name"]
    capsys.readouterr()
    assert (
        predict_tool(["--checkpoint", str(tmp_path / "stripped.pt"), "--feature-root", str(data), name, "--json"]) == 0
    )
    (scored,) = json.loads(capsys.readouterr().out)
    assert scored["score"] == pytest.approx(tested["predictions"][0]["predicted"], abs=1e-4)


def test_predict_scores_every_good_item_and_lists_the_bad_ones(
    data: Path, trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("not a video")
    good = [line.split()[0] for line in (data / "test.txt").read_text().splitlines()[1:3]]
    items = [str(tmp_path / "empty.mp4"), good[0], str(tmp_path / "text.mp4"), good[1], "Ball_999"]
    code = predict_tool(["--checkpoint", str(trained), "--feature-root", str(data), *items, "--plot-dir", ""])
    out, err = capsys.readouterr()
    assert code == 1
    assert [line.split("\t")[0] for line in out.splitlines()] == good  # both good items scored
    assert "3 of 5 item(s) could not be scored" in err
    assert "empty.mp4" in err and "text.mp4" in err and "Ball_999" in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["truncated", "zoo", "pickle", "empty"])
def test_convert_official_refuses_what_is_not_the_authors_state_dict(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    bad = tmp_path / "authors.pth"
    if kind == "truncated":
        bad.write_bytes(trained.read_bytes()[:500])
    elif kind == "zoo":
        bad.write_bytes(trained.read_bytes())
    elif kind == "pickle":
        torch.save({"obj": Path("x")}, bad)  # an object weights_only refuses
    else:
        bad.write_bytes(b"")
    assert convert_tool([str(bad), str(tmp_path / "out.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and "weights_only=False" not in err
    expected = {"truncated": "truncated", "zoo": "already a zoo checkpoint", "pickle": "refused", "empty": "empty"}
    assert expected[kind] in err


def test_an_empty_checkpoint_says_so(tmp_path: Path) -> None:
    (tmp_path / "e.pt").write_bytes(b"")
    with pytest.raises(RecipeError, match=r"is empty \(0 bytes\)"):
        registry.load(tmp_path / "e.pt")


# -- export -----------------------------------------------------------------------------------------
@pytest.mark.slow  # seconds of other processes or of rendering: skip with -m 'not slow'
def test_a_trained_checkpoint_with_input_statistics_exports_to_onnx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_feature_set(tmp_path / "big", n_train=16, n_test=6)
    for key in DIMS:  # features of magnitude ~1e6 with a small spread, as random backbones give
        for path in (root / key).glob("*.npy"):
            np.save(path, (np.load(path) * 3.0 + 1e6).astype(np.float32))
    ov = [
        *tiny_overrides(root, tmp_path / "runs", epochs=2),
        "+model.streams.dynamic.input_norm=true",
        "+model.streams.static.input_norm=true",
    ]
    run = Path(zoo.engine.train("actionnet/base", ov, progress=False)["run_dir"])
    monkeypatch.chdir(tmp_path)
    assert export_tool(["--checkpoint", str(run / "last.pt"), "--format", "pt2,onnx"]) == 0  # one trace, two files
    lines = capsys.readouterr().out.splitlines()
    wrote = [line.split()[1] for line in lines if line.startswith("wrote ")]
    assert wrote == ["exports/actionnet_base.pt2", "exports/actionnet_base.onnx"]
    for suffix in ("pt2", "onnx"):  # named by the recipe, not 'last', each checked and with its recipe
        assert (tmp_path / "exports" / f"actionnet_base.{suffix}.recipe.yaml").is_file()
    with pytest.raises(SystemExit) as usage:  # argparse's usage error
        export_tool(["--checkpoint", str(run / "last.pt"), "--format", "pt3"])
    assert usage.value.code == 2
    assert "expected one or more of pt2, onnx, comma-separated; got 'pt3'" in capsys.readouterr().err
    # An existing file is kept unless --force (checked on a pt2 export: the same rule, a third of the time).
    old = tmp_path / "exports" / "actionnet_base.pt2"
    old.write_bytes(b"an earlier export")
    assert export_tool(["--checkpoint", str(run / "last.pt"), "--format", "pt2"]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and "--force" in err and old.read_bytes() == b"an earlier export"
    assert export_tool(["--checkpoint", str(run / "last.pt"), "--format", "pt2", "--force"]) == 0
    assert old.read_bytes() != b"an earlier export"


def test_a_failed_export_check_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from registry import export

    model = registry.build_model(registry.load_recipe("actionnet/base"))
    real = export._run_program  # the program as saved, its outputs then moved: a check that must fail

    def drifted(path: Path, fmt: str, inputs: list, names: list) -> list:
        return [[np.asarray(o) + 1.0 for o in outs] for outs in real(path, fmt, inputs, names)]

    monkeypatch.setattr(export, "_run_program", drifted)
    with pytest.raises(export.ExportCheckError, match="output 'score' differs from the eager model"):
        export.export_model(model, tmp_path / "m.pt2", "pt2")
    assert list(tmp_path.iterdir()) == []


def test_an_export_check_compares_counts_and_shapes_not_only_values() -> None:
    from registry.export import ExportCheckError, compare

    score = torch.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ExportCheckError, match="gives 2 outputs, the eager model 1"):
        compare((score,), [score.numpy(), score.numpy()], ["score"], "pt2 export m.pt2")
    # [3, 1] - [3] broadcasts to [3, 3]: equal values on the diagonal would hide the wrong shape.
    with pytest.raises(ExportCheckError, match=r"output 'score' has shape \[3, 1\] in the program, \[3\]"):
        compare((score,), [score[:, None].numpy()], ["score"], "pt2 export m.pt2")
    assert compare((score,), [score.numpy()], ["score"], "pt2 export m.pt2") == (0.0, 0.0)


# -- the disk, and bugs vs. user errors ---------------------------------------------------------------
def test_a_full_disk_during_a_checkpoint_keeps_the_last_good_one(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    import registry.files

    real_open, writes = open, []

    def fills_up(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if "w" in mode and str(path).endswith(".tmp") and ".last.pt." in str(path):
            writes.append(path)
            if len(writes) > 1:  # the first last.pt is written, the second finds the disk full
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(registry.files, "open", fills_up, raising=False)
    assert train_tool(["actionnet/base", *tiny_overrides(data, tmp_path, epochs=3), "run.checkpoint_every=1"]) == 4
    err = capsys.readouterr().err
    assert "no space left on" in err and "the previous last.pt is kept" in err and "Traceback" not in err
    (run,) = (tmp_path / "actionnet" / "base").iterdir()
    assert load_checkpoint(run / "last.pt")["epoch"] == 1 and not list(run.glob(".*.tmp"))


def test_a_bug_keeps_its_traceback_and_a_user_error_does_not(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from zoo.attention.actionnet import ActionNetAttention

    def broken(self: object, x: torch.Tensor, mask: torch.Tensor) -> None:
        raise ValueError("a bug inside the zoo")

    monkeypatch.setattr(ActionNetAttention, "forward", broken)
    with pytest.raises(ValueError, match="a bug inside the zoo"):  # not printed as 'error: ...' and swallowed
        train_tool(["actionnet/base", *tiny_overrides(data, tmp_path, epochs=1)])
    monkeypatch.undo()
    assert train_tool(["actionnet/base", *tiny_overrides(data, tmp_path, epochs=1), "train.batch_size=0"]) == 2
    assert capsys.readouterr().err.startswith("error: train.batch_size must be >= 1, got 0")
    assert evaluate_tool(["--checkpoint", str(tmp_path / "missing.pt")]) == 2
    assert capsys.readouterr().err == f"error: checkpoint {str(tmp_path / 'missing.pt')!r} does not exist\n"
