"""MCMoE's parts: missing modalities (absent or flagged), training's modality drop, the reconstruction loss.

Faithfulness to the authors' code is tests/models/test_golden_mcmoe.py; the model contract and padded
batches are tests/models/test_contract.py and test_any_length.py (every registered model and recipe).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from registry import ConfigError
from zoo.errors import DataError
from zoo.kinds import LOSSES, MODELS
from zoo.models.mcmoe import MCMoE, combinations

INPUTS = {"rgb": 12, "audio": 10, "flow": 12}


def tiny(**kw: object) -> MCMoE:
    torch.manual_seed(0)
    return MODELS.build({"type": "mcmoe", "inputs": INPUTS, "width": 8, **kw})


def test_training_keeps_their_modality_sets_in_their_order() -> None:
    # generate_modality_mask: [1,0,0], [0,1,0], [0,0,1], [1,1,0], [1,0,1], [0,1,1] over (v, a, f)
    want = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]]
    assert combinations(3).int().tolist() == want
    assert combinations(2).int().tolist() == [[1, 0], [0, 1]] and combinations(1).shape == (0, 1)


def test_absent_and_flagged_missing_are_the_same_and_its_values_unread() -> None:
    model = tiny().eval()
    batch = model.example_inputs(batch=3, lengths={"rgb": 6}, ragged=True)
    absent = {k: v for k, v in batch.items() if not k.startswith("audio")}
    flagged = {**batch, "audio": torch.randn_like(batch["audio"]) * 100, "audio_present": torch.zeros(3, dtype=bool)}
    with torch.no_grad():
        full, a, f = model(batch)["score"], model(absent)["score"], model(flagged)["score"]
    torch.testing.assert_close(a, f, atol=1e-6, rtol=0)
    assert (a - full).abs().max() > 1e-6  # completing audio is not having it


def test_a_video_with_no_modality_or_a_batch_with_none_is_refused() -> None:
    model = tiny().eval()
    batch = model.example_inputs(batch=2, lengths={"rgb": 5})
    flags = {f"{n}_present": torch.tensor([True, False]) for n in INPUTS}
    with pytest.raises(DataError, match=r"video\(s\) \[1\]"):
        model({**batch, **flags})
    with pytest.raises(ConfigError, match="none of its modalities"):
        model({"depth": batch["rgb"]})


def test_modalities_must_be_aligned_in_time() -> None:
    model = tiny().eval()
    batch = model.example_inputs(batch=2, lengths={"rgb": 5})
    batch["audio"], batch["audio_mask"] = batch["audio"][:, :4], batch["audio_mask"][:, :4]
    with pytest.raises(DataError, match="aligned"):
        model(batch)


@pytest.mark.parametrize("drop", ["batch", "video"])
def test_training_drops_one_or_two_modalities(drop: str) -> None:
    model = tiny(drop=drop).train()
    torch.manual_seed(1)
    patterns = set()
    for _ in range(8):
        out = model(model.example_inputs(batch=4, lengths={"rgb": 5}))
        dropped = torch.stack([out["completion"]["dropped"][n] for n in INPUTS], 1)  # [B, M]
        assert ((dropped.sum(1) >= 1) & (dropped.sum(1) <= 2)).all()
        if drop == "batch":
            assert (dropped == dropped[:1]).all()  # one set for the whole batch, as theirs
        patterns |= {tuple(r) for r in dropped.int().tolist()}
    assert len(patterns) > 1


def test_no_drop_generates_nothing_in_training() -> None:
    model = tiny(drop="none").train()
    out = model(model.example_inputs(batch=3, lengths={"rgb": 5}))
    assert out["completion"]["generated"] == {}
    assert set(out["completion"]["mixed"]) == set(INPUTS)


def test_one_modality_trains_without_completion() -> None:
    torch.manual_seed(0)
    model = MODELS.build({"type": "mcmoe", "inputs": {"rgb": 12}, "width": 8}).train()
    out = model(model.example_inputs(batch=3, lengths={"rgb": 5}))
    assert out["completion"]["generated"] == {}
    LOSSES.build({"type": "modality_reconstruction"})(out, torch.rand(3)).backward()


def test_reconstruction_loss_is_theirs_without_padding() -> None:
    """Without padding and with one dropped set for the batch it is their recon_loss: MSE + KL with 'mean'."""
    model = tiny().train()
    torch.manual_seed(3)
    out = model(model.example_inputs(batch=3, lengths={"rgb": 6}))
    c = out["completion"]
    want = torch.zeros(())
    for n in INPUTS:
        if bool(c["dropped"][n].all()):
            want = want + F.mse_loss(c["generated"][n], c["target"][n])
    for n in INPUTS:
        kl = F.kl_div(torch.log_softmax(c["mixed"][n], -1), torch.softmax(c["own"][n], -1), reduction="sum")
        want = want + kl / c["mixed"][n].numel()  # their reduction="mean": over every element
    got = LOSSES.build({"type": "modality_reconstruction"})(out, torch.rand(3))
    torch.testing.assert_close(got, want)
    got.backward()
    gen = [p.grad for n, p in model.named_parameters() if n.startswith("completion.") and p.grad is not None]
    assert any(g.abs().sum() > 0 for g in gen)  # the generators learn from it


def test_reconstruction_loss_ignores_padding() -> None:
    model = tiny().train()
    batch = model.example_inputs(batch=3, lengths={"rgb": 6}, ragged=True)
    torch.manual_seed(4)
    out = model(batch)
    c = out["completion"]
    loss = LOSSES.build({"type": "modality_reconstruction"})
    base = loss(out, torch.rand(3))
    pad = ~c["mask"]
    for part in ("generated", "target", "mixed", "own"):
        for n, t in c[part].items():
            c[part][n] = t.masked_fill(pad.unsqueeze(-1), 7.0)  # anything in padded rows
    torch.testing.assert_close(loss(out, torch.rand(3)), base)


def test_eval_gives_no_completion_terms() -> None:
    model = tiny().eval()
    with torch.no_grad():
        out = model(model.example_inputs(batch=2, lengths={"rgb": 4}))
    assert "completion" not in out
    with pytest.raises(ConfigError, match="completion"):
        LOSSES.build({"type": "modality_reconstruction"})(out, torch.rand(2))


def test_expert_fusion_swaps_into_a_scorer() -> None:
    """The mixture of experts as a fusion of stream vectors (here GDLT-like streams of two inputs)."""
    torch.manual_seed(0)
    cfg = {
        "type": "scorer",
        "inputs": {"rgb": 12, "flow": 12},
        "streams": {n: {"type": "stream", "embed": {"type": "mlp", "out_dim": 8}} for n in ("rgb", "flow")},
        "fusion": {"type": "experts"},
        "head": {"type": "mlp", "hidden_dims": [8]},
    }
    model = MODELS.build(cfg).eval()
    assert model.fusion.out_dim == 8 and len(model.fusion.mixture.experts) == 2
    with torch.no_grad():
        out = model(model.example_inputs(batch=3, lengths={"rgb": 5, "flow": 5}))
    assert out["score"].shape == (3,) and torch.isfinite(out["score"]).all()


@pytest.mark.slow  # a minute of training on two cores: skip with -m 'not slow'
def test_recipe_trains_through_the_engine_and_its_loss_falls(tmp_path: Path) -> None:
    """peers/mcmoe on the synthetic clip features (each modality reads them: aligned), six tiny epochs."""
    import zoo
    from registry import load_checkpoint
    from tests.engine.helpers import DIMS, make_feature_set

    root = make_feature_set(tmp_path / "features", n_train=48, n_test=16)
    d = DIMS["dynamic"]
    overrides = [
        f"data={{_replace_: true, type: features, format: rg, root: {root}, annotations: {{train: train.txt, "
        "test: test.txt}, features: {rgb: dynamic, audio: dynamic, flow: dynamic}, classes: [Ball], "
        "target: total, score_scale: 25.0, val_fraction: 0.0}",
        f"model.inputs={{rgb: {d}, audio: {d}, flow: {d}}}",
        "model.width=16",
        "model.encoder.layer.dropout=0.0",
        "model.decoder.dropout=0.0",
        "optim.lr=0.003",
        "train.epochs=6",
        "train.batch_size=8",
        "eval.select=last",
        f"run.out={tmp_path / 'runs'}",
        "run.device=cpu",
        "run.tensorboard=false",
        "run.progress=false",
    ]
    results = zoo.engine.train("peers/mcmoe", overrides, progress=False)
    history = load_checkpoint(Path(results["run_dir"]) / "last.pt")["history"]
    losses = [row["train_loss"] for row in history]
    assert len(losses) == 6 and all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.8 * losses[0], losses
