"""PAMFN by one command: three branches, then the fusion started from them (a recipe of stages)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import zoo
from aqa_tools.train import main as train_main
from registry import ConfigError, RecipeError, load_checkpoint
from tests.peers.pamfn_set import WIDTHS, make_pamfn_set
from zoo.engine.stages import parse_stages, split_overrides

TINY_STAGES = [
    *[o for m, w in WIDTHS.items() for o in (f"{m}:model.inputs={{{m}: {w}}}", f"{m}:model.streams.{m}.width=8")],
    "fusion:model.inputs={rgb: 12, flow: 10, audio: 8}",
    *[f"fusion:model.streams.{m}.width=8" for m in WIDTHS],
    "fusion:model.candidates=3",
    "fusion:model.head.hidden_dims=[4]",
]


def common(root: Path, out: Path) -> list[str]:
    return [
        f"data.root={root}",
        "data.window={rgb: 8, flow: 8, audio: 8}",
        "train.epochs=1",
        "train.batch_size=8",
        f"run.out={out}",
        "run.device=cpu",
        "run.tensorboard=false",
        "run.progress=false",
    ]


@pytest.fixture(scope="module")
def pamfn_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pamfn_set(tmp_path_factory.mktemp("pamfn"), n_train=16, n_test=8)


def stage_weights(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "last.pt")["model"]


def test_pamfn_stages_train_in_order_each_fusion_branch_from_its_stage(pamfn_set: Path, tmp_path: Path) -> None:
    assert train_main(["peers/pamfn", "--no-progress", *common(pamfn_set, tmp_path), *TINY_STAGES]) == 0
    (parent,) = tmp_path.glob("peers/pamfn/*-stages")
    record = json.loads((parent / "stages.json").read_text())
    assert record["finished"] and list(record["stages"]) == ["rgb", "flow", "audio", "fusion"]
    fusion = load_checkpoint(parent / "fusion" / "last.pt")
    sources = {Path(e["checkpoint"]).parent.name: e["modules"] for e in fusion["provenance"]["init_from"]}
    assert sources == {m: {f"streams.{m}": f"streams.{m}"} for m in WIDTHS}
    # RGB and flow are detached in the fusion (as the authors): their weights are the stage's, exactly;
    # the audio branch trains on.
    key = "embed.convs.0.weight"
    for m in WIDTHS:
        branch = stage_weights(parent / m)[f"streams.{m}.{key}"]
        same = torch.equal(fusion["model"][f"streams.{m}.{key}"], branch)
        assert same == (m != "audio"), m

    # --resume continues from the first stage that did not finish; finished stages are not trained again
    record["stages"].pop("fusion")
    record["finished"] = False
    (parent / "stages.json").write_text(json.dumps(record))
    shutil.rmtree(parent / "fusion")
    before = (parent / "rgb" / "last.pt").stat().st_mtime_ns
    assert train_main(["peers/pamfn", "--resume", "--no-progress", *common(pamfn_set, tmp_path), *TINY_STAGES]) == 0
    assert (parent / "fusion" / "last.pt").is_file() and (parent / "rgb" / "last.pt").stat().st_mtime_ns == before
    assert json.loads((parent / "stages.json").read_text())["finished"]


def test_a_branch_trained_on_other_videos_is_refused(pamfn_set: Path, tmp_path: Path) -> None:
    other = make_pamfn_set(tmp_path / "other", n_train=16, n_test=8, seed=1)
    assert (
        train_main(["peers/pamfn_rgb", "--no-progress", *common(other, tmp_path), *[o[4:] for o in TINY_STAGES[:2]]])
        == 0
    )
    (run,) = tmp_path.glob("peers/pamfn_rgb/*")
    fusion = [o.removeprefix("fusion:") for o in TINY_STAGES if o.startswith("fusion:")]
    init = f"+train.init_from=[{{checkpoint: {run / 'last.pt'}, modules: {{streams.rgb: streams.rgb}}}}]"
    with pytest.raises(
        RecipeError, match="not trained on this run's data: its annotations differ.*'rgb' features differ"
    ):
        zoo.engine.train("peers/pamfn_fusion", [*common(pamfn_set, tmp_path), *fusion, init], progress=False)


def test_stage_recipes_say_what_is_wrong() -> None:
    with pytest.raises(RecipeError, match="starts from stage 'fusion', but it comes later"):
        parse_stages(
            {"stages": {"a": {"recipe": "x", "init_from": {"fusion": {"s": "s"}}}, "fusion": {"recipe": "y"}}}, "t"
        )
    with pytest.raises(RecipeError, match="holds only 'stages'"):
        parse_stages({"stages": {"a": {"recipe": "x"}}, "train": {"epochs": 2}}, "t")
    with pytest.raises(ConfigError, match="stage 'fusoin'.*fusion"):
        split_overrides(["fusoin:train.epochs=2"], ["rgb", "fusion"])
    assert split_overrides(["a=1", "rgb:b=2"], ["rgb", "fusion"]) == (["a=1"], {"rgb": ["b=2"], "fusion": []})


@pytest.mark.parametrize("dropped", ["rgb", "flow", "audio"])
def test_pamfn_fuses_any_two_modalities(dropped: str) -> None:
    """Two modalities fuse as three do: every fusion block's input is [c ; fused s ; fused f], three parts of its
    width whatever the number of modalities (it was sized by the modalities: a 2-modality PAMFN could not run)."""
    from registry import build_model, load_recipe

    kept = {k: w for k, w in {"rgb": 24, "flow": 20, "audio": 12}.items() if k != dropped}
    overrides = [f"~model.streams.{dropped}", f"model.inputs={json.dumps(kept)}", "model.candidates=2"]
    overrides += [f"model.streams.{k}.width=16" for k in kept]
    model = build_model(load_recipe("multimodal/synthetic", overrides)).eval()
    batch = model.example_inputs(batch=3, lengths=dict.fromkeys(kept, 9), seed=2, ragged=True)
    with torch.no_grad():
        scores = model(batch)["score"]
        assert scores.shape == (3,) and torch.isfinite(scores).all()
        for b in range(3):  # each video scored alone, cut to its own length, gives what the padded batch gave
            n = int(batch[f"{next(iter(kept))}_mask"][b].sum())
            alone = {k: v[b : b + 1, :n] for k, v in batch.items()}
            torch.testing.assert_close(model(alone)["score"], scores[b : b + 1], atol=1e-5, rtol=1e-4)
