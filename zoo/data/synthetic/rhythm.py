"""How well a routine keeps the beat: where its poses land relative to the music, and the rhythm term of the score.

An element's *onset* is the moment its pose is hit: its first hold frame (the figure stops moving). With a
soundtrack, each onset is placed a drawn fraction of a beat off the beat grid (``offset``, in beats) by
stretching or shortening the travel before the element; the score's rhythm term is computed from the onsets as
rendered (whole frames), so it is exactly what a model that hears the beat and sees the poses could measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .soundtrack import Beat

_BEFORE_FRAME = 1e-6  # s: an onset lies just before its frame's time, so that frame is the first hold frame


@dataclass(frozen=True)
class Rhythm:
    """A routine's beat, its rhythm quality, and where its poses land on the beat."""

    beat: Beat
    q_beat: float  # rhythm quality, U(0, 1): every pose is hit (1 - q_beat) / 2 of a beat early or late
    drawn: tuple[float, ...]  # the drawn offset of each element, in beats
    onsets: tuple[float, ...]  # s, first hold frame / fps of each element held within the video
    offsets: tuple[float, ...]  # beats in [-0.5, 0.5], of each onset from its nearest beat
    rhythm: float  # 1 - 2 * mean |offsets| (1 with no onset): 1 on the beat, 0 always half a beat off

    def latents(self) -> dict:
        return {
            "bpm": self.beat.bpm,
            "first_beat": self.beat.first,
            "beats": self.beat.times.tolist(),
            "root_hz": self.beat.root_hz,
            "q_beat": self.q_beat,
            "drawn_offsets": list(self.drawn),
            "onsets": list(self.onsets),
            "offsets": list(self.offsets),
            "rhythm": self.rhythm,
        }


def draw_offsets(rng: np.random.Generator, q_beat: float, count: int) -> np.ndarray:
    """Offsets [count] in beats: ``(1 - q_beat) / 2`` each, early or late at random."""
    return 0.5 * (1.0 - q_beat) * rng.choice((-1.0, 1.0), size=count)


def align_travels(
    travel_s: np.ndarray,
    moves: np.ndarray,
    holds: np.ndarray,
    start_s: float,
    n: int,
    beat: Beat,
    offsets: np.ndarray,
    fps: float,
) -> np.ndarray:
    """Travel times [n + 1] re-timed so that element i's hold starts ``offsets[i]`` beats off the beat.

    Each travel changes by at most about half a beat (the nearest grid point), never below half its time, and
    each onset falls on a frame (so the rendered onset is the planned one).
    """
    travel = np.array(travel_s, dtype=float)
    t = start_s  # when travel i starts
    for i in range(n):
        natural = t + travel[i] + moves[i][0]
        k = round((natural - beat.first) / beat.period - offsets[i])
        while True:
            planned = beat.first + (k + offsets[i]) * beat.period
            onset = round(planned * fps) / fps - _BEFORE_FRAME
            if onset - t - moves[i][0] >= 0.5 * travel_s[i]:
                break
            k += 1  # too early to get there: the next beat
        travel[i] = onset - t - moves[i][0]
        t = onset + holds[i] + moves[i][1]
    return travel


def measure(beat: Beat, hold_starts: list[int], fps: float, n_frames: int) -> tuple[list[float], list[float], float]:
    """Onsets (s), their offsets from the nearest beat (beats) and the rhythm ``1 - 2 mean |offset|``."""
    onsets = [h / fps for h in hold_starts if h < n_frames]
    offsets = [_wrap((t - beat.first) / beat.period) for t in onsets]
    rhythm = 1.0 - 2.0 * float(np.mean(np.abs(offsets))) if offsets else 1.0
    return onsets, offsets, rhythm


def _wrap(beats: float) -> float:
    """A position in beats as the signed distance to its nearest beat, in [-0.5, 0.5]."""
    return float(beats - np.round(beats))
