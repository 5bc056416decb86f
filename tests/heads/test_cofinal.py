"""CoFInAl's head: restricted coarse grades, the reverted grades of variant cofinal, the sub-grade on a simplex ETF."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from registry import ConfigError
from zoo.heads.cofinal import restriction_values, simplex_etf
from zoo.kinds import HEADS


def build(**kwargs: object) -> nn.Module:
    torch.manual_seed(0)
    return HEADS.build({"type": "cofinal", "sub_grades": 10, "hidden": 8, **kwargs}, in_dim=16).eval()


def test_simplex_etf_is_equiangular_and_seeded() -> None:
    etf = simplex_etf(10, seed=0)
    gram = etf.t() @ etf  # columns: unit vectors, every pair at cos -1/(S-1)
    off = ~torch.eye(10, dtype=torch.bool)
    torch.testing.assert_close(gram.diagonal(), torch.ones(10), atol=1e-5, rtol=0)
    torch.testing.assert_close(gram[off], torch.full((90,), -1 / 9), atol=1e-5, rtol=0)
    assert torch.equal(etf, simplex_etf(10, seed=0)) and not torch.equal(etf, simplex_etf(10, seed=1))


def test_restrictions_are_theirs() -> None:
    values, reverted = restriction_values("sigmoid", 4)
    assert values.tolist() == pytest.approx([0.1, 0.2, 0.8, 1.0]) and reverted.tolist() == [1.0, 1.0, -1.0, -1.0]
    assert restriction_values("arcl1", 4)[0].tolist() == pytest.approx([-1.0, -0.8, 0.8, 1.0])
    assert restriction_values("relu", 4)[0].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert restriction_values("relu-0.5", 4)[0].tolist() == pytest.approx([0.25, 0.5, 0.75, 1.0])
    with pytest.raises(ConfigError, match="4 grades"):
        restriction_values("sigmoid", 3)
    with pytest.raises(ConfigError, match="restriction must be one of"):
        build(restriction="tanh")


def test_score_is_the_coarse_grade_plus_the_nearest_vertex() -> None:
    head = build(variant="cofinal")
    x = torch.randn(3, 16)
    with torch.no_grad():
        out = head(x)
    coarse = (out["grade_score"] + 1 - out["grade_score_revert"]) / 2
    index = (out["sub_grade"] @ out["etf"]).argmax(-1)
    torch.testing.assert_close(out["score"], coarse + index / 1000)
    torch.testing.assert_close(out["sub_grade"].norm(dim=1), torch.ones(3))
    assert next(iter(out)) == "score" and out["queries"].shape == (3, 4, 4)


def test_cofinal_2_has_no_reverted_grades() -> None:
    head = build(variant="cofinal_2")
    assert not hasattr(head, "logit_revert")
    with torch.no_grad():
        out = head(torch.randn(2, 16))
    assert "grade_score_revert" not in out
    index = (out["sub_grade"] @ out["etf"]).argmax(-1)
    torch.testing.assert_close(out["score"], out["grade_score"] + index / 1000)


def test_width_must_split_into_the_grades() -> None:
    with pytest.raises(ConfigError, match="K \\* D"):
        HEADS.build({"type": "cofinal", "grades": 3}, in_dim=16)
