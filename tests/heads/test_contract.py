"""Every registered head keeps the head contract: a score per video, per-video outputs, gradients, export."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.contract import assert_close, assert_finite_grads, export_cases, export_checked, scorer
from zoo.heads import Head
from zoo.kinds import HEADS

NAMES = HEADS.names()
IN_DIM = 16  # K * D for the grade head's 4 default grades
BATCH = 3
# ONNX exports cost seconds each; the grade head holds every op the others use (linear maps, a
# normalisation over outputs, a weighted sum); tests/recipes exports the recipes' heads to ONNX too.
ONNX = {"grade"}


def build(name: str) -> Head:
    torch.manual_seed(0)
    return HEADS.build({"type": name}, in_dim=IN_DIM)


def per_video(out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The outputs with a leading batch axis (a distribution head's bin centres are one for all)."""
    return {k: v for k, v in out.items() if v.dim() > 0 and v.shape[0] == BATCH}


@pytest.mark.parametrize("name", NAMES)
def test_scores_every_video_with_gradients(name: str) -> None:
    head = build(name).train()
    assert isinstance(head, Head)
    x = torch.randn(BATCH, IN_DIM, requires_grad=True)
    out = head(x)
    assert isinstance(out, dict) and "score" in out, f"{name} returned {type(out).__name__} {list(out)}"
    assert out["score"].shape == (BATCH,) and torch.isfinite(out["score"]).all()
    # Every parameter is reached from the outputs: the score, or one its loss reads (CoFInAl's fine
    # branch reaches the score only through an argmax; its loss trains it through ``sub_grade``).
    sum(v.sum() for v in per_video(out).values() if v.requires_grad).backward()
    assert_finite_grads(head, name)
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", NAMES)
def test_each_video_is_scored_on_its_own(name: str) -> None:
    head = build(name).eval()
    x = torch.randn(BATCH, IN_DIM)
    with torch.no_grad():
        out = per_video(head(x))
        for b in range(BATCH):
            single = head(x[b : b + 1])
            for key, value in out.items():
                assert_close(value[b : b + 1], single[key], f"{name}, video {b}: {key}")


@pytest.mark.parametrize(("name", "fmt"), export_cases(NAMES, ONNX))
def test_exports(name: str, fmt: str, tmp_path: Path) -> None:
    results = export_checked(scorer({"x": {}}, {"x": IN_DIM}, head={"type": name}), tmp_path, fmt)
    assert all("score" in r.output_names for r in results.values())
