"""The authors' ACTION-NET, reproduced from their own state_dict (shared/golden/actionnet_official.pt)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import registry
from aqa_tools.convert_official import main as convert_main
from registry import RecipeError
from zoo.models.official import convert_official


@pytest.fixture(scope="module")
def golden(shared: Path) -> dict:
    return torch.load(shared / "golden" / "actionnet_official.pt", weights_only=True)


def test_converted_checkpoint_reproduces_the_authors(golden: dict, shared: Path, tmp_path: Path) -> None:
    out = tmp_path / "actionnet_official_zoo.pt"
    convert_main([str(shared / "golden" / "actionnet_official.pt"), str(out)])
    model = registry.load(out)  # rebuilt from the file alone
    with torch.no_grad():
        got = model({"dynamic": golden["dynamic"], "static": golden["static"]})
    torch.testing.assert_close(got["score"], golden["score"], atol=1e-5, rtol=0)
    torch.testing.assert_close(got["weights"]["dynamic"], golden["dynamic_attention"], atol=1e-6, rtol=0)
    torch.testing.assert_close(got["weights"]["static"], golden["static_attention"], atol=1e-6, rtol=0)
    torch.testing.assert_close(got["features"]["dynamic"], golden["dynamic_feature"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got["features"]["static"], golden["static_feature"], atol=1e-5, rtol=1e-5)


def test_masks_of_full_windows_change_nothing(golden: dict) -> None:
    model = registry.build_model(convert_official(golden["state_dict"])["recipe"])
    registry.load_state(model, convert_official(golden["state_dict"])["model"])
    model.eval()
    inputs = {"dynamic": golden["dynamic"], "static": golden["static"]}
    masks = {"dynamic_mask": torch.ones(4, 26, dtype=torch.bool), "static_mask": torch.ones(4, 80, dtype=torch.bool)}
    with torch.no_grad():
        torch.testing.assert_close(model({**inputs, **masks})["score"], golden["score"], atol=1e-5, rtol=0)


def test_dataparallel_prefix_and_feature_widths(golden: dict) -> None:
    sd = {f"module.{k}": v for k, v in golden["state_dict"].items()}
    ckpt = convert_official(sd)
    assert ckpt["recipe"]["model"]["inputs"] == {"dynamic": 1024, "static": 2048}
    narrow = {k: v for k, v in golden["state_dict"].items()}
    narrow["d_ct.embedding.0.weight"] = torch.zeros(512, 768)
    assert convert_official(narrow)["recipe"]["model"]["inputs"]["dynamic"] == 768


def test_bad_authors_files_are_explained(golden: dict) -> None:
    sd = dict(golden["state_dict"])
    sd["d_ct.extra.weight"] = torch.zeros(1)
    with pytest.raises(RecipeError, match="unexpected key 'd_ct.extra.weight'"):
        convert_official(sd)
    sd = dict(golden["state_dict"])
    sd["adj1"] = torch.eye(26)
    with pytest.raises(RecipeError, match="adj1"):
        convert_official(sd)
