"""``train.compile``: a component that cannot be compiled as one graph runs eager, and the run says which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import zoo
from tests.engine.helpers import make_feature_set, tiny_overrides
from zoo.engine.compiled import CompiledOrEager
from zoo.heads.base import Head
from zoo.kinds import HEADS


class BranchingHead(Head):
    """Test plugin: a head whose Python branches on a value, which one graph cannot hold."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, 1)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        score = self.fc(x).squeeze(-1)
        if bool(score.sum() > 1e9):  # data-dependent control flow: dynamo must break the graph here
            score = score * 0
        return {"score": score}


def test_a_component_that_does_not_compile_runs_eager_and_is_named(
    tmp_path: Path, registered: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    registered(HEADS, "test_branching", BranchingHead)
    data = make_feature_set(tmp_path / "features", n_train=16, n_test=6)
    ov = [*tiny_overrides(data, tmp_path / "runs", epochs=2), "model.head={type: test_branching}"]
    eager = zoo.engine.train("actionnet/base", ov, progress=False)
    compiled = zoo.engine.train("actionnet/base", [*ov, "train.compile=true"], progress=False)
    err = capsys.readouterr().err
    for step in ("the training step", "evaluation"):
        line = f"train.compile: {step} runs eager: head (BranchingHead, test_compile.py:"
        assert line in err and "does not compile (" in err
        assert any(n.startswith(line) for n in compiled["notes"])  # results.json says so too
    # Eager from the first call: the same numbers as a run without compile.
    for key in ("spearman", "relative_l2"):
        assert compiled[key] == pytest.approx(eager[key], rel=1e-6)


def test_compiled_evaluation_matches_eager_on_videos_of_every_length() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)).eval()
    compiled = CompiledOrEager(model, "evaluation", dynamic=True)
    with torch.no_grad():
        for length in (5, 9, 17):  # whole videos: another length per batch, one compiled graph
            x = torch.randn(3, length, 8)
            torch.testing.assert_close(compiled(x), model(x), rtol=1e-5, atol=1e-6)
    assert compiled.fell_back is None
