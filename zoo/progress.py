"""Progress for long steps (rendering, extraction, training): a bar on a terminal, a few lines in a log.

``progress(total, desc, unit)`` returns a tqdm bar when the output is a terminal; otherwise (a log
file, CI) a ``LineProgress`` that prints one line every ``every`` percent with the elapsed time and
an estimate of what is left, so logs stay readable instead of holding megabytes of carriage returns.
Both take ``update(n)``, ``set_postfix(**values)`` and ``close()``, and work as context managers.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any


def progress(
    total: int,
    desc: str,
    unit: str = "it",
    enabled: bool = True,
    initial: int = 0,
    stream: IO[str] | None = None,
    every: float = 5.0,
) -> Any:
    """A progress display for ``total`` steps: tqdm on a terminal, ``LineProgress`` otherwise, nothing if disabled."""
    stream = stream or sys.stderr
    if not enabled or total <= 0:
        return NoProgress()
    if getattr(stream, "isatty", lambda: False)():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, initial=initial, file=stream, dynamic_ncols=True)
    return LineProgress(total, desc, unit, initial, stream, every)


PLURALS = {"video": "videos", "ep": "epochs", "it": "steps"}  # tqdm's short units, spelled out in log lines


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class LineProgress:
    """One line per ``every`` percent: ``desc: 40/200 videos (20%), 1.2 min, about 4.8 min left, loss=0.1``."""

    def __init__(self, total: int, desc: str, unit: str, initial: int, stream: IO[str], every: float) -> None:
        self.total, self.desc, self.unit, self.stream = total, desc, unit, stream
        self.n = self.start_n = initial
        self.step = max(1, round(total * every / 100))
        self.next = (initial // self.step + 1) * self.step
        self.started = time.perf_counter()
        self.postfix = ""

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n >= self.next or self.n >= self.total:
            self.next = (self.n // self.step + 1) * self.step
            self._print()

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, refresh: bool = True, **values: Any) -> None:
        values = {**(ordered_dict or {}), **values}
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def _print(self) -> None:
        elapsed = time.perf_counter() - self.started
        done = self.n - self.start_n
        left = elapsed / done * (self.total - self.n) if done else 0.0
        share = 100.0 * self.n / self.total
        unit = PLURALS.get(self.unit, self.unit) if self.total != 1 else self.unit
        line = f"{self.desc}: {self.n}/{self.total} {unit} ({share:.0f}%), {_duration(elapsed)}"
        if self.n < self.total:
            line += f", about {_duration(left)} left"
        if self.postfix:
            line += f", {self.postfix}"
        print(line, file=self.stream, flush=True)

    def close(self) -> None:
        pass

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NoProgress:
    """Progress switched off: every call does nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass
