"""CoFInAl's alignment loss: targets split into a coarse grade and a sub-grade; zero at a perfect prediction."""

from __future__ import annotations

import pytest
import torch

from registry import ConfigError
from zoo.heads.cofinal import simplex_etf
from zoo.kinds import LOSSES
from zoo.losses.cofinal import grade_targets


def test_targets_split_as_theirs() -> None:
    coarse, fine = grade_targets(torch.tensor([0.0, 0.5312, 0.99999, 0.123456]), 100)
    torch.testing.assert_close(coarse, torch.tensor([0.0, 0.53, 0.99, 0.12]))
    assert fine.tolist() == [0, 12, 99, 34]


def test_zero_at_a_perfect_prediction_and_the_revert_counts() -> None:
    loss = LOSSES.build({"type": "cofinal"})
    target = torch.tensor([0.2, 0.7])
    coarse, fine = grade_targets(target, 10)
    etf = simplex_etf(10, 0)
    perfect = {"grade_score": coarse, "sub_grade": etf[:, fine].t(), "etf": etf}
    assert float(loss(perfect, target)) == pytest.approx(0.0, abs=1e-7)
    wrong_revert = {**perfect, "grade_score_revert": coarse}  # should be 1 - coarse
    assert float(loss(wrong_revert, target)) == pytest.approx(float(((1 - 2 * coarse) ** 2).mean()), rel=1e-5)
    with pytest.raises(ConfigError, match="sub_grade"):
        loss({"grade_score": coarse, "etf": etf}, target)


def test_triplet_each_gives_every_query_its_own_label() -> None:
    grade = LOSSES.build({"type": "triplet", "labels": "grade"})
    each = LOSSES.build({"type": "triplet", "labels": "each"})
    q = torch.randn(2, 4, 8)
    same = {"queries": torch.cat([q[:1], q[:1]])}  # two identical videos: grade positives at distance 0
    assert float(each(same, torch.zeros(2))) > float(grade(same, torch.zeros(2)))  # its nearest "other" is a twin
    with pytest.raises(ConfigError, match="labels"):
        LOSSES.build({"type": "triplet", "labels": "video"})
