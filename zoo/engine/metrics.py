"""Metrics of long-video AQA: Spearman's rho, relative L2, MSE; Fisher-z averages over classes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from registry import METRICS


@METRICS.register("spearman")
def spearman(pred: Sequence[float], true: Sequence[float]) -> float:
    """Spearman's rank correlation (scipy); 0 when either side is constant."""
    p, t = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if len(p) < 2 or np.ptp(p) == 0 or np.ptp(t) == 0:
        return 0.0
    return float(stats.spearmanr(p, t).statistic)


@METRICS.register("relative_l2")
def relative_l2(pred: Sequence[float], true: Sequence[float], low: float, high: float) -> float:
    """100 * mean(((s - s_hat) / (s_max - s_min))^2), with the class's score range."""
    p, t = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    return float(100.0 * np.mean(((t - p) / (high - low)) ** 2))


@METRICS.register("mse")
def mse(pred: Sequence[float], true: Sequence[float]) -> float:
    """Mean squared error in score units."""
    p, t = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    return float(np.mean((t - p) ** 2))


def fisher_z_mean(rhos: Sequence[float]) -> float:
    """tanh(mean(atanh(rho_k))), the papers' average of per-class correlations."""
    clipped = [max(min(r, 0.999999), -0.999999) for r in rhos]
    return math.tanh(sum(math.atanh(r) for r in clipped) / len(clipped))


def score_metrics(pred: Sequence[float], true: Sequence[float], bounds: tuple[float, float]) -> dict[str, float]:
    """The three numbers every table reports, on scores in their original units."""
    return {
        "spearman": spearman(pred, true),
        "relative_l2": relative_l2(pred, true, *bounds),
        "mse": mse(pred, true),
    }
