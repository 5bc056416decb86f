"""The fixed scene: the marked floor area, the carpet around it, and the camera that projects the world to pixels.

World units are body heights; X runs across the image, Y up, Z away from the camera; the floor is Y = 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

FLOOR_HALF = (1.0, 0.8)  # the marked floor area: |X| <= 1.0, |Z| <= 0.8; leaving it costs a penalty
CARPET_HALF = (1.7, 1.75)  # the carpet around it
WALL_Z = 1.9  # the back wall of the hall


@dataclass(frozen=True)
class Camera:
    """A pinhole camera looking down at the floor; ``focal`` and the centre are in pixels of its frame."""

    position: tuple[float, float, float]
    right: tuple[float, float, float]
    up: tuple[float, float, float]
    forward: tuple[float, float, float]
    focal: float
    centre: tuple[float, float]

    def project(self, world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points [..., 3] -> (pixel coordinates [..., 2], depth [...]) in the camera's frame."""
        d = np.asarray(world, dtype=np.float64) - np.asarray(self.position)
        depth = d @ np.asarray(self.forward)
        x = self.centre[0] + self.focal * (d @ np.asarray(self.right)) / depth
        y = self.centre[1] - self.focal * (d @ np.asarray(self.up)) / depth
        return np.stack([x, y], axis=-1), depth

    def rays(self, pixels: np.ndarray) -> np.ndarray:
        """Pixel coordinates [..., 2] -> world ray directions [..., 3] (not normalised)."""
        px = (pixels[..., 0] - self.centre[0]) / self.focal
        py = (pixels[..., 1] - self.centre[1]) / self.focal
        r, u, f = (np.asarray(v) for v in (self.right, self.up, self.forward))
        return px[..., None] * r - py[..., None] * u + f


@lru_cache(maxsize=8)
def camera(width: int, height: int | None = None) -> Camera:
    """The fixed camera for a ``width`` x ``height`` frame (square if ``height`` is left out).

    The focal length follows the shorter side: in a wide frame that is the height, so the athlete keeps her size
    relative to the frame height and the frame shows more of the hall on both sides; a tall frame shows more wall
    and floor instead. Either way the frame holds at least the view of the square one.
    """
    height = width if height is None else height
    position = np.array([0.0, 2.0, -5.0])
    target = np.array([0.0, 0.1, 0.2])
    forward = target - position
    forward /= np.linalg.norm(forward)
    right = np.cross([0.0, 1.0, 0.0], forward)
    right /= np.linalg.norm(right)
    up = np.cross(forward, right)
    return Camera(
        position=tuple(position),
        right=tuple(right),
        up=tuple(up),
        forward=tuple(forward),
        focal=1.75 * min(width, height),
        centre=(width / 2.0, height / 2.0),
    )


def outside_floor(xz: np.ndarray) -> np.ndarray:
    """Whether floor positions [..., 2] lie outside the marked area (the penalty rule)."""
    return (np.abs(xz[..., 0]) > FLOOR_HALF[0]) | (np.abs(xz[..., 1]) > FLOOR_HALF[1])


def count_exits(xz: np.ndarray) -> int:
    """How many times a path of floor positions [T, 2] leaves the marked area (runs of outside frames)."""
    out = outside_floor(xz).astype(np.int8)
    return int(out[0] + np.count_nonzero(np.diff(out) == 1))
