"""The athlete: a planar stick figure seen in profile, its joint angles, and the element catalogue.

Angles are degrees. Absolute directions are measured from straight down, positive toward the front (the way
the figure faces): 0 = down, 90 = forward, 180 = up, -90 = backward. Lengths are in body heights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# One pose is a vector of these angles ("n" = near side, drawn in front; "f" = far side).
ANGLES = ("torso", "head", "shoulder_n", "elbow_n", "shoulder_f", "elbow_f", "hip_n", "knee_n", "hip_f", "knee_f")
A = {name: i for i, name in enumerate(ANGLES)}
LIMB_ANGLES = ("shoulder_n", "shoulder_f", "hip_n", "hip_f")  # the limb directions an element prescribes
JOINT_ANGLES = ("elbow_n", "elbow_f", "knee_n", "knee_f")  # straight (0) in every ideal held pose

# torso: forward lean from upright; head: forward tilt from the torso line; shoulder: upper arm from the torso's
# downward line; elbow: forearm bends forward; hip: thigh, absolute; knee: shin bends backward.
LENGTH = {"torso": 0.30, "neck": 0.04, "head_r": 0.065, "upper_arm": 0.15, "forearm": 0.16, "thigh": 0.24, "shin": 0.26}

# Points of the skeleton, in this order, in the body frame (x forward, y up, pelvis at the origin).
POINTS = ("pelvis", "neck", "head", "elbow_n", "hand_n", "elbow_f", "hand_f", "knee_n", "ankle_n", "knee_f", "ankle_f")
P = {name: i for i, name in enumerate(POINTS)}


@dataclass(frozen=True)
class Element:
    """A named target pose with its difficulty value; ``air`` lifts the figure off the floor (leaps)."""

    name: str
    value: float
    pose: tuple[float, ...]
    air: float = 0.0


def pose(**angles: float) -> tuple[float, ...]:
    """A pose vector from keyword angles; the angles left out are 0 (upright, limbs down, joints straight)."""
    unknown = set(angles) - set(ANGLES)
    if unknown:
        raise KeyError(f"unknown joint angle(s) {sorted(unknown)}; the figure has: {', '.join(ANGLES)}")
    return tuple(float(angles.get(name, 0.0)) for name in ANGLES)


NEUTRAL = pose(shoulder_n=8, shoulder_f=-8, elbow_n=10, elbow_f=10)

ELEMENTS: tuple[Element, ...] = (
    Element("passe", 0.3, pose(shoulder_n=170, shoulder_f=170, hip_n=75, knee_n=140)),
    Element("attitude", 0.4, pose(torso=15, shoulder_n=170, shoulder_f=120, hip_n=-75, knee_n=80)),
    Element("split_sit", 0.4, pose(shoulder_n=150, shoulder_f=150, hip_n=90, hip_f=-90)),
    Element("arabesque", 0.5, pose(torso=30, shoulder_n=120, shoulder_f=-40, hip_n=-100)),
    Element("stag_leap", 0.5, pose(torso=10, shoulder_n=160, shoulder_f=80, hip_n=85, knee_n=100, hip_f=-95), 0.2),
    Element("back_bend", 0.5, pose(torso=-55, head=-30, shoulder_n=170, shoulder_f=170, hip_n=10, hip_f=-10)),
    Element("front_balance", 0.6, pose(torso=-10, shoulder_n=90, shoulder_f=170, hip_n=150)),
    Element("split_leap", 0.6, pose(torso=10, shoulder_n=150, shoulder_f=100, hip_n=95, hip_f=-95), 0.22),
    Element("ring", 0.7, pose(torso=-25, head=-20, shoulder_n=200, shoulder_f=200, hip_n=-120, knee_n=80)),
    Element("penche", 0.8, pose(torso=100, shoulder_n=100, shoulder_f=100, hip_n=-175)),
)


def _direction(phi_deg: np.ndarray) -> np.ndarray:
    """Unit vectors [..., 2] for absolute angles measured from straight down, positive toward the front."""
    phi = np.deg2rad(phi_deg)
    return np.stack([np.sin(phi), -np.cos(phi)], axis=-1)


def skeleton(angles: np.ndarray) -> np.ndarray:
    """Joint angles [..., 10] -> skeleton points [..., 11, 2] in the body frame, pelvis at the origin."""
    a = np.asarray(angles, dtype=np.float64)
    g = {name: a[..., i] for name, i in A.items()}
    out = np.zeros((*a.shape[:-1], len(POINTS), 2))
    torso_up = 180.0 - g["torso"]
    neck = LENGTH["torso"] * _direction(torso_up)
    out[..., P["neck"], :] = neck
    out[..., P["head"], :] = neck + (LENGTH["neck"] + LENGTH["head_r"]) * _direction(torso_up - g["head"])
    for side in ("n", "f"):
        upper = g[f"shoulder_{side}"] - g["torso"]  # relative to the torso's downward line
        elbow = neck + LENGTH["upper_arm"] * _direction(upper)
        out[..., P[f"elbow_{side}"], :] = elbow
        out[..., P[f"hand_{side}"], :] = elbow + LENGTH["forearm"] * _direction(upper + g[f"elbow_{side}"])
        knee = LENGTH["thigh"] * _direction(g[f"hip_{side}"])
        out[..., P[f"knee_{side}"], :] = knee
        out[..., P[f"ankle_{side}"], :] = knee + LENGTH["shin"] * _direction(g[f"hip_{side}"] - g[f"knee_{side}"])
    return out


def ground_offset(points: np.ndarray) -> np.ndarray:
    """How far to lift each skeleton [..., 11, 2] so its lowest point (besides the head's centre) meets the floor."""
    body = np.delete(points[..., 1], P["head"], axis=-1)
    head_low = points[..., P["head"], 1] - LENGTH["head_r"]
    return -np.minimum(body.min(axis=-1), head_low)
