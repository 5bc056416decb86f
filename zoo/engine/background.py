"""Files written off the training loop: ``selected.pt`` is serialised, fingerprinted and written by a thread.

A write takes tens of milliseconds (``save_checkpoint`` hashes every weight), paid at each epoch whose
validation Spearman is a new best. ``BackgroundWriter`` runs writes one at a time, in the order submitted,
on one thread; ``wait()`` blocks until every write submitted so far is on disk and re-raises the first one
that failed (a full disk is then the same ``DiskFullError`` as a write in the loop would have been). The
trainer waits before ``last.pt`` is written, so a checkpoint never records a selection whose file is not
there yet, and before the run ends.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class BackgroundWriter:
    """Writes submitted as callables, run in order on one thread; errors surface at ``wait()``."""

    def __init__(self, name: str = "zoo-writer") -> None:
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[Any]] = []

    def submit(self, write: Callable[..., Any], *args: Any) -> None:
        """Run ``write(*args)`` after the writes before it. Its arguments must not change afterwards: the
        caller hands over snapshots (cloned weights, copied dicts), never live state."""
        if self._pool is None:  # a thread only for runs that write something
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        self._pending = [f for f in self._pending if not f.done() or f.exception() is not None]
        self._pending.append(self._pool.submit(write, *args))

    def wait(self) -> None:
        """Block until every submitted write has finished; re-raise the first error among them."""
        pending, self._pending = self._pending, []
        error: BaseException | None = None
        for future in pending:
            e = future.exception()  # waits for it
            if e is not None and error is None:
                error = e
        if error is not None:
            raise error

    def close(self) -> None:
        """Finish the writes (errors re-raised, as by ``wait``) and stop the thread."""
        try:
            self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
