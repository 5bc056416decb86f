"""Pixels: the textured carpet seen by the fixed camera, and the figure drawn on it (RGB uint8, anti-aliased).

Everything is drawn at twice the size and shrunk with area averaging, so thin limbs keep sub-pixel widths.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import cv2
import numpy as np

from .figure import LENGTH, P, ground_offset, skeleton
from .routine import Routine
from .scene import CARPET_HALF, FLOOR_HALF, WALL_Z, camera
from registry import ConfigError

SUPERSAMPLE = 2
_SHIFT = 4  # cv2 sub-pixel bits
CARPET = np.array([38.0, 92.0, 168.0])  # RGB
ARENA = np.array([122.0, 98.0, 74.0])
WALL = np.array([70.0, 74.0, 88.0])
LINE = np.array([235.0, 235.0, 225.0])
LEOTARD = (205, 35, 110)
SKIN = (236, 188, 156)
HAIR = (70, 42, 28)
FAR_SHADE = 0.72  # limbs on the far side are darker
# Drawn widths, body heights.
WIDTH = {"torso": 0.085, "upper_arm": 0.042, "forearm": 0.036, "thigh": 0.06, "shin": 0.045}


def check_size(size: int) -> int:
    """Frames are square, at least 32 pixels and even (yuv420p needs even sizes)."""
    if size < 32 or size % 2:
        raise ConfigError(f"synthetic video size must be an even number of pixels >= 32, got {size}")
    return int(size)


@lru_cache(maxsize=4)
def background(size: int) -> np.ndarray:
    """The empty hall [size, size, 3] uint8 RGB: wall, wooden arena floor, textured carpet, white boundary line."""
    big = _background_big(check_size(size))
    return cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)


@lru_cache(maxsize=4)
def _background_big(size: int) -> np.ndarray:
    n = size * SUPERSAMPLE
    cam = camera(n)
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float64) + 0.5
    rays = cam.rays(np.stack([xs, ys], axis=-1))
    down = rays[..., 1] < -1e-6
    t = np.where(down, -cam.position[1] / np.where(down, rays[..., 1], -1.0), np.inf)
    x = cam.position[0] + t * rays[..., 0]
    z = cam.position[2] + t * rays[..., 2]
    wall = ~down | (z > WALL_Z)
    # Texture from a fixed noise table, so every set shares the same hall.
    table = np.random.default_rng(20240601).uniform(-1.0, 1.0, size=(97, 97)).astype(np.float32)
    fine = _sample(table, x * 23.0, z * 23.0)
    coarse = _sample(table, x * 2.1 + 40.0, z * 2.1 + 40.0)
    weave = np.sin(x * 60.0) * np.sin(z * 60.0)
    carpet = CARPET * (1.0 + 0.06 * coarse + 0.035 * fine + 0.02 * weave)[..., None]
    arena = ARENA * (1.0 + 0.08 * np.sin(x * 9.0 + 3.0 * _sample(table, x, z * 0.2)) + 0.04 * fine)[..., None]
    on_carpet = (np.abs(x) <= CARPET_HALF[0]) & (np.abs(z) <= CARPET_HALF[1])
    img = np.where(on_carpet[..., None], carpet, arena)
    # The boundary of the floor area: a line of constant width on the floor, anti-aliased by its pixel footprint.
    dist = np.maximum(np.abs(x) - FLOOR_HALF[0], np.abs(z) - FLOOR_HALF[1])
    footprint = np.hypot(*np.gradient(dist))  # how much floor one pixel covers
    line = np.clip(0.5 + (0.025 - np.abs(dist)) / np.maximum(footprint, 1e-6), 0.0, 1.0)
    img = img * (1.0 - line[..., None]) + LINE * line[..., None]
    height = ys / n
    wall_img = WALL * (0.75 + 0.35 * height)[..., None] + 6.0 * _sample(table, xs * 0.3, ys * 0.05)[..., None]
    img = np.where(wall[..., None], wall_img, img)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _sample(table: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear, wrapping lookup of a noise table at real coordinates."""
    u = np.where(np.isfinite(u), u, 0.0)
    v = np.where(np.isfinite(v), v, 0.0)
    n0, n1 = table.shape
    i0, j0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fu, fv = u - i0, v - j0
    a = table[i0 % n0, j0 % n1] * (1 - fu) + table[(i0 + 1) % n0, j0 % n1] * fu
    b = table[i0 % n0, (j0 + 1) % n1] * (1 - fu) + table[(i0 + 1) % n0, (j0 + 1) % n1] * fu
    return a * (1 - fv) + b * fv


