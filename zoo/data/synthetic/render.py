"""Pixels: the textured carpet seen by the fixed camera, and the figure drawn on it (RGB uint8, anti-aliased).

Everything is drawn at twice the size and shrunk with area averaging, so thin limbs keep sub-pixel widths.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import cv2
import numpy as np

from registry import ConfigError

from .figure import LENGTH, P, ground_offset, skeleton
from .routine import Routine
from .scene import CARPET_HALF, FLOOR_HALF, WALL_Z, camera

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


def check_size(width: int, height: int | None = None) -> tuple[int, int]:
    """``(width, height)`` of a frame (square if ``height`` is left out), each even (yuv420p) and >= 32 pixels."""
    height = width if height is None else height
    for name, n in (("width", width), ("height", height)):
        if n < 32 or n % 2:
            raise ConfigError(f"synthetic video {name} must be an even number of pixels >= 32, got {n}")
    return int(width), int(height)


@lru_cache(maxsize=4)
def background(width: int, height: int | None = None) -> np.ndarray:
    """The empty hall [height, width, 3] uint8 RGB: wall, wooden arena floor, textured carpet, white boundary line."""
    width, height = check_size(width, height)
    return _read_only(cv2.resize(_background_big(width, height), (width, height), interpolation=cv2.INTER_AREA))


def _read_only(a: np.ndarray) -> np.ndarray:
    """A cached array every caller shares: drawing on it in place would change later renders in this process
    only (a serial render would then differ from a parallel one), so writing to it is an error."""
    a.flags.writeable = False
    return a


_ROWS = 128  # the hall is computed in blocks of this many supersampled rows: bounded memory at any frame size


@lru_cache(maxsize=4)
def _background_big(width: int, height: int) -> np.ndarray:
    """The empty hall at ``SUPERSAMPLE`` times the frame size, computed block by block (every step is per pixel)."""
    nw, nh = width * SUPERSAMPLE, height * SUPERSAMPLE
    img = np.empty((nh, nw, 3), dtype=np.uint8)
    # A tall frame sees above the horizon, where rays never meet the floor: the floor's values there are NaN and
    # unused (those pixels are wall).
    with np.errstate(invalid="ignore"):
        for r0 in range(0, nh, _ROWS):
            img[r0 : r0 + _ROWS] = _hall_rows(nw, nh, r0, min(r0 + _ROWS, nh))
    return _read_only(img)


def _hall_rows(nw: int, nh: int, r0: int, r1: int) -> np.ndarray:
    """Rows ``r0:r1`` of the supersampled hall of ``nw`` x ``nh`` pixels [r1 - r0, nw, 3] uint8."""
    # One row more on each side where there is one: the boundary line's footprint is a central difference across
    # rows, and with the neighbours at hand every row gets exactly the value it has in the whole image.
    h0, h1 = max(r0 - 1, 0), min(r1 + 1, nh)
    cam = camera(nw, nh)
    ys, xs = np.mgrid[h0:h1, 0:nw].astype(np.float64) + 0.5
    rays = cam.rays(np.stack([xs, ys], axis=-1))
    down = rays[..., 1] < -1e-6
    t = np.where(down, -cam.position[1] / np.where(down, rays[..., 1], -1.0), np.inf)
    x = cam.position[0] + t * rays[..., 0]
    z = cam.position[2] + t * rays[..., 2]
    # The boundary of the floor area: a line of constant width on the floor, anti-aliased by its pixel footprint.
    dist = np.maximum(np.abs(x) - FLOOR_HALF[0], np.abs(z) - FLOOR_HALF[1])
    footprint = np.hypot(*np.gradient(dist))[r0 - h0 : r1 - h0]  # how much floor one pixel covers
    ys, xs, down, x, z, dist = (a[r0 - h0 : r1 - h0] for a in (ys, xs, down, x, z, dist))
    wall = ~down | (z > WALL_Z)
    # Texture from a fixed noise table, so every set shares the same hall.
    table = _noise_table()
    fine = _sample(table, x * 23.0, z * 23.0)
    coarse = _sample(table, x * 2.1 + 40.0, z * 2.1 + 40.0)
    weave = np.sin(x * 60.0) * np.sin(z * 60.0)
    carpet = CARPET * (1.0 + 0.06 * coarse + 0.035 * fine + 0.02 * weave)[..., None]
    arena = ARENA * (1.0 + 0.08 * np.sin(x * 9.0 + 3.0 * _sample(table, x, z * 0.2)) + 0.04 * fine)[..., None]
    on_carpet = (np.abs(x) <= CARPET_HALF[0]) & (np.abs(z) <= CARPET_HALF[1])
    img = np.where(on_carpet[..., None], carpet, arena)
    line = np.clip(0.5 + (0.025 - np.abs(dist)) / np.maximum(footprint, 1e-6), 0.0, 1.0)
    img = img * (1.0 - line[..., None]) + LINE * line[..., None]
    # The wall is laid out from the middle square of the frame (offsets 0 in a square frame), so a wide or tall
    # frame shows the wall of the square one in its middle, as it does the floor (the camera's focal follows the
    # shorter side).
    side = min(nw, nh)
    across, rise = xs - (nw - side) / 2.0, ys - (nh - side) / 2.0
    shade = 0.75 + 0.35 * rise / side
    wall_img = WALL * shade[..., None] + 6.0 * _sample(table, across * 0.3, rise * 0.05)[..., None]
    img = np.where(wall[..., None], wall_img, img)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


@lru_cache(maxsize=1)
def _noise_table() -> np.ndarray:
    return _read_only(np.random.default_rng(20240601).uniform(-1.0, 1.0, size=(97, 97)).astype(np.float32))


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


def figure_pixels(
    routine: Routine, width: int, height: int | None = None, ideal: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Skeleton points [T, 11, 2] in pixels of a ``width`` x ``height`` frame, and pixels per body height [T]."""
    cam = camera(*check_size(width, height))
    angles = routine.ideal_angles if ideal else routine.angles
    body = skeleton(angles)
    body[..., 1] += (ground_offset(body) + routine.lift)[:, None]
    world = np.zeros((*body.shape[:2], 3))
    world[..., 0] = routine.position[:, None, 0] + routine.facing[:, None] * body[..., 0]
    world[..., 1] = body[..., 1]
    world[..., 2] = routine.position[:, None, 1]
    pixels, depth = cam.project(world)
    return pixels, cam.focal / depth[:, P["pelvis"]]


