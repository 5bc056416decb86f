"""The errors that mean "the input was wrong" (as opposed to a bug), and the exit code of each.

Tools print a ``UserError`` as ``error: <message>`` without a traceback and exit with its
``exit_code``: 2 for a bad recipe, file or argument, 3 when training diverged, 4 when the disk is
full. Anything else is a bug in the zoo and keeps its traceback.
"""

from __future__ import annotations

from registry import ConfigError, DiskFullError, MissingFileError, RecipeError, RegistryError, UserError


class DataError(UserError, ValueError):
    """Data that cannot be used as it is: a video, a feature file, an annotation, a split; the message names it."""


class NonFiniteError(DataError):
    """A NaN or inf appeared inside the model while scoring; the message names the videos."""


class DownloadError(UserError, RuntimeError):
    """Pretrained weights could not be downloaded (no network, a moved file); the message says what to do instead."""


class TrainingDiverged(UserError, RuntimeError):
    """The loss stopped being a finite number."""

    exit_code = 3


__all__ = [
    "ConfigError",
    "DataError",
    "DiskFullError",
    "DownloadError",
    "MissingFileError",
    "NonFiniteError",
    "RecipeError",
    "RegistryError",
    "TrainingDiverged",
    "UserError",
]
