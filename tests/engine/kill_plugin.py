"""A test plugin for runs in other processes: imported there through a recipe's ``imports:``, it registers
``test_kill_at_epoch`` in that process only (the test session's registries never hold it)."""

from __future__ import annotations

import os
import signal
import signal as signal_module  # SignalAtEpoch takes an argument named signal
from typing import Any

from zoo.engine.hooks import Hook
from zoo.kinds import HOOKS


@HOOKS.register("test_kill_at_epoch")
class KillAtEpoch(Hook):
    """Test plugin: SIGKILL this process after ``epoch`` (its checkpoint is written by then)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def __call__(self, trainer: Any, epoch: int) -> None:
        if epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register("test_signal_at_epoch")
class SignalAtEpoch(Hook):
    """Test plugin: send this process ``signal`` (a name: SIGTERM, SIGINT) at the end of ``epoch``."""

    def __init__(self, epoch: int, signal: str = "SIGTERM") -> None:
        self.epoch, self.signum = epoch, int(getattr(signal_module, signal))

    def __call__(self, trainer: Any, epoch: int) -> None:
        if epoch == self.epoch:
            os.kill(os.getpid(), self.signum)
