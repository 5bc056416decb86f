"""Who is writing into a feature folder: one extraction job at a time, refusing any other by name.

A folder's writers register in ``<out>/.writers/<job>.rank<k>.json`` (pid, host, job, section,
start time) and hold an exclusive ``flock`` on that file for as long as they run, so the lock is
released by the kernel however the process ends. Before writing anything, an extraction takes
``<out>/.extract.lock`` (briefly), looks at the registered writers, removes the files of those
whose lock is free (they are gone), and refuses to start while a writer of another job holds its
lock. The ranks of one ``torchrun`` job share a job name and write side by side.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from registry import ConfigError, make_folder

LOCK = ".extract.lock"
WRITERS = ".writers"


def job_name() -> str:
    """The same for every rank of one torchrun job, different for every other process."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        parts = [os.environ.get(k, "") for k in ("TORCHELASTIC_RUN_ID", "MASTER_ADDR", "MASTER_PORT")]
        return "torchrun-" + "-".join(p.replace("/", "_") for p in parts)
    return f"{socket.gethostname()}-{os.getpid()}"


@contextlib.contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    """``<out>/.extract.lock`` held exclusively: claims and manifest changes happen one at a time."""
    make_folder(out, "write features into")
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _held(path: Path) -> bool:
    """Whether a live process holds the lock on a writer file (a free lock means its writer is gone)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def live_writers(out: Path) -> list[dict[str, Any]]:
    """The writers of ``out`` that are still running (files of finished or killed ones are removed)."""
    found = []
    for path in sorted((out / WRITERS).glob("*.json")):
        if not _held(path):
            path.unlink(missing_ok=True)
            continue
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            info = {}
        found.append({**info, "file": str(path)})
    return found


class Claim:
    """This process's registration as a writer of ``out`` (job, rank, section), held until ``release``."""

    def __init__(self, out: Path, rank: int, section: str) -> None:
        self.out, self.rank, self.section, self.job = out, rank, section, job_name()
        self.path = out / WRITERS / f"{self.job}.rank{rank}.json"
        self._fd: int | None = None

    def refuse_others(self) -> None:
        """Call under ``folder_lock``: a live writer of another job means this one must not start."""
        others = [w for w in live_writers(self.out) if w.get("job") != self.job]
        if others:
            w = others[0]
            same = "the same extract section" if w.get("section") == self.section else "another extract section"
            raise ConfigError(
                f"another extraction is writing into {self.out}: pid {w.get('pid')} on {w.get('host')}, started "
                f"{w.get('started')}, with {same}. Two jobs in one folder would mix their files and their logs; "
                f"wait for it to finish, or choose another --out. (Its claim: {w['file']}; it is released when that "
                "process ends.)"
            )

    def hold(self) -> None:
        """Register and lock this writer's file (call under ``folder_lock``)."""
        make_folder(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "job": self.job,
            "rank": self.rank,
            "section": self.section,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
