"""The contract of a training hook (typed against the trainer's state, not the trainer), and the zoo's hooks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Protocol

from ..kinds import HOOKS


class TrainerState(Protocol):
    """What a hook may read of the training run (and ``stop_requested``, the one thing it may set)."""

    run_dir: Path
    epoch: int
    epochs: int
    select: str  # "val" (validation-selected) or "last"
    history: list[dict[str, Any]]  # one row per epoch: loss, learning rate, metrics of evaluated epochs
    best: dict[str, Any] | None  # the selected epoch's row
    stop_requested: bool

    @property
    def has_validation(self) -> bool: ...


class Hook(ABC):
    """Called by the trainer after every epoch: ``hook(trainer, epoch)``.

    Built as ``Hook(**recipe_args)`` from ``train.hooks``. ``setup(trainer)`` runs once before the
    first epoch: a hook that cannot do its job in this run (it watches a split the data does not
    have) raises a ``ConfigError`` saying so, instead of silently doing nothing. A hook reads the
    trainer's state (``history``, ``best``, ``epoch``) and may set ``trainer.stop_requested = True``
    to end the run after this epoch (the results and checkpoints are written as for a finished run).
    """

    def setup(self, trainer: TrainerState) -> None:  # noqa: B027  (optional: most hooks work in any run)
        """Check that this hook can work in ``trainer``'s run (default: it always can)."""

    @abstractmethod
    def __call__(self, trainer: TrainerState, epoch: int) -> None: ...


HOOKS.contract = Hook


@HOOKS.register("early_stopping")
class EarlyStopping(Hook):
    """Stop when validation Spearman has not improved for ``patience`` epochs since the selected one."""

    def __init__(self, patience: int = 50) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            from registry import ConfigError

            raise ConfigError(f"early_stopping: patience must be an integer >= 1 (epochs), got {patience!r}")
        self.patience = patience

    def setup(self, trainer: TrainerState) -> None:
        if trainer.select != "val":
            from registry import ConfigError

            why = (
                "eval.select is 'last'"
                if trainer.has_validation
                else "the data has no validation split (data.val_fraction is 0)"
            )
            raise ConfigError(
                f"train.hooks: early_stopping stops when validation Spearman stops improving, but {why}, so it would "
                "never stop the run. Set data.val_fraction (e.g. 0.2) and eval.select=val, or remove the hook."
            )

    def __call__(self, trainer: TrainerState, epoch: int) -> None:
        if trainer.best is not None and epoch - trainer.best["epoch"] >= self.patience:
            trainer.stop_requested = True
