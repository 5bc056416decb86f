"""Metrics of long-video AQA: Spearman's rho, relative L2, MSE; Fisher-z averages over classes.

A metric that is not defined on the data (Spearman of constant predictions, of fewer than three
videos, relative L2 of scores that span no range) is ``None`` with the reason beside it, never a
number: a printed 0.000 would read as a measured result.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIN_VIDEOS = 3  # Spearman of 2 videos is always +-1: it says nothing about ranking
FEW_VIDEOS = 10  # below this a split's Spearman is too noisy to compare models: say so


@dataclass
class Metrics:
    """Named values (None where undefined) and, for each undefined one, why."""

    values: dict[str, float | None]
    undefined: dict[str, str] = field(default_factory=dict)

    def row(self, prefix: str) -> dict[str, Any]:
        """``{prefix_name: value, prefix_name_undefined: why}`` for a history row."""
        out: dict[str, Any] = {f"{prefix}_{k}": v for k, v in self.values.items()}
        out.update({f"{prefix}_{k}_undefined": why for k, why in self.undefined.items()})
        return out

    def flat(self) -> dict[str, Any]:
        """``{name: value, name_undefined: why}``, unprefixed: the form results files and ``format_metric`` read."""
        return {**self.values, **{f"{k}_undefined": why for k, why in self.undefined.items()}}

    def __getitem__(self, key: str) -> float | None:
        return self.values[key]


def _arrays(pred: Sequence[float], true: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    p, t = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if p.shape != t.shape:
        raise ValueError(f"metrics: {len(p)} predictions for {len(t)} judged scores")
    if not (np.isfinite(p).all() and np.isfinite(t).all()):
        raise ValueError("metrics: non-finite predictions or scores reached the metrics (evaluation checks them first)")
    return p, t


def spearman_undefined(pred: Sequence[float], true: Sequence[float]) -> str | None:
    """Why Spearman's rho is not defined on these scores, or None when it is."""
    p, t = _arrays(pred, true)
    if len(p) < MIN_VIDEOS:
        return f"needs at least {MIN_VIDEOS} videos, the split has {len(p)}"
    if np.ptp(p) == 0:
        return f"every prediction is the same ({p[0]:.4g}): the model does not rank the videos"
    if np.ptp(t) == 0:
        return f"every judged score is the same ({t[0]:.4g}): there is no ranking to match"
    return None


def spearman(pred: Sequence[float], true: Sequence[float]) -> float | None:
    """Spearman's rank correlation (scipy); None where ``spearman_undefined`` gives a reason."""
    if spearman_undefined(pred, true) is not None:
        return None
    from scipy import stats  # here, not at the top: scipy.stats adds ~0.9 s to every tool's start

    return float(stats.spearmanr(np.asarray(pred, float), np.asarray(true, float)).statistic)


def relative_l2(pred: Sequence[float], true: Sequence[float], low: float, high: float) -> float | None:
    """100 * mean(((s - s_hat) / (s_max - s_min))^2), with the class's score range; None without a range."""
    p, t = _arrays(pred, true)
    if not high > low or len(p) == 0:
        return None
    return float(100.0 * np.mean(((t - p) / (high - low)) ** 2))


def mse(pred: Sequence[float], true: Sequence[float]) -> float | None:
    """Mean squared error in score units (None for an empty split)."""
    p, t = _arrays(pred, true)
    return float(np.mean((t - p) ** 2)) if len(p) else None


def fisher_z_mean(rhos: Sequence[float | None]) -> float | None:
    """tanh(mean(atanh(rho_k))), the papers' average of per-class correlations; None if any class has none."""
    if not rhos or any(r is None for r in rhos):
        return None
    clipped = [max(min(float(r), 0.999999), -0.999999) for r in rhos]  # type: ignore[arg-type]
    return math.tanh(sum(math.atanh(r) for r in clipped) / len(clipped))


def score_metrics(pred: Sequence[float], true: Sequence[float], bounds: tuple[float, float]) -> Metrics:
    """The three numbers every table reports, on scores in their original units."""
    undefined = {}
    why = spearman_undefined(pred, true)
    if why is not None:
        undefined["spearman"] = why
    rel = relative_l2(pred, true, *bounds)
    if rel is None:
        undefined["relative_l2"] = f"the judged scores span no range ({bounds[0]:.4g} to {bounds[1]:.4g})"
    values = {"spearman": spearman(pred, true), "relative_l2": rel, "mse": mse(pred, true)}
    return Metrics(values, undefined)


def few_videos_warning(split: str, n: int) -> str | None:
    """A warning for a split too small for its Spearman to mean much (None when it is large enough)."""
    if n >= FEW_VIDEOS:
        return None
    split = {"val": "validation"}.get(split, split)
    return (
        f"the {split} split holds only {n} video(s): its Spearman "
        + (
            "is undefined"
            if n < MIN_VIDEOS
            else f"moves in steps of {12 / (n * (n * n - 1)):.2f} per swap of two neighbours"
        )
        + " and says little; use a larger split"
    )


def format_metric(row: Mapping[str, Any], key: str, digits: int = 3) -> str:
    """``0.812``, or ``undefined (why)`` when the row says the metric is undefined, or ``-`` when absent."""
    value = row.get(key)
    if value is None:
        why = row.get(f"{key}_undefined")
        return f"undefined ({why})" if why else "-"
    return f"{value:.{digits}f}"


def mean_sd(values: Sequence[float | None], unit: str = "seeds") -> Metrics:
    """Mean and sample standard deviation (``statistics.mean``/``stdev``) of one number per seed.

    A spread that mixed in an undefined value would describe other seeds than the ones asked for,
    so any undefined value makes both undefined, saying how many; one value has no spread.
    """
    n = len(values)
    if n == 0:
        return Metrics({"mean": None, "sd": None}, {"mean": f"no {unit}", "sd": f"no {unit}"})
    missing = sum(v is None for v in values)
    if missing:
        why = f"{missing} of {n} {unit} have none"
        return Metrics({"mean": None, "sd": None}, {"mean": why, "sd": why})
    defined = [float(v) for v in values if v is not None]
    if n == 1:
        return Metrics({"mean": defined[0], "sd": None}, {"sd": f"needs at least 2 {unit}, there is 1"})
    return Metrics({"mean": statistics.mean(defined), "sd": statistics.stdev(defined)})


def format_mean_sd(row: Mapping[str, Any], digits: int = 3) -> str:
    """``0.812 ± 0.030`` from a ``mean_sd`` row (``mean``, ``sd``, their ``_undefined``): ``undefined (why)`` when the
    mean is undefined, the mean alone when only the spread is (one value)."""
    if row.get("mean") is None or row.get("sd") is None:
        return format_metric(row, "mean", digits)
    return f"{format_metric(row, 'mean', digits)} ± {format_metric(row, 'sd', digits)}"
