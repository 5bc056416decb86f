"""A routine: the latent factors of one video, its judged score, and the figure's pose, place and lift per frame.

Everything here is cheap (no pixels): ``sample_routine(index, seed)`` gives the latents and the score of a video
without rendering it. The score is a known function of the latents (``judge``, docs/SYNTHETIC.md).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

import numpy as np

from registry import ConfigError

from .config import DEFAULT_CONFIG, ScoreModel, SyntheticConfig
from .figure import ELEMENTS, JOINT_ANGLES, LIMB_ANGLES, A, Element
from .motion import HOLD, IN, MAX_JOINT, OUT, STAND, TRAVEL, Motion, roughness
from .rhythm import Rhythm, align_travels, draw_offsets, measure
from .scene import FLOOR_HALF, count_exits
from .soundtrack import RHYTHM_STREAM, Soundtrack, draw_beat

_INNER = (FLOOR_HALF[0] - 0.2, FLOOR_HALF[1] - 0.15)  # where elements are placed: limbs stay over the floor area


@dataclass(frozen=True)
class Score:
    """The judged score: raw parts and the printed 2-decimal values in hundredths (Total = D + E - P exactly)."""

    difficulty: float
    execution: float  # after clipping to [0, e_max], judge noise included
    penalty: float
    noise: float
    cents: tuple[int, int, int, int]  # D, E, Total, P as printed, in hundredths
    rhythm_deduction: float = 0.0  # the part of ``penalty`` for poses off the beat (soundtrack sets only)

    @property
    def total(self) -> float:
        return self.cents[2] / 100.0


@dataclass(frozen=True)
class PerformedElement:
    """One element of a routine: which, where, and its frames ``[start, hold_start, hold_end, end)``."""

    name: str
    value: float
    position: tuple[float, float]
    frames: tuple[int, int, int, int]


@dataclass(frozen=True)
class Routine:
    """Latent factors, score and per-frame motion of one synthetic video (arrays have one row per frame)."""

    index: int
    seed: int
    fps: float
    q_dyn: float
    q_sta: float
    exits: int
    elements: tuple[PerformedElement, ...]
    score: Score
    angles: np.ndarray  # [T, 10] joint angles as performed (degrees, figure.ANGLES)
    ideal_angles: np.ndarray  # [T, 10] the same routine without static faults (q_sta = 1)
    position: np.ndarray  # [T, 2] floor X, Z
    lift: np.ndarray  # [T] height of the body above the floor (leaps, bouncing steps)
    facing: np.ndarray  # [T] +1 faces +X, -1 faces -X; values between are a turn
    phase: np.ndarray  # [T] int8 index into PHASES
    element_of_frame: np.ndarray  # [T] int8 index into elements, -1 between elements
    measured: dict[str, float]  # realised statistics of the latents, for analysis
    rhythm: Rhythm | None = None  # the beat and how well the poses keep it (sets with a soundtrack only)

    @property
    def n_frames(self) -> int:
        return len(self.phase)

    def latents(self) -> dict:
        """The latent factors, the score and the measured statistics as plain JSON-able values."""
        d, e, t, p = self.score.cents
        return {
            "index": self.index,
            "seed": self.seed,
            "q_dyn": self.q_dyn,
            "q_sta": self.q_sta,
            "exits": self.exits,
            "n_elements": len(self.elements),
            "element_values": [el.value for el in self.elements],
            "elements": [
                {"name": el.name, "value": el.value, "position": list(el.position), "frames": list(el.frames)}
                for el in self.elements
            ],
            "difficulty": self.score.difficulty,
            "execution": self.score.execution,
            "penalty": self.score.penalty,
            "noise": self.score.noise,
            "printed": {"difficulty": d / 100, "execution": e / 100, "total": t / 100, "penalty": p / 100},
            "measured": dict(self.measured),
            # Only with a soundtrack: the latents of a set without one are what they always were.
            **(
                {"rhythm": self.rhythm.latents(), "rhythm_deduction": self.score.rhythm_deduction}
                if self.rhythm
                else {}
            ),
        }


def judge(
    values: list[float],
    q_dyn: float,
    q_sta: float,
    exits: int,
    noise: float,
    model: ScoreModel = DEFAULT_CONFIG.score,
    rhythm: float | None = None,
    rhythm_weight: float = 0.0,
) -> Score:
    """The judged score as a function of the latents (the formula of docs/SYNTHETIC.md).

    ``rhythm`` (sets with a soundtrack) adds ``rhythm_weight * (1 - rhythm)`` to the penalty; None adds nothing.
    """
    difficulty = model.d_base + model.difficulty_scale * float(sum(values))
    execution = model.e_base + model.w_dyn * q_dyn + model.w_sta * q_sta + noise
    execution = min(max(execution, 0.0), model.e_max)
    penalty = model.penalty_per_exit * exits
    deduction = 0.0
    if rhythm is not None:
        deduction = rhythm_weight * (1.0 - rhythm)
        penalty += deduction
    d, e, p = (round(v * 100) for v in (difficulty, execution, penalty))
    return Score(difficulty, execution, penalty, noise, (d, e, d + e - p, p), deduction)


@dataclass(frozen=True)
class _Latents:
    """The latent factors of a video as first drawn (before the video's length caps elements and exits)."""

    q_dyn: float
    q_sta: float
    n_wanted: int
    order: np.ndarray  # the elements in the order they are chosen
    exits_wanted: int
    noise: float


@dataclass(frozen=True)
class _Plan:
    """What the routine does when and where: elements, their timing, the places and the paths between them."""

    chosen: list[Element]
    exits: int
    holds: np.ndarray  # [len(ELEMENTS)] s; the first len(chosen) are used
    moves: np.ndarray  # [len(ELEMENTS), 2] s into and out of each element
    places: list[np.ndarray]  # start, one per element, end
    paths: list[list[np.ndarray]]  # one polyline per travel (a detour past the boundary adds a point)
    lengths: np.ndarray  # [n + 1] length of each path
    travel_s: np.ndarray  # [n + 1] s per travel


def sample_routine(
    index: int,
    seed: int = 0,
    fps: float = 10.0,
    duration: float = 20.0,
    config: SyntheticConfig = DEFAULT_CONFIG,
    soundtrack: Soundtrack | None = None,
) -> Routine:
    """The routine of video ``index`` of the set made with ``seed``: latents, score and motion, without pixels.

    With a ``soundtrack`` the routine also has a beat, its poses land on or off it, and the score has a rhythm
    term; without one it is exactly the routine of a set without a soundtrack.
    """
    if index < 0 or seed < 0:
        raise ConfigError(f"synthetic routine: index and seed must be >= 0, got index={index}, seed={seed}")
    n_frames = round(duration * fps)
    if n_frames < 2:
        raise ConfigError(f"synthetic routine: duration {duration} s at {fps} fps gives {n_frames} frames, need >= 2")
    cfg = config
    # One stream per video, drawn in a fixed order: latents, timing, places, static faults, per-frame noise.
    rng = np.random.default_rng([seed, index])
    lat = _draw_latents(rng, cfg)
    plan = _plan(rng, cfg, lat, n_frames / fps)
    if soundtrack is not None:
        # Its own stream, drawn after the plan: the main stream draws what it draws without a soundtrack.
        beat_rng = np.random.default_rng([seed, index, RHYTHM_STREAM])
        beat = draw_beat(beat_rng, n_frames / fps, soundtrack)
        q_beat = float(beat_rng.uniform(0.0, 1.0))
        drawn = draw_offsets(beat_rng, q_beat, len(ELEMENTS))[: len(plan.chosen)]
        travel_s = align_travels(plan.travel_s, plan.moves, plan.holds, cfg.start_s, len(plan.chosen), beat, drawn, fps)
        plan = dataclasses.replace(plan, travel_s=travel_s)
    targets, ideals = _static_faults(rng, plan.chosen, lat.q_sta, cfg)
    motion = _animate(rng, cfg, lat, plan, targets, ideals, n_frames, fps, still_holds=soundtrack is not None)
    n = len(plan.chosen)
    elements = _performed(plan, motion, n_frames)
    rhythm, weight = None, 0.0
    if soundtrack is not None:
        held = [el.frames[1] for el in elements if el.frames[2] > el.frames[1]]  # reached its pose in the video
        onsets, offsets, score = measure(beat, held, fps, n_frames)
        rhythm = Rhythm(beat, q_beat, tuple(float(v) for v in drawn), tuple(onsets), tuple(offsets), score)
        weight = soundtrack.rhythm_weight
    values = [el.value for el in plan.chosen]
    measured = {
        "hold_error_deg": _hold_error(targets, ideals),
        "roughness_deg": roughness(motion.angles, motion.phase),
        "tempo_cv": float(np.std(plan.moves[:n]) / np.mean(plan.moves[:n])) if n else 0.0,
        "path_length": float(plan.lengths.sum()),
        "exits_seen": count_exits(motion.position),
        "hold_share": float(np.mean(motion.phase == HOLD)),
    }
    return Routine(
        index=index,
        seed=seed,
        fps=fps,
        q_dyn=lat.q_dyn,
        q_sta=lat.q_sta,
        exits=plan.exits,
        elements=elements,
        score=judge(
            values,
            lat.q_dyn,
            lat.q_sta,
            plan.exits,
            lat.noise,
            cfg.score,
            None if rhythm is None else rhythm.rhythm,
            weight,
        ),
        angles=motion.angles,
        ideal_angles=motion.ideal_angles,
        position=motion.position,
        lift=motion.lift,
        facing=motion.facing,
        phase=motion.phase,
        element_of_frame=motion.element,
        measured=measured,
        rhythm=rhythm,
    )


def _draw_latents(rng: np.random.Generator, cfg: SyntheticConfig) -> _Latents:
    """The latent factors, drawn first so that they do not depend on how the motion is drawn."""
    q_dyn, q_sta = (float(v) for v in rng.uniform(0.0, 1.0, size=2))
    n_wanted = int(rng.integers(cfg.elements[0], cfg.elements[1] + 1))
    order = rng.permutation(len(ELEMENTS))
    exits_wanted = int(rng.choice(len(cfg.exit_probs), p=np.asarray(cfg.exit_probs) / sum(cfg.exit_probs)))
    noise = float(rng.normal(0.0, cfg.score.noise_sigma))
    return _Latents(q_dyn, q_sta, n_wanted, order, exits_wanted, noise)


def _plan(rng: np.random.Generator, cfg: SyntheticConfig, lat: _Latents, duration_s: float) -> _Plan:
    """Elements that fit in ``duration_s``, their timing, and the places and paths of the travels between them."""
    # Timing: tempo irregularity stretches each movement by a log-normal factor.
    holds = rng.uniform(*cfg.hold_s, size=len(ELEMENTS))
    sigma = cfg.tempo_sigma * (1.0 - lat.q_dyn)
    tempo = np.exp(sigma * rng.standard_normal((len(ELEMENTS), 2)) - sigma**2 / 2)  # mean 1: no drift in time spent
    moves = np.clip(cfg.move_s * tempo, 0.25, 3.0 * cfg.move_s)
    n = min(lat.n_wanted, len(ELEMENTS))
    while n > 0 and cfg.start_s + (holds[:n] + moves[:n].sum(1)).sum() + (n + 1) * cfg.min_travel_s > duration_s:
        n -= 1
    chosen = [ELEMENTS[i] for i in lat.order[:n]]
    exits = min(lat.exits_wanted, n + 1)

    # Places: start, one per element, end, drawn alike for every athlete; some travels detour past the boundary.
    places = _places(rng, n + 2, cfg.coverage)
    paths = [[places[i], places[i + 1]] for i in range(n + 1)]
    for i in sorted(rng.choice(n + 1, size=exits, replace=False).tolist()):
        paths[i].insert(1, _outside_point(rng, paths[i][0], paths[i][1]))
    lengths = np.array([sum(np.linalg.norm(b - a) for a, b in itertools.pairwise(p)) for p in paths])
    spare = duration_s - cfg.start_s - (holds[:n] + moves[:n].sum(1)).sum() - (n + 1) * cfg.min_travel_s
    travel_s = cfg.min_travel_s + spare * 0.85 * lengths / max(lengths.sum(), 1e-9)  # 15 % left to stand at the end
    return _Plan(chosen, exits, holds, moves, places, paths, lengths, travel_s)


def _animate(
    rng: np.random.Generator,
    cfg: SyntheticConfig,
    lat: _Latents,
    plan: _Plan,
    targets: list[np.ndarray],
    ideals: list[np.ndarray],
    n_frames: int,
    fps: float,
    still_holds: bool = False,
) -> Motion:
    """The per-frame pose, place and lift of the routine, segment by segment of its timeline."""
    n = len(plan.chosen)
    segments = _timeline(cfg, plan.places, plan.paths, plan.travel_s, plan.moves, plan.holds, n)
    motion = Motion(cfg, lat.q_dyn, lat.q_sta, plan.chosen, targets, ideals, plan.places, still_holds)
    frames = np.arange(n_frames) / fps
    for phase, t0, t1, payload in segments:
        sel = np.flatnonzero((frames >= t0) & (frames < t1))
        if len(sel):
            motion.fill(sel, frames[sel], phase, t0, t1, payload)
    motion.finish(rng)
    return motion


def _performed(plan: _Plan, motion: Motion, n_frames: int) -> tuple[PerformedElement, ...]:
    """The elements as performed: where, and their frames ``[start, hold_start, hold_end, end)``."""
    performed = []
    for i, el in enumerate(plan.chosen):
        own = np.flatnonzero(motion.element == i)
        held = np.flatnonzero((motion.element == i) & (motion.phase == HOLD))
        start, end = (int(own[0]), int(own[-1]) + 1) if len(own) else (n_frames, n_frames)
        hold = (int(held[0]), int(held[-1]) + 1) if len(held) else (start, start)
        position = tuple(float(v) for v in plan.places[i + 1])
        performed.append(PerformedElement(el.name, el.value, position, (start, *hold, end)))
    return tuple(performed)


def _static_faults(
    rng: np.random.Generator, chosen: list[Element], q_sta: float, cfg: SyntheticConfig
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Held poses as performed and as ideal: short of the extension, a lean, per-limb errors, bent joints."""
    targets, ideals = [], []
    bad = 1.0 - q_sta
    for el in chosen:
        ideal = np.asarray(el.pose)
        target = ideal.copy()
        for name in (*LIMB_ANGLES, "torso"):
            target[A[name]] *= 1.0 - cfg.shortfall * bad
        for name in LIMB_ANGLES:
            target[A[name]] += cfg.limb_error_deg * bad * rng.choice((-1.0, 1.0))
        target[A["torso"]] += cfg.lean_deg * bad * rng.choice((-1.0, 1.0))
        for name in JOINT_ANGLES:
            target[A[name]] = min(target[A[name]] + cfg.flexion_deg * bad, MAX_JOINT)
        targets.append(target)
        ideals.append(ideal)
    return targets, ideals


def _timeline(cfg, places, paths, travel_s, moves, holds, n) -> list[tuple[int, float, float, dict]]:
    """The segments of a routine: (phase, start s, end s, what the phase needs)."""
    segments: list[tuple[int, float, float, dict]] = [(STAND, 0.0, cfg.start_s, {"at": places[0]})]
    t = cfg.start_s
    for i in range(n + 1):
        # A detour past the boundary is two legs, so the figure slows down (and turns) outside: the exit shows.
        legs = list(itertools.pairwise(paths[i]))
        leg_lengths = np.array([np.linalg.norm(b - a) for a, b in legs])
        for (a, b), share in zip(legs, leg_lengths / max(leg_lengths.sum(), 1e-9)):
            leg_s = travel_s[i] * share if len(legs) > 1 else travel_s[i]
            segments.append((TRAVEL, t, t + leg_s, {"path": [a, b]}))
            t += leg_s
        if i < n:
            for phase, length in ((IN, moves[i][0]), (HOLD, holds[i]), (OUT, moves[i][1])):
                segments.append((phase, t, t + length, {"element": i}))
                t += length
    segments.append((STAND, t, math.inf, {"at": places[-1]}))
    return segments


def _places(rng: np.random.Generator, count: int, coverage: float) -> list[np.ndarray]:
    """``count`` floor places inside ``coverage`` of the inner floor area, each far enough from the one before."""
    half = np.asarray(_INNER) * coverage
    out = [rng.uniform(-half, half)]
    for _ in range(count - 1):
        for _try in range(8):  # prefer real travelling; give up quietly on a crowded small floor
            p = rng.uniform(-half, half)
            if np.linalg.norm(p - out[-1]) >= 0.6 * half[0]:
                break
        out.append(p)
    return out


def _outside_point(rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A detour point just past the nearest boundary line of the floor area, between ``a`` and ``b``."""
    mid = (a + b) / 2.0
    gaps = np.array([FLOOR_HALF[0] - mid[0], FLOOR_HALF[0] + mid[0], FLOOR_HALF[1] - mid[1], FLOOR_HALF[1] + mid[1]])
    side = int(np.argmin(gaps))
    beyond = rng.uniform(0.2, 0.35)
    p = np.clip(mid, -0.6 * np.asarray(FLOOR_HALF), 0.6 * np.asarray(FLOOR_HALF))  # corners may leave the frame
    axis, sign = divmod(side, 2)
    p[axis] = (1 - 2 * sign) * (FLOOR_HALF[axis] + beyond)
    return p


def _hold_error(targets: list[np.ndarray], ideals: list[np.ndarray]) -> float:
    """Mean absolute angle error of the held poses against the ideal ones (degrees)."""
    if not targets:
        return 0.0
    return float(np.mean([np.abs(t - i).mean() for t, i in zip(targets, ideals)]))
