"""Test plugins for extraction: a clip sampler that logs when it makes each instance (in whichever process).

Registered by the test that uses it (``registered(SAMPLERS, "test_logged_clips", LoggedClips)``); worker
processes unpickle the sampler by its class and need no registry entry.
"""

from __future__ import annotations

import time
from typing import Any

from zoo.data.samplers import ClipSampler, Sampling


class LoggedClips(ClipSampler):
    """``clips`` that append a monotonic timestamp to ``log`` for every instance made."""

    def __init__(self, log: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log = log

    def start(self, num_frames: int | None = None) -> Sampling:
        return _Logged(super().start(num_frames), self.log)


class _Logged(Sampling):
    def __init__(self, inner: Sampling, log: str) -> None:
        self.inner, self.log = inner, log

    def _note(self, made: list[Any]) -> list[Any]:
        if made:
            with open(self.log, "a") as f:
                f.writelines(f"{time.monotonic()}\n" for _ in made)
        return made

    def push(self, frame: Any) -> list[Any]:
        return self._note(self.inner.push(frame))

    def finish(self) -> list[Any]:
        return self._note(self.inner.finish())
