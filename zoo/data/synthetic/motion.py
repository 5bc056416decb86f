"""How the figure moves frame by frame: travelling steps, movements into and out of poses, and the timing faults.

Filled segment by segment by ``routine.sample_routine``; the dynamic quality ``q_dyn`` only changes timing
(progress noise, stop-and-go, irregular speed, step phase noise, unsteady shifts), never a pose or a place.
"""

from __future__ import annotations

import math

import numpy as np

from .config import SyntheticConfig
from .figure import JOINT_ANGLES, NEUTRAL, A, Element
from .scene import FLOOR_HALF

PHASES = ("stand", "travel", "in", "hold", "out")
STAND, TRAVEL, IN, HOLD, OUT = range(len(PHASES))
_TURN_S = 0.3  # a change of direction squeezes the profile through zero over this time
MAX_JOINT = 160.0  # elbows and knees never fold further


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


class Motion:
    """Per-frame arrays filled segment by segment (performed and ideal poses share all timing)."""

    def __init__(
        self,
        cfg: SyntheticConfig,
        q_dyn: float,
        q_sta: float,
        chosen: list[Element],
        targets: list[np.ndarray],
        ideals: list[np.ndarray],
        places: list[np.ndarray],
        still_holds: bool = False,
    ) -> None:
        self.cfg, self.q_dyn, self.q_sta = cfg, q_dyn, q_sta
        self.still_holds = still_holds  # soundtrack sets: no unsteadiness in a held pose (see finish)
        self.chosen, self.targets, self.ideals, self.places = chosen, targets, ideals, places
        self._rows: list[tuple[np.ndarray, dict]] = []

    def fill(self, sel: np.ndarray, t: np.ndarray, phase: int, t0: float, t1: float, payload: dict) -> None:
        self._rows.append((sel, {"t": t, "phase": phase, "t0": t0, "t1": t1, **payload}))

    def finish(self, rng: np.random.Generator) -> None:
        cfg, bad, rough = self.cfg, 1.0 - self.q_sta, 1.0 - self.q_dyn
        n_frames = sum(len(sel) for sel, _ in self._rows)
        # Timing noise (q_dyn): white, one draw per frame, so only neighbouring frames reveal it.
        z_progress, z_speed, z_step, z_wobble = rng.standard_normal((4, n_frames))
        angles = np.tile(np.asarray(NEUTRAL), (n_frames, 1))
        ideal = angles.copy()
        position = np.zeros((n_frames, 2))
        lift = np.zeros(n_frames)
        facing = np.zeros(n_frames)
        phase = np.zeros(n_frames, dtype=np.int8)
        element = np.full(n_frames, -1, dtype=np.int8)
        # Posture faults between elements (q_sta): bent joints and a leaning torso, visible in any frame.
        posture = np.zeros(len(NEUTRAL))
        for name in JOINT_ANGLES:
            posture[A[name]] = cfg.flexion_deg * bad
        posture[A["torso"]] = cfg.posture_lean_deg * bad * rng.choice((-1.0, 1.0))
        face = _sign(self.places[1][0] - self.places[0][0], 1.0)  # face the first travel from the start
        for sel, seg in self._rows:
            t, kind, t0, t1 = seg["t"], seg["phase"], seg["t0"], seg["t1"]
            phase[sel] = kind
            if kind == STAND:
                position[sel] = seg["at"]
                angles[sel] = NEUTRAL + posture
                ideal[sel] = NEUTRAL
                facing[sel] = face
            elif kind == TRAVEL:
                u = _irregular((t - t0) / (t1 - t0), cfg.speed_jitter * rough * z_speed[sel])
                position[sel] = _along(seg["path"], _profile(u, cfg.stutter * rough))
                new_face = _sign(seg["path"][-1][0] - seg["path"][0][0], face)
                facing[sel] = face + (new_face - face) * np.clip((t - t0) / _TURN_S, 0.0, 1.0)
                face = new_face
                gait, lift[sel] = self._gait(t, t0, t1, cfg.step_jitter * rough * z_step[sel])
                angles[sel] = NEUTRAL + posture + gait
                ideal[sel] = NEUTRAL + gait
            else:
                i = seg["element"]
                element[sel] = i
                position[sel] = self.places[i + 1]
                facing[sel] = face
                if kind == HOLD:
                    s = np.ones(len(t))
                else:
                    s = _profile((t - t0) / (t1 - t0), cfg.stutter * rough)
                    wiggle = cfg.progress_jitter * rough * z_progress[sel] * 4.0 * s * (1.0 - s)  # none at the ends
                    s = np.clip(s + wiggle, 0.0, 1.0)
                    s = s if kind == IN else 1.0 - s
                start_p, start_i = NEUTRAL + posture, np.asarray(NEUTRAL)
                angles[sel] = start_p + s[:, None] * (self.targets[i] - start_p)
                ideal[sel] = start_i + s[:, None] * (self.ideals[i] - start_i)
                lift[sel] = self.chosen[i].air * s
        # Unsteadiness: the whole figure and its shadow shift sideways, the pose stays, so neither an athlete crop
        # nor a whole frame shows it. A shift never carries the feet across the boundary line (exits stay exits).
        # With music, a held pose is held still: the frame it is hit on (its onset, judged against the beat) is then
        # where the figure stops moving for every athlete, not only the steady ones. The draws are the same.
        x = position[:, 0]
        steady = (phase != HOLD) if self.still_holds else 1.0
        shifted = x + cfg.wobble * rough * z_wobble * steady
        inside, edge = np.abs(x) <= FLOOR_HALF[0], FLOOR_HALF[0] - 0.02
        beyond = np.sign(x) * np.maximum(shifted * np.sign(x), FLOOR_HALF[0] + 0.02)
        position[:, 0] = np.where(inside, np.clip(shifted, -edge, edge), beyond)
        joints = [A[name] for name in JOINT_ANGLES]
        angles[:, joints] = np.clip(angles[:, joints], -10.0, MAX_JOINT)
        ideal[:, joints] = np.clip(ideal[:, joints], -10.0, MAX_JOINT)
        self.angles, self.ideal_angles = angles, ideal
        self.position, self.lift, self.facing, self.phase, self.element = position, lift, facing, phase, element

    def _gait(self, t: np.ndarray, t0: float, t1: float, phase_noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Travelling steps (angle offsets [n, 10], lift [n]): swinging legs and arms, a bounce."""
        cfg = self.cfg
        env = _ramp(t, t0, t1, 0.25)
        cadence = cfg.step_hz[0] + (cfg.step_hz[1] - cfg.step_hz[0]) * self.q_dyn
        phi = 2.0 * np.pi * cadence * (t - t0) + phase_noise
        swing = np.sin(phi) * env
        delta = np.zeros((len(t), len(NEUTRAL)))
        delta[:, A["hip_n"]] = cfg.gait_legs_deg * swing
        delta[:, A["hip_f"]] = -cfg.gait_legs_deg * swing
        delta[:, A["knee_n"]] = 35.0 * env * np.maximum(0.0, -np.cos(phi))
        delta[:, A["knee_f"]] = 35.0 * env * np.maximum(0.0, np.cos(phi))
        delta[:, A["shoulder_n"]] = -cfg.gait_arms_deg * swing
        delta[:, A["shoulder_f"]] = cfg.gait_arms_deg * swing
        delta[:, A["torso"]] = 6.0 * env
        return delta, cfg.gait_bounce * env * np.abs(np.sin(phi))


def _irregular(u: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Re-time increasing progress values ``u`` with per-frame speed noise; still increasing, same end points."""
    if len(u) < 3:
        return u
    step = np.diff(u) * np.maximum(0.05, 1.0 + noise[1:])
    warped = np.concatenate([[0.0], np.cumsum(step)])
    return u[0] + warped * (u[-1] - u[0]) / warped[-1]


def _along(path: list[np.ndarray], u: np.ndarray) -> np.ndarray:
    """Positions at progress ``u`` (0..1) along a polyline, by arc length."""
    pts = np.asarray(path)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = u * cum[-1]
    return np.stack([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])], axis=-1)


def _sign(value: float, default: float) -> float:
    return default if abs(value) < 0.05 else math.copysign(1.0, value)


def roughness(angles: np.ndarray, phase: np.ndarray) -> float:
    """Mean absolute second difference of the joint angles while moving (degrees per frame squared)."""
    moving = (phase[1:-1] != HOLD) & (phase[1:-1] != STAND)
    if not moving.any():
        return 0.0
    return float(np.abs(np.diff(angles, n=2, axis=0))[moving].mean())