def figure_pixels(routine: Routine, size: int, ideal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Projected skeleton points [T, 11, 2] in pixels of a ``size`` frame and pixels per body height [T]."""
    cam = camera(check_size(size))
    angles = routine.ideal_angles if ideal else routine.angles
    body = skeleton(angles)
    body[..., 1] += (ground_offset(body) + routine.lift)[:, None]
    world = np.zeros((*body.shape[:2], 3))
    world[..., 0] = routine.position[:, None, 0] + routine.facing[:, None] * body[..., 0]
    world[..., 1] = body[..., 1]
    world[..., 2] = routine.position[:, None, 1]
    pixels, depth = cam.project(world)
    return pixels, cam.focal / depth[:, P["pelvis"]]


def figure_boxes(routine: Routine, size: int) -> np.ndarray:
    """The athlete's box per frame [T, 4] as integer pixels ``x0, y0, x1, y1`` (inclusive-exclusive), clipped."""
    pixels, scale = figure_pixels(routine, size)
    pad = (LENGTH["head_r"] + 0.03) * scale
    lo = np.floor(pixels.min(axis=1) - pad[:, None])
    hi = np.ceil(pixels.max(axis=1) + pad[:, None])
    return np.clip(np.concatenate([lo, hi], axis=1), 0, size).astype(np.int64)


def render_frame(routine: Routine, frame: int, size: int = 128, ideal: bool = False) -> np.ndarray:
    """Frame ``frame`` of the routine [size, size, 3] uint8 RGB; ``ideal`` draws the pose without static faults."""
    pixels, scale = figure_pixels(routine, size, ideal)
    return _draw(routine, frame, pixels[frame], float(scale[frame]), size)


def render_frames(routine: Routine, size: int = 128) -> Iterator[np.ndarray]:
    """Every frame of the routine in order, as [size, size, 3] uint8 RGB arrays."""
    pixels, scale = figure_pixels(routine, size)
    for k in range(routine.n_frames):
        yield _draw(routine, k, pixels[k], float(scale[k]), size)


def _draw(routine: Routine, k: int, pts: np.ndarray, scale: float, size: int) -> np.ndarray:
    ss = SUPERSAMPLE
    img = _background_big(size).copy()
    px_per_unit = scale * ss
    cam = camera(size)
    # Shadow on the floor under the pelvis, smaller and fainter while in the air.
    x, z = routine.position[k]
    centre, _ = cam.project(np.array([x, 0.0, z]))
    fade = 1.0 / (1.0 + 4.0 * float(routine.lift[k]))
    axes = (max(1.0, 0.22 * px_per_unit * fade), max(1.0, 0.07 * px_per_unit * fade))
    shadow = (CARPET * (1.0 - 0.45 * fade)).astype(int).tolist()
    cv2.ellipse(img, _pt(centre * ss), _pt(axes), 0.0, 0.0, 360.0, shadow, -1, cv2.LINE_AA, _SHIFT)
    p = pts * ss

    def limb(a: str, b: str, part: str, colour, shade: float = 1.0) -> None:
        width = max(1, round(WIDTH[part] * px_per_unit))
        c = tuple(int(v * shade) for v in colour)
        cv2.line(img, _pt(p[P[a]]), _pt(p[P[b]]), c, width, cv2.LINE_AA, _SHIFT)

    for side, shade in (("f", FAR_SHADE), ("n", 1.0)):
        if side == "n":
            limb("pelvis", "neck", "torso", LEOTARD)
            head_r = LENGTH["head_r"] * px_per_unit
            cv2.circle(img, _pt(p[P["head"]]), round(head_r * (1 << _SHIFT)), SKIN, -1, cv2.LINE_AA, _SHIFT)
            back = -float(np.sign(routine.facing[k]) or 1.0)
            bun = p[P["head"]] + np.array([back * 0.75, -0.35]) * head_r
            cv2.circle(img, _pt(bun), round(head_r * 0.6 * (1 << _SHIFT)), HAIR, -1, cv2.LINE_AA, _SHIFT)
        limb("pelvis", f"knee_{side}", "thigh", SKIN, shade)
        limb(f"knee_{side}", f"ankle_{side}", "shin", SKIN, shade)
        limb("neck", f"elbow_{side}", "upper_arm", LEOTARD, shade)
        limb(f"elbow_{side}", f"hand_{side}", "forearm", SKIN, shade)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def _pt(xy) -> tuple[int, int]:
    """Sub-pixel coordinates as cv2's fixed-point integers."""
    return round(float(xy[0]) * (1 << _SHIFT)), round(float(xy[1]) * (1 << _SHIFT))
