"""PAMFN reproduced from its authors' own run (tests/goldens/pamfn.pt, made by bench/goldens/pamfn.py).

Their three single-modality branches and their fusion model, converted by tools/convert_official.py
--method pamfn / pamfn_branch, must return their scores to 1e-5: the fusion model both with the policy's
most likely choice (the zoo's evaluation) and with their Gumbel noise drawn from the same seed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor

import registry
from aqa_tools.convert_official import main as convert_main
from registry import ConfigError, RecipeError
from zoo.models.official import convert_official

GOLDEN = Path(__file__).resolve().parents[1] / "goldens" / "pamfn.pt"


@pytest.fixture(scope="module")
def golden() -> dict:
    return torch.load(GOLDEN, weights_only=True)


def padded(videos: list[Tensor], name: str) -> dict[str, Tensor]:
    """Videos ``[1, T_i, C]`` as one batch padded to the longest, with its mask."""
    longest = max(v.shape[1] for v in videos)
    x = torch.zeros(len(videos), longest, videos[0].shape[-1])
    mask = torch.zeros(len(videos), longest, dtype=torch.bool)
    for i, v in enumerate(videos):
        x[i, : v.shape[1]], mask[i, : v.shape[1]] = v[0].float(), True
    return {name: x, f"{name}_mask": mask}


def batch(golden: dict) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    for name, videos in golden["inputs"].items():
        out.update(padded(videos, name))
    return out


def test_golden_pamfn_fusion_reproduces_the_authors(golden: dict, tmp_path: Path) -> None:
    assert golden["repository"] == "qinghuannn/PAMFN" and len(golden["commit"]) == 40
    out = tmp_path / "pamfn.pt"
    convert_main([str(GOLDEN), str(out), "--method", "pamfn"])
    model = registry.load(out)  # rebuilt from the written file alone
    with torch.no_grad():
        got = model(batch(golden))  # one padded batch; they scored each video alone
    torch.testing.assert_close(got["score"], golden["outputs"]["score"], atol=1e-5, rtol=0)


def test_golden_pamfn_with_their_evaluation_noise(golden: dict) -> None:
    state = {k: v.float() if v.is_floating_point() else v for k, v in golden["state_dict"].items()}
    ckpt = convert_official(state, method="pamfn")
    ckpt["recipe"]["model"]["eval_noise"] = True
    model = registry.build_model(ckpt["recipe"])
    registry.load_state(model, ckpt["model"])
    model.eval()
    scores = []
    with torch.no_grad():
        for i, seed in enumerate(golden["outputs"]["noise_seeds"]):
            torch.manual_seed(seed)  # their noise, drawn in their order and layout
            one = {k: v[i : i + 1] for k, v in batch(golden).items()}
            n = int(one["rgb_mask"].sum())
            scores.append(model({k: v[:, :n] for k, v in one.items()})["score"])
    torch.testing.assert_close(torch.cat(scores), golden["outputs"]["score_noisy"], atol=1e-5, rtol=0)
    assert not torch.allclose(golden["outputs"]["score_noisy"], golden["outputs"]["score"], atol=1e-4)


@pytest.mark.parametrize("prefix,name", [("model_r", "rgb"), ("model_f", "flow"), ("model_a", "audio")])
def test_golden_pamfn_branches_reproduce_their_single_modality_models(golden: dict, prefix: str, name: str) -> None:
    state = {k.removeprefix(f"{prefix}."): v for k, v in golden["state_dict"].items() if k.startswith(f"{prefix}.")}
    ckpt = convert_official(state, method="pamfn_branch", recipe=f"peers/pamfn_{name}")
    model = registry.build_model(ckpt["recipe"])
    registry.load_state(model, ckpt["model"])
    model.eval()
    with torch.no_grad():
        got = model(padded(golden["inputs"][name], name))
    torch.testing.assert_close(got["score"], golden["outputs"]["branches"][name], atol=1e-5, rtol=0)


def test_a_branch_state_dict_is_not_taken_for_the_fusion_model(golden: dict) -> None:
    branch = {k.removeprefix("model_r."): v for k, v in golden["state_dict"].items() if k.startswith("model_r.")}
    with pytest.raises(RecipeError, match="not PAMFN's fusion model.*pamfn_branch"):
        convert_official(branch, method="pamfn")


def test_pamfn_cannot_score_without_a_modality_and_says_which(golden: dict) -> None:
    state = {k: v.float() if v.is_floating_point() else v for k, v in golden["state_dict"].items()}
    ckpt = convert_official(state, method="pamfn")
    model = registry.build_model(ckpt["recipe"]).eval()
    inputs = {k: v for k, v in batch(golden).items() if not k.startswith("audio")}
    with pytest.raises(ConfigError, match="needs input 'audio'.*cannot score with a modality missing"):
        model(inputs)
