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
    difficulty_scale: float = 1.3
    e_base: float = 0.5
    w_dyn: float = 4.5
    w_sta: float = 4.5
    e_max: float = 10.0
    noise_sigma: float = 0.3
    penalty_per_exit: float = 0.3


@dataclass(frozen=True)
class SyntheticConfig:
    """How routines are drawn and rendered; ``score`` says how they are judged.

    Angles are in degrees, times in seconds, lengths in body heights. "at q = 0" means the worst athlete;
    an effect scales with ``1 - q`` (static faults, jitter, tempo irregularity) or ``q`` (amplitude).
    """

    score: ScoreModel = field(default_factory=ScoreModel)
    # Routine structure.
    elements: tuple[int, int] = (3, 6)  # how many elements, both ends included (fewer if the video is too short)
    hold_s: tuple[float, float] = (0.5, 1.5)
    move_s: float = 0.5  # into and out of an element, before the tempo factor
    min_travel_s: float = 0.8
    start_s: float = 0.4  # standing still before the first travel
    exit_probs: tuple[float, ...] = (0.55, 0.3, 0.15)  # P(exits = k), k = 0, 1, 2 (at most one per travel)
    # Dynamic quality q_dyn (visible only across frames).
    jitter_deg: float = 22.0  # per-frame limb-angle noise during movements, at q_dyn = 0
    tempo_sigma: float = 0.45  # log-normal spread of movement durations, at q_dyn = 0
    stutter: float = 0.9  # share of stop-and-go in the movement profile, at q_dyn = 0
    coverage: tuple[float, float] = (0.35, 1.0)  # share of the floor area used, q_dyn = 0 .. 1
    gait_legs_deg: tuple[float, float] = (18.0, 38.0)  # leg swing amplitude while travelling, q_dyn = 0 .. 1
    gait_arms_deg: tuple[float, float] = (25.0, 70.0)
    gait_bounce: tuple[float, float] = (0.02, 0.10)  # vertical bounce of the travelling steps
    step_hz: float = 1.6
    # Static quality q_sta (visible in one frame).
    shortfall: float = 0.4  # share of an element's extension lost at q_sta = 0 (limbs short of the ideal)
    flexion_deg: float = 40.0  # bent knees and elbows at q_sta = 0 (held poses; 60 % of it while moving)
    lean_deg: float = 22.0  # torso off balance at q_sta = 0 (sign drawn per element)
    limb_error_deg: float = 14.0  # further error of each limb at q_sta = 0 (sign drawn per limb and element)
    # Video encoding.
    crf: int = 23


DEFAULT_CONFIG = SyntheticConfig()
