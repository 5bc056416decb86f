"""A routine: the latent factors of one video, its judged score, and the figure's pose, place and lift per frame.

Everything here is cheap (no pixels): ``sample_routine(index, seed)`` gives the latents and the score of a video
without rendering it. The score is a known function of the latents (``judge``, docs/SYNTHETIC.md).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .config import DEFAULT_CONFIG, ScoreModel, SyntheticConfig
from .figure import ELEMENTS, JOINT_ANGLES, LIMB_ANGLES, NEUTRAL, A
from .scene import FLOOR_HALF, count_exits

PHASES = ("stand", "travel", "in", "hold", "out")
STAND, TRAVEL, IN, HOLD, OUT = range(len(PHASES))
_INNER = (FLOOR_HALF[0] - 0.2, FLOOR_HALF[1] - 0.15)  # where elements are placed: limbs stay over the floor area
_TURN_S = 0.3  # a change of direction squeezes the profile through zero over this time
_MAX_JOINT = 160.0  # elbows and knees never fold further


@dataclass(frozen=True)
class Score:
    """The judged score: raw parts and the printed 2-decimal values in hundredths (Total = D + E - P exactly)."""

    difficulty: float
    execution: float  # after clipping to [0, e_max], judge noise included
    penalty: float
    noise: float
    cents: tuple[int, int, int, int]  # D, E, Total, P as printed, in hundredths

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
        }


def judge(
    values: list[float], q_dyn: float, q_sta: float, exits: int, noise: float, model: ScoreModel = DEFAULT_CONFIG.score
) -> Score:
    """The judged score as a function of the latents (the formula of docs/SYNTHETIC.md)."""
    difficulty = model.d_base + model.difficulty_scale * float(sum(values))
    execution = model.e_base + model.w_dyn * q_dyn + model.w_sta * q_sta + noise
    execution = min(max(execution, 0.0), model.e_max)
    penalty = model.penalty_per_exit * exits
    d, e, p = (round(v * 100) for v in (difficulty, execution, penalty))
    return Score(difficulty, execution, penalty, noise, (d, e, d + e - p, p))


def sample_routine(
    index: int, seed: int = 0, fps: float = 10.0, duration: float = 20.0, config: SyntheticConfig = DEFAULT_CONFIG
) -> Routine:
    """The routine of video ``index`` of the set made with ``seed``: latents, score and motion, without pixels."""
    if index < 0 or seed < 0:
        raise ValueError(f"synthetic routine: index and seed must be >= 0, got index={index}, seed={seed}")
    n_frames = round(duration * fps)
    if n_frames < 2:
        raise ValueError(f"synthetic routine: duration {duration} s at {fps} fps gives {n_frames} frames, need >= 2")
    cfg = config
    rng = np.random.default_rng([seed, index])
    # Latent factors first, so they do not depend on how the motion is drawn.
    q_dyn, q_sta = (float(v) for v in rng.uniform(0.0, 1.0, size=2))
    n_wanted = int(rng.integers(cfg.elements[0], cfg.elements[1] + 1))
    order = rng.permutation(len(ELEMENTS))
    exits_wanted = int(rng.choice(len(cfg.exit_probs), p=np.asarray(cfg.exit_probs) / sum(cfg.exit_probs)))
    noise = float(rng.normal(0.0, cfg.score.noise_sigma))

    # Timing: tempo irregularity stretches each movement by a log-normal factor.
    holds = rng.uniform(*cfg.hold_s, size=len(ELEMENTS))
    tempo = np.exp(cfg.tempo_sigma * (1.0 - q_dyn) * rng.standard_normal((len(ELEMENTS), 2)))
    moves = np.clip(cfg.move_s * tempo, 0.25, 3.0 * cfg.move_s)
    duration_s = n_frames / fps
    n = min(n_wanted, len(ELEMENTS))
    while n > 0 and cfg.start_s + (holds[:n] + moves[:n].sum(1)).sum() + (n + 1) * cfg.min_travel_s > duration_s:
        n -= 1
    chosen = [ELEMENTS[i] for i in order[:n]]
    exits = min(exits_wanted, n + 1)

    # Places: start, one per element, end; q_dyn decides how much of the floor the routine covers.
    coverage = cfg.coverage[0] + (cfg.coverage[1] - cfg.coverage[0]) * q_dyn
    places = _places(rng, n + 2, coverage)
    paths = [[places[i], places[i + 1]] for i in range(n + 1)]
    for i in sorted(rng.choice(n + 1, size=exits, replace=False).tolist()):
        paths[i].insert(1, _outside_point(rng, paths[i][0], paths[i][1]))
    lengths = np.array([sum(np.linalg.norm(b - a) for a, b in itertools.pairwise(p)) for p in paths])
    spare = duration_s - cfg.start_s - (holds[:n] + moves[:n].sum(1)).sum() - (n + 1) * cfg.min_travel_s
    travel_s = cfg.min_travel_s + spare * 0.85 * lengths / max(lengths.sum(), 1e-9)  # 15 % left to stand at the end

    # Static faults of each element (q_sta): short of the ideal extension, a lean, per-limb errors, bent joints.
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
            target[A[name]] = min(target[A[name]] + cfg.flexion_deg * bad, _MAX_JOINT)
        targets.append(target)
        ideals.append(ideal)

    # Segments of the timeline: (phase, start s, end s, payload).
    segments: list[tuple[int, float, float, dict]] = []
    t = 0.0
    segments.append((STAND, t, t + cfg.start_s, {"at": places[0]}))
    t += cfg.start_s
    for i in range(n + 1):
        segments.append((TRAVEL, t, t + travel_s[i], {"path": paths[i]}))
        t += travel_s[i]
        if i < n:
            m_in, m_out = moves[i]
            for phase, length in ((IN, m_in), (HOLD, holds[i]), (OUT, m_out)):
                segments.append((phase, t, t + length, {"element": i}))
                t += length
    segments.append((STAND, t, math.inf, {"at": places[-1]}))

    motion = _Motion(cfg, q_dyn, q_sta, chosen, targets, ideals, places)
    frames = np.arange(n_frames) / fps
    for phase, t0, t1, payload in segments:
        sel = np.flatnonzero((frames >= t0) & (frames < t1))
        if len(sel):
            motion.fill(sel, frames[sel], phase, t0, t1, payload)
    motion.finish(rng)

    performed = []
    for i, el in enumerate(chosen):
        own = np.flatnonzero(motion.element == i)
        held = np.flatnonzero((motion.element == i) & (motion.phase == HOLD))
        start, end = (int(own[0]), int(own[-1]) + 1) if len(own) else (n_frames, n_frames)
        hold = (int(held[0]), int(held[-1]) + 1) if len(held) else (start, start)
        performed.append(
            PerformedElement(el.name, el.value, tuple(float(v) for v in places[i + 1]), (start, *hold, end))
        )

    measured = {
        "hold_error_deg": _hold_error(targets, ideals),
        "jitter_deg": cfg.jitter_deg * (1.0 - q_dyn),
        "tempo_cv": float(np.std(moves[:n]) / np.mean(moves[:n])) if n else 0.0,
        "coverage": coverage,
        "path_length": float(lengths.sum()),
        "exits_seen": count_exits(motion.position),
        "hold_share": float(np.mean(motion.phase == HOLD)),
    }
    return Routine(
        index=index,
        seed=seed,
        fps=fps,
        q_dyn=q_dyn,
        q_sta=q_sta,
        exits=exits,
        elements=tuple(performed),
        score=judge([el.value for el in chosen], q_dyn, q_sta, exits, noise, cfg.score),
        angles=motion.angles,
        ideal_angles=motion.ideal_angles,
        position=motion.position,
        lift=motion.lift,
        facing=motion.facing,
        phase=motion.phase,
        element_of_frame=motion.element,
        measured=measured,
    )


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


def _minimum_jerk(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10 - 15 * u + 6 * u**2)


def _profile(u: np.ndarray, stutter: float) -> np.ndarray:
    """Progress 0..1 of a movement: smooth minimum jerk, mixed with stop-and-go in three bursts."""
    bursts = 3
    k = np.minimum(np.floor(u * bursts), bursts - 1)
    stop_go = (k + _minimum_jerk((u * bursts - k) * 2.0)) / bursts
    return (1.0 - stutter) * _minimum_jerk(u) + stutter * stop_go


def _ramp(t: np.ndarray, t0: float, t1: float, edge: float) -> np.ndarray:
    """1 inside [t0, t1], easing to 0 over ``edge`` seconds at both ends."""
    return np.clip(np.minimum(t - t0, t1 - t) / max(edge, 1e-9), 0.0, 1.0)


class _Motion:
    """Per-frame arrays filled segment by segment (performed and ideal poses share timing and jitter)."""

    def __init__(self, cfg, q_dyn, q_sta, chosen, targets, ideals, places) -> None:
        self.cfg, self.q_dyn, self.q_sta = cfg, q_dyn, q_sta
        self.chosen, self.targets, self.ideals, self.places = chosen, targets, ideals, places
        self._rows: list[tuple[np.ndarray, dict]] = []

    def fill(self, sel: np.ndarray, t: np.ndarray, phase: int, t0: float, t1: float, payload: dict) -> None:
        self._rows.append((sel, {"t": t, "phase": phase, "t0": t0, "t1": t1, **payload}))

    def finish(self, rng: np.random.Generator) -> None:
        cfg, bad, q = self.cfg, 1.0 - self.q_sta, self.q_dyn
        n_frames = sum(len(sel) for sel, _ in self._rows)
        angles = np.tile(np.asarray(NEUTRAL), (n_frames, 1))
        ideal = angles.copy()
        position = np.zeros((n_frames, 2))
        lift = np.zeros(n_frames)
        facing = np.zeros(n_frames)
        phase = np.zeros(n_frames, dtype=np.int8)
        element = np.full(n_frames, -1, dtype=np.int8)
        moving = np.zeros(n_frames, dtype=bool)
        posture = np.zeros(len(NEUTRAL))  # bent joints while not holding: 60 % of the held fault
        for name in JOINT_ANGLES:
            posture[A[name]] = 0.6 * cfg.flexion_deg * bad
        face = _sign(self.places[1][0] - self.places[0][0], 1.0)  # face the first travel from the start
        for sel, seg in self._rows:
            t, kind = seg["t"], seg["phase"]
            phase[sel] = kind
            if kind == STAND:
                position[sel] = seg["at"]
                angles[sel] = NEUTRAL + posture
                ideal[sel] = NEUTRAL
                facing[sel] = face
            elif kind == TRAVEL:
                position[sel] = _along(seg["path"], _minimum_jerk((t - seg["t0"]) / (seg["t1"] - seg["t0"])))
                new_face = _sign(seg["path"][-1][0] - seg["path"][0][0], face)
                turn = np.clip((t - seg["t0"]) / _TURN_S, 0.0, 1.0)
                facing[sel] = face + (new_face - face) * turn
                face = new_face
                gait = self._gait(t, seg["t0"], seg["t1"])
                angles[sel] = NEUTRAL + posture + gait[0]
                ideal[sel] = NEUTRAL + gait[0]
                lift[sel] = gait[1]
                moving[sel] = True
            else:
                i = seg["element"]
                el = self.chosen[i]
                element[sel] = i
                position[sel] = self.places[i + 1]
                facing[sel] = face
                if kind == HOLD:
                    s = np.ones(len(t))
                else:
                    u = (t - seg["t0"]) / (seg["t1"] - seg["t0"])
                    s = _profile(u, cfg.stutter * (1.0 - q))
                    s = s if kind == IN else 1.0 - s
                    moving[sel] = True
                start_p, start_i = NEUTRAL + posture, np.asarray(NEUTRAL)
                angles[sel] = start_p + s[:, None] * (self.targets[i] - start_p)
                ideal[sel] = start_i + s[:, None] * (self.ideals[i] - start_i)
                lift[sel] = el.air * s
        # Jitter (q_dyn): independent per frame and joint, only while moving, the same in both versions.
        jitter = cfg.jitter_deg * (1.0 - q) * rng.standard_normal(angles.shape)
        jitter[:, [A["torso"], A["head"]]] *= 0.5
        jitter[~moving] = 0.0
        self.angles, self.ideal_angles = angles + jitter, ideal + jitter
        for arr in (self.angles, self.ideal_angles):
            joints = [A[name] for name in JOINT_ANGLES]
            arr[:, joints] = np.clip(arr[:, joints], -10.0, _MAX_JOINT)
        self.position, self.lift, self.facing, self.phase, self.element = position, lift, facing, phase, element

    def _gait(self, t: np.ndarray, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Travelling steps: swinging legs and arms and a bounce whose size grows with q_dyn."""
        cfg, q = self.cfg, self.q_dyn
        legs, arms, bounce = (lo + (hi - lo) * q for lo, hi in (cfg.gait_legs_deg, cfg.gait_arms_deg, cfg.gait_bounce))
        env = _ramp(t, t0, t1, 0.25)
        phi = 2.0 * np.pi * cfg.step_hz * (t - t0)
        swing = np.sin(phi) * env
        delta = np.zeros((len(t), len(NEUTRAL)))
        delta[:, A["hip_n"]] = legs * swing
        delta[:, A["hip_f"]] = -legs * swing
        delta[:, A["knee_n"]] = 35.0 * env * np.maximum(0.0, -np.cos(phi))
        delta[:, A["knee_f"]] = 35.0 * env * np.maximum(0.0, np.cos(phi))
        delta[:, A["shoulder_n"]] = -arms * swing
        delta[:, A["shoulder_f"]] = arms * swing
        delta[:, A["torso"]] = 6.0 * env
        return delta, bounce * env * np.abs(np.sin(phi))


def _along(path: list[np.ndarray], u: np.ndarray) -> np.ndarray:
    """Positions at progress ``u`` (0..1) along a polyline, by arc length."""
    pts = np.asarray(path)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = u * cum[-1]
    return np.stack([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])], axis=-1)


def _sign(value: float, default: float) -> float:
    return default if abs(value) < 0.05 else math.copysign(1.0, value)


def _hold_error(targets: list[np.ndarray], ideals: list[np.ndarray]) -> float:
    """Mean absolute angle error of the held poses against the ideal ones (degrees)."""
    if not targets:
        return 0.0
    return float(np.mean([np.abs(t - i).mean() for t, i in zip(targets, ideals)]))
