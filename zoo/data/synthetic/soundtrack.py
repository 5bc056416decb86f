"""The opt-in soundtrack of the synthetic set: its settings, the beat grid of a routine, and the music as samples.

The music is a kick drum on every beat over a soft sustained chord (the chord has a steady level, so the only
onsets in the audio are the beats). Everything is drawn in ``routine.sample_routine`` from a stream of its own
(``[seed, index, RHYTHM_STREAM]``), so a set without a soundtrack draws exactly what it always drew.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from registry import ConfigError

SOUNDTRACK_VERSION = 2  # part of a soundtrack set's parameters: bump when the same settings give other audio
RHYTHM_STREAM = 1  # video i's soundtrack and rhythm draw from numpy.random.default_rng([seed, i, RHYTHM_STREAM])
KICK_S = 0.2  # length of one kick: shorter than the shortest beat period (0.4 s at 150 bpm)


@dataclass(frozen=True)
class Soundtrack:
    """Settings of the soundtrack and of the rhythm term of the score (docs/SYNTHETIC.md, "The soundtrack")."""

    sample_rate: int = 16000  # Hz, mono
    bpm: tuple[float, float] = (90.0, 150.0)  # tempo drawn uniformly per routine
    rhythm_weight: float = 3.0  # deduction (added to P) of a routine whose every pose lands half a beat off
    kick_level: float = 0.6  # peak amplitude of a kick (full scale 1)
    pad_level: float = 0.05  # amplitude of each of the chord's three tones
    bitrate: int = 32000  # AAC, bits per second (mono 16 kHz music needs little)

    def __post_init__(self) -> None:
        if self.sample_rate < 8000:
            raise ConfigError(f"synthetic soundtrack: sample_rate must be >= 8000 Hz, got {self.sample_rate}")
        low, high = self.bpm if len(self.bpm) == 2 else (0.0, -1.0)  # not a pair: refused below
        if not 30.0 <= low <= high <= 60.0 / KICK_S:
            raise ConfigError(
                f"synthetic soundtrack: bpm must be [low, high] with 30 <= low <= high <= {60.0 / KICK_S:g} "
                f"(a kick lasts {KICK_S} s), got {list(self.bpm)}"
            )
        if self.rhythm_weight < 0 or self.kick_level <= 0 or self.pad_level < 0:
            raise ConfigError(
                "synthetic soundtrack: rhythm_weight and pad_level must be >= 0 and kick_level > 0, got "
                f"{self.rhythm_weight}, {self.pad_level}, {self.kick_level}"
            )
        if self.kick_level + 3 * self.pad_level > 1.0:
            raise ConfigError(
                f"synthetic soundtrack: kick_level + 3 * pad_level must be <= 1 (no clipping), got "
                f"{self.kick_level + 3 * self.pad_level:g}"
            )


def as_soundtrack(spec: Soundtrack | Mapping[str, Any] | bool | None) -> Soundtrack | None:
    """The soundtrack a set asks for: None/False none, True the defaults, a mapping some settings changed."""
    if spec is None or spec is False:
        return None
    if spec is True:
        return Soundtrack()
    if isinstance(spec, Soundtrack):
        return spec
    if not isinstance(spec, Mapping):
        raise ConfigError(f"synthetic soundtrack must be true, false or a mapping of settings, got {spec!r}")
    names = [f.name for f in dataclasses.fields(Soundtrack)]
    unknown = sorted(str(k) for k in spec if k not in names)
    if unknown:
        raise ConfigError(f"synthetic soundtrack: unknown setting(s) {unknown}; it accepts: {', '.join(names)}")
    values = dict(spec)
    if "bpm" in values:
        values["bpm"] = tuple(float(v) for v in values["bpm"])
    return Soundtrack(**values)


def soundtrack_params(soundtrack: Soundtrack) -> dict[str, Any]:
    """What a set's parameters hold of its soundtrack: every setting and the soundtrack's version."""
    return {**dataclasses.asdict(soundtrack), "version": SOUNDTRACK_VERSION}


@dataclass(frozen=True)
class Beat:
    """A routine's beat: the tempo, the time of the first beat and of every beat within the video (s)."""

    bpm: float
    first: float  # in [0, period)
    times: np.ndarray  # [n_beats]
    root_hz: float  # the chord's root

    @property
    def period(self) -> float:
        return 60.0 / self.bpm


ROOTS_HZ = (110.0, 123.47, 130.81, 146.83, 164.81, 174.61, 196.0)  # A2 .. G3: the chord's root, drawn per routine


def draw_beat(rng: np.random.Generator, duration_s: float, soundtrack: Soundtrack) -> Beat:
    """The beat of one routine: tempo U(bpm), the first beat U(0, period), and the chord's root."""
    bpm = float(rng.uniform(*soundtrack.bpm))
    period = 60.0 / bpm
    first = float(rng.uniform(0.0, period))
    root = float(ROOTS_HZ[int(rng.integers(len(ROOTS_HZ)))])
    times = first + period * np.arange(int(np.floor((duration_s - first) / period)) + 1)
    return Beat(bpm, first, times[times < duration_s], root)


def synthesize(beat: Beat, n_samples: int, soundtrack: Soundtrack) -> np.ndarray:
    """The music [n_samples] float32 in [-1, 1]: a kick on every beat over a steady major chord."""
    sr = soundtrack.sample_rate
    t = np.arange(n_samples) / sr
    out = np.zeros(n_samples)
    # The chord: root, major third, fifth; faded in and out over 50 ms so the track starts and ends quietly.
    for ratio in (1.0, 1.25, 1.5):
        out += soundtrack.pad_level * np.sin(2.0 * np.pi * beat.root_hz * ratio * t)
    fade = np.clip(np.minimum(t, n_samples / sr - t) / 0.05, 0.0, 1.0)
    out *= fade
    kick = soundtrack.kick_level * _kick(sr)
    for time in beat.times:
        start = round(time * sr)
        piece = kick[: max(n_samples - start, 0)]
        out[start : start + len(piece)] += piece
    return out.astype(np.float32)


@lru_cache(maxsize=4)
def _kick(sample_rate: int) -> np.ndarray:
    """One kick drum [KICK_S * sample_rate], peak 1: a sine sweeping 150 -> 50 Hz, decaying, with a 2 ms attack."""
    t = np.arange(round(KICK_S * sample_rate)) / sample_rate
    freq = 50.0 + 100.0 * np.exp(-t / 0.03)
    phase = 2.0 * np.pi * np.cumsum(freq) / sample_rate
    # The attack ramp keeps the onset a sharp step in energy without a click at the very first sample.
    envelope = np.exp(-t / 0.05) * np.clip(t / 0.002, 0.0, 1.0)
    kick = envelope * np.sin(phase)
    kick = kick / np.abs(kick).max()
    kick.flags.writeable = False  # cached and shared by every video of the process
    return kick
