"""GDLT, CoFInAl and ASGTN reproduced from their authors' own runs (tests/goldens/*.pt, made by bench/goldens/).

Each golden holds the authors' state_dict, the inputs and what their model code returned in eval mode;
the zoo's recipe, built from the file tools/convert_official.py writes, must return the same to 1e-5.
Videos of different lengths run as one padded batch with masks (the authors ran each alone, batch 1).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor

import registry
from aqa_tools.convert_official import main as convert_main
from registry import RecipeError
from zoo.models.official import convert_official

GOLDENS = Path(__file__).resolve().parents[1] / "goldens"
REPOSITORIES = {
    "gdlt": "xuangch/CVPR22_GDLT",
    "cofinal": "ZhouKanglei/CoFInAl_AQA",
    "asgtn": "jiangliu5/ASGTN_AQA",
}


def golden(method: str) -> dict:
    return torch.load(GOLDENS / f"{method}.pt", weights_only=True)


def padded(inputs: list[Tensor]) -> dict[str, Tensor]:
    """The videos (``[1, T_i, C]`` each, or one ``[B, T, C]``) as one batch padded to the longest, with masks."""
    videos = [v for x in inputs for v in x.float()]
    longest = max(len(v) for v in videos)
    x = torch.zeros(len(videos), longest, videos[0].shape[-1])
    mask = torch.zeros(len(videos), longest, dtype=torch.bool)
    for i, v in enumerate(videos):
        x[i, : len(v)], mask[i, : len(v)] = v, True
    return {"dynamic": x, "dynamic_mask": mask}


def queries(expected: Tensor | list[Tensor]) -> Tensor:
    return torch.cat(list(expected)) if isinstance(expected, list) else expected


def check(got: dict, expected: dict) -> None:
    """Every output the authors' model returned, ours to 1e-5 (queries: the grade decoder's output)."""
    torch.testing.assert_close(got["score"], expected["score"], atol=1e-5, rtol=0)
    torch.testing.assert_close(got["queries"], queries(expected["queries"]), atol=1e-5, rtol=1e-5)
    for key in ("grade_score", "grade_score_revert", "sub_grade"):
        if key in expected:
            torch.testing.assert_close(got[key], expected[key], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("method", ["gdlt", "cofinal", "asgtn"])
def test_golden_converted_checkpoint_reproduces_the_authors(method: str, tmp_path: Path) -> None:
    g = golden(method)
    assert g["repository"] == REPOSITORIES[method] and len(g["commit"]) == 40  # the run says what made it
    out = tmp_path / f"{method}.pt"
    convert_main([str(GOLDENS / f"{method}.pt"), str(out), "--method", method])
    model = registry.load(out)  # rebuilt from the written file alone
    with torch.no_grad():
        got = model(padded(g["inputs"]))
    check(got, g["outputs"]["cofinal"] if method == "cofinal" else g["outputs"])


def test_golden_cofinal_2_is_their_etf_head_without_reverted_grades() -> None:
    g = golden("cofinal")
    state = {k: v.float() for k, v in g["state_dict"].items() if not k.startswith("regressor_revert.")}
    ckpt = convert_official(state, method="cofinal")
    assert ckpt["recipe"]["model"]["head"]["variant"] == "cofinal_2"
    model = registry.build_model(ckpt["recipe"])
    registry.load_state(model, ckpt["model"])
    model.eval()
    with torch.no_grad():
        got = model(padded(g["inputs"]))
    assert "grade_score_revert" not in got
    check(got, g["outputs"]["cofinal_2"])


def test_golden_restriction_comes_from_the_recipe_and_changes_the_score() -> None:
    """Their checkpoints do not record the activation restriction: the recipe's is used, and it matters."""
    g = golden("cofinal")
    state = {k: v.float() for k, v in g["state_dict"].items()}
    scores = {}
    for restriction in ("sigmoid", "arcl1"):
        rc = registry.load_recipe("peers/cofinal", [f"model.head.restriction={restriction}"])
        ckpt = convert_official(state, rc, method="cofinal")
        model = registry.build_model(ckpt["recipe"])
        registry.load_state(model, ckpt["model"])
        with torch.no_grad():
            scores[restriction] = model.eval()(padded(g["inputs"]))["score"]
    torch.testing.assert_close(scores["sigmoid"], g["outputs"]["cofinal"]["score"], atol=1e-5, rtol=0)
    assert (scores["arcl1"] - scores["sigmoid"]).abs().min() > 1e-3


OTHERS = [("gdlt", "asgtn", "lacks"), ("cofinal", "gdlt", "unexpected")]  # (whose weights, converted as, error)


@pytest.mark.parametrize(("weights", "method", "match"), OTHERS)
def test_golden_weights_of_another_method_are_refused(weights: str, method: str, match: str) -> None:
    state = {k: v.float() for k, v in golden(weights)["state_dict"].items()}
    with pytest.raises(RecipeError, match=match):
        convert_official(state, method=method)


def test_unknown_method_names_the_known_ones() -> None:
    with pytest.raises(registry.ConfigError, match="cofinal"):
        convert_official({}, method="cofinall")
