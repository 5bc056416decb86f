"""The one way the zoo writes a file: atomically, so a reader sees the old file or the new one, never half.

``write_atomic(path, data)`` writes ``data`` (bytes, text, or a function that writes a given path)
to a temporary ``.<name>.<pid>.tmp`` beside ``path`` and renames it over ``path``. The rule for
temporaries, in one place:

* a write that fails removes its own temporary, and the previous ``path`` is untouched;
* a process killed mid-write leaves its temporary behind; the next write of the same ``path``
  removes the temporaries of writers that are no longer running;
* a full disk is a ``DiskFullError`` that names the folder (exit code 4 in the tools).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from .errors import DiskFullError

TMP_SUFFIX = ".tmp"
# Free space below this after a failed write means the disk filled up (libraries that write a path
# themselves, e.g. torch.export.save, report a full disk as their own RuntimeError).
_NEARLY_FULL = 1 << 20

Writer = Callable[[Path], None]


def temporary_path(path: Path) -> Path:
    """Where ``write_atomic`` writes ``path`` before renaming it: ``.<name>.<pid>.tmp`` in the same folder."""
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def write_atomic(path: str | os.PathLike[str], data: bytes | str | Writer) -> Path:
    """``data`` at ``path`` (its folder made if needed), atomically; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = temporary_path(path)
    try:
        if callable(data):
            data(tmp)
        else:
            with open(tmp, "wb") as f:
                f.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException as e:  # an interrupt too: never leave a temporary behind
        full = isinstance(e, Exception) and (
            (isinstance(e, OSError) and e.errno == errno.ENOSPC) or _nearly_full(path.parent)
        )
        tmp.unlink(missing_ok=True)
        if full:
            kept = f"; the previous {path.name} is kept" if path.exists() else ""
            raise DiskFullError(f"no space left on {path.parent} while writing {path.name}{kept}") from e
        raise
    return path


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove ``.<name>.<pid>.tmp`` files of ``path`` whose writing process is gone; returns them."""
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*{TMP_SUFFIX}"):
        pid = tmp.name[len(path.name) + 2 : -len(TMP_SUFFIX)]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < _NEARLY_FULL
    except OSError:
        return False
