"""``VideoScore``: one video scored by a checkpoint (the score, what it is a score of, where the model looked).

Its own module because ``predict`` makes them and ``timeline`` draws them: neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class VideoScore:
    name: str
    score: float  # in the annotation's units (the model's output times the training score scale)
    weights: dict[str, list[float] | None] = field(default_factory=dict)
    seconds_per_instance: dict[str, float | None] = field(default_factory=dict)
    source: str = ""  # the video or feature file scored
    judged: float | None = None  # the judged score, where the caller knows it
    target: str | None = None  # which annotation column ``score`` and ``judged`` are (total, difficulty, tes, ...)
    accepted: list[str] = field(default_factory=list)  # mismatches accepted to score this item

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "score": self.score, "weights": self.weights, "source": self.source}
        if self.target is not None:
            out["target"] = self.target
        if self.judged is not None:
            out["judged"] = self.judged
        if self.accepted:
            out["accepted"] = self.accepted
        return out