def figure_boxes(routine: Routine, width: int, height: int | None = None) -> np.ndarray:
    """The athlete's box per frame [T, 4] as integer pixels ``x0, y0, x1, y1`` (inclusive-exclusive), clipped."""
    width, height = check_size(width, height)
    pixels, scale = figure_pixels(routine, width, height)
    pad = (LENGTH["head_r"] + 0.03) * scale
    lo = np.floor(pixels.min(axis=1) - pad[:, None])
    hi = np.ceil(pixels.max(axis=1) + pad[:, None])
    return np.clip(np.concatenate([lo, hi], axis=1), 0, [width, height, width, height]).astype(np.int64)


def render_frame(
    routine: Routine, frame: int, width: int = 128, height: int | None = None, ideal: bool = False
) -> np.ndarray:
    """Frame ``frame`` [height, width, 3] uint8 RGB (square if ``height`` is left out); ``ideal``: no static faults."""
    width, height = check_size(width, height)
    pixels, scale = figure_pixels(routine, width, height, ideal)
    return _draw(routine, frame, pixels[frame], float(scale[frame]), width, height)


def render_frames(routine: Routine, width: int = 128, height: int | None = None) -> Iterator[np.ndarray]:
    """Every frame of the routine in order, as [height, width, 3] uint8 RGB arrays (square if no ``height``)."""
    width, height = check_size(width, height)
    pixels, scale = figure_pixels(routine, width, height)
    for k in range(routine.n_frames):
        yield _draw(routine, k, pixels[k], float(scale[k]), width, height)


def _draw(routine: Routine, k: int, pts: np.ndarray, scale: float, width: int, height: int) -> np.ndarray:
    ss = SUPERSAMPLE
    img = _background_big(width, height).copy()
    px_per_unit = scale * ss
    cam = camera(width, height)
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
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def _pt(xy) -> tuple[int, int]:
    """Sub-pixel coordinates as cv2's fixed-point integers."""
    return round(float(xy[0]) * (1 << _SHIFT)), round(float(xy[1]) * (1 << _SHIFT))
