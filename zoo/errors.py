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


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped training at the end of an epoch, with ``last.pt`` saved: ``--resume`` continues.

    A ``KeyboardInterrupt``, so code that stops on Ctrl-C stops on it too; tools exit with ``exit_code``
    (128 + the signal's number, as a shell reports a process the signal ended).
    """

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum, self.exit_code = signum, 128 + signum


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
    "TrainingInterrupted",
    "UserError",
]
