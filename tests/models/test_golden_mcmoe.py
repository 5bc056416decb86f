"""MCMoE reproduced from its authors' own run (tests/goldens/mcmoe.pt, made by bench/goldens/mcmoe.py).

The golden holds their state_dict, three videos of three modalities, and what their MoE_AQA returned in
eval mode, each video alone, under each of the seven modality sets their test loop scores ([V, A, F], 0 =
missing and completed by their generators). The recipe built from the file tools/convert_official.py
writes must return the same to 1e-5: the videos as one padded batch, a missing modality left out of the
batch, or flagged per video (``{input}_present``) with every video of the batch under another set.
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
NAMES = {"v": "rgb", "a": "audio", "f": "flow"}  # their modality letters, the recipe's inputs


@pytest.fixture(scope="module")
def golden() -> dict:
    return torch.load(GOLDENS / "mcmoe.pt", weights_only=True)


@pytest.fixture(scope="module")
def model(golden: dict, tmp_path_factory: pytest.TempPathFactory) -> torch.nn.Module:
    out = tmp_path_factory.mktemp("mcmoe") / "mcmoe.pt"
    assert convert_main([str(GOLDENS / "mcmoe.pt"), str(out), "--method", "mcmoe"]) == 0
    return registry.load(out).eval()  # rebuilt from the written file alone


def padded(golden: dict) -> dict[str, Tensor]:
    """All three modalities of the three videos as one batch padded to the longest, one mask for all."""
    longest = max(x.shape[1] for x in golden["inputs"]["v"])
    batch: dict[str, Tensor] = {}
    for letter, name in NAMES.items():
        videos = [x[0].float() for x in golden["inputs"][letter]]
        x = torch.zeros(len(videos), longest, videos[0].shape[-1])
        mask = torch.zeros(len(videos), longest, dtype=torch.bool)
        for i, v in enumerate(videos):
            x[i, : len(v)], mask[i, : len(v)] = v, True
        batch[name], batch[f"{name}_mask"] = x, mask
    return batch


def without(batch: dict[str, Tensor], combination: list[int]) -> dict[str, Tensor]:
    """The batch less the modalities ``combination`` ([V, A, F]) marks missing."""
    gone = {NAMES[m] for m, keep in zip("vaf", combination) if not keep}
    return {k: v for k, v in batch.items() if k.removesuffix("_mask") not in gone}


def test_golden_run_says_what_made_it(golden: dict) -> None:
    assert golden["repository"] == "XuHuangbiao/MCMoE" and len(golden["commit"]) == 40
    assert golden["combinations"][0] == [1, 1, 1] and len(golden["combinations"]) == 7


@pytest.mark.parametrize("which", range(7))
def test_golden_each_modality_set_reproduces_the_authors(golden: dict, model: torch.nn.Module, which: int) -> None:
    combination, expected = golden["combinations"][which], golden["outputs"][which]
    with torch.no_grad():
        got = model(without(padded(golden), combination))
    torch.testing.assert_close(got["score"], expected["score"], atol=1e-5, rtol=0)
    torch.testing.assert_close(got["queries"], expected["queries"], atol=1e-5, rtol=1e-5)


def test_golden_missing_flagged_per_video(golden: dict, model: torch.nn.Module) -> None:
    """One batch, each video under another modality set: each gets its own set's score."""
    batch = padded(golden)
    picks = [3, 4, 6]  # video 0 without V, video 1 with V only, video 2 with F only
    for i, letter in enumerate("vaf"):
        batch[f"{NAMES[letter]}_present"] = torch.tensor([bool(golden["combinations"][w][i]) for w in picks])
    with torch.no_grad():
        got = model(batch)["score"]
    want = torch.stack([golden["outputs"][w]["score"][b] for b, w in enumerate(picks)])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_golden_recipe_order_of_inputs_is_free(golden: dict) -> None:
    """The converter permutes their (v, a, f) router and fusion to the recipe's order of inputs."""
    state = {k: v.float() for k, v in golden["state_dict"].items()}
    rc = registry.load_recipe("peers/mcmoe", ["model.inputs={flow: 1024, rgb: 1024, audio: 768}"])
    ckpt = convert_official(state, rc, method="mcmoe")
    assert list(ckpt["recipe"]["model"]["inputs"]) == ["flow", "rgb", "audio"]
    model = registry.build_model(ckpt["recipe"])
    registry.load_state(model, ckpt["model"])
    with torch.no_grad():
        got = model.eval()(without(padded(golden), [1, 0, 1]))["score"]
    torch.testing.assert_close(got, golden["outputs"][2]["score"], atol=1e-5, rtol=0)


def test_golden_sizes_come_from_the_weights(golden: dict) -> None:
    state = {k: v.float() for k, v in golden["state_dict"].items()}
    model = convert_official(state, method="mcmoe")["recipe"]["model"]
    assert model["width"] == 64 and model["inputs"] == {"rgb": 1024, "audio": 768, "flow": 1024}
    assert model["encoder"]["num_layers"] == 3 and model["decoder"]["layers"] == 3
    assert model["decoder"]["queries"] == model["head"]["grades"] == 4


def test_golden_every_key_is_accounted_for(golden: dict) -> None:
    state = {k: v.float() for k, v in golden["state_dict"].items()}
    with pytest.raises(RecipeError, match="unexpected"):
        convert_official({**state, "extra.weight": torch.zeros(1)}, method="mcmoe")
    with pytest.raises(RecipeError, match="lacks"):
        convert_official({k: v for k, v in state.items() if not k.startswith("router_mix")}, method="mcmoe")
    gdlt = torch.load(GOLDENS / "gdlt.pt", weights_only=True)["state_dict"]
    with pytest.raises(RecipeError, match="lacks"):
        convert_official({k: v.float() for k, v in gdlt.items()}, method="mcmoe")
