"""Every number of the synthetic set in two frozen dataclasses: how the judged score is made, how routines look."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScoreModel:
    """Weights of the judged score (docs/SYNTHETIC.md).

    ``D = d_base + difficulty_scale * sum(element values)``,
    ``E = clip(e_base + w_dyn * q_dyn + w_sta * q_sta + noise, 0, e_max)`` with ``noise ~ N(0, noise_sigma)``,
    ``P = penalty_per_exit * exits`` and ``Total = D + E - P`` (on the printed 2-decimal values).
    """

    d_base: float = 3.0  # the compulsory content every routine has
    difficulty_scale: float = 1.0
    e_base: float = 0.5
    w_dyn: float = 4.5
    w_sta: float = 4.5
    e_max: float = 10.0
    noise_sigma: float = 0.3
    penalty_per_exit: float = 0.3


@dataclass(frozen=True)
class SyntheticConfig:
    """How routines are drawn and rendered; ``score`` says how they are judged.

    Angles are in degrees, times in seconds, lengths in body heights. The sizes of the faults are those of the
    worst athlete (q = 0); a fault scales with ``1 - q`` of its quality.
    """

    score: ScoreModel = field(default_factory=ScoreModel)
    # Routine structure.
    elements: tuple[int, int] = (3, 6)  # how many elements, both ends included (fewer if the video is too short)
    hold_s: tuple[float, float] = (0.5, 1.5)
    move_s: float = 0.5  # into and out of an element, before the tempo factor
    min_travel_s: float = 0.8
    start_s: float = 0.4  # standing still before the first travel
    exit_probs: tuple[float, ...] = (0.55, 0.3, 0.15)  # P(exits = k), k = 0, 1, 2 (at most one per travel)
    # Dynamic quality q_dyn: only the timing of the motion, never its shapes, so no single frame shows it.
    progress_jitter: float = 0.5  # per-frame noise on the progress (0..1) of a movement along its pose path
    speed_jitter: float = 1.0  # per-frame spread of the travelling speed (monotone: stop-and-go, rushes)
    step_jitter: float = 1.2  # per-frame noise on the phase of the travelling steps, radians
    wobble: float = 0.2  # unsteadiness: the whole figure shifts sideways (sd per frame), the pose unchanged
    tempo_sigma: float = 0.45  # log-normal spread of movement durations (mean kept)
    stutter: float = 0.9  # share of stop-and-go in the movement profile
    step_hz: tuple[float, float] = (1.2, 2.4)  # cadence of the travelling steps, q_dyn = 0 .. 1 (energy)
    # Where and how everyone travels (the same for every athlete: a place or a pose must not tell q_dyn).
    coverage: float = 0.85  # share of the inner floor area the places are drawn from
    gait_legs_deg: float = 28.0
    gait_arms_deg: float = 45.0
    gait_bounce: float = 0.05
    # Static quality q_sta (visible in one frame).
    shortfall: float = 0.4  # share of an element's extension lost at q_sta = 0 (limbs short of the ideal)
    flexion_deg: float = 40.0  # bent knees and elbows, held or not
    lean_deg: float = 22.0  # torso off balance in a held pose (sign drawn per element)
    posture_lean_deg: float = 12.0  # torso leaning between elements (sign drawn per routine)
    limb_error_deg: float = 14.0  # further error of each limb at q_sta = 0 (sign drawn per limb and element)
    # Video encoding.
    crf: int = 23


DEFAULT_CONFIG = SyntheticConfig()
