"""The one way the zoo writes a file: atomically, so a reader sees the old file or the new one, never half.

``write_atomic(path, data)`` writes ``data`` (bytes, text, or a function that writes a given path)
to a temporary ``.<name>.<pid>.tmp`` beside ``path`` and renames it over ``path``. The rule for
temporaries, in one place:

* a write that fails removes its own temporary, and the previous ``path`` is untouched;
* a process killed mid-write leaves its temporary behind; the next write of the same ``path``
  removes the temporaries of writers that are no longer running;
* a full disk is a ``DiskFullError`` that names the folder (exit code 4 in the tools);
* a folder that cannot be written (no permission, read-only, a file where a folder should be) is an
  ``UnwritableError`` that names it (``make_folder`` says the same for folders made on their own).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from .errors import DiskFullError, UnwritableError

TMP_SUFFIX = ".tmp"
# Free space below this after a failed write means the disk filled up (libraries that write a path
# themselves, e.g. torch.export.save, report a full disk as their own RuntimeError).
_NEARLY_FULL = 1 << 20

Writer = Callable[[Path], None]
_UNWRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST)


def unwritable(path: Path, e: OSError, what: str = "write") -> UnwritableError | None:
    """The user-facing error for an ``OSError`` that means ``path`` cannot be written, else None."""
    if isinstance(e, PermissionError) or e.errno in _UNWRITABLE:
        reason = {
            errno.EROFS: "the file system is read-only",
            errno.ENOTDIR: "a file stands where a folder should be",
            errno.EEXIST: "a file stands where a folder should be",
        }.get(e.errno or 0, "permission denied")
        return UnwritableError(f"cannot {what} {path}: {reason}; choose a folder you can write")
    return None


def make_folder(path: str | os.PathLike[str], what: str = "create the folder") -> Path:
    """``path`` as a folder (parents made too); a folder that cannot be made is an ``UnwritableError`` naming it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise (unwritable(path, e, what) or e) from e
    return path


def temporary_path(path: Path) -> Path:
    """Where ``write_atomic`` writes ``path`` before renaming it: ``.<name>.<pid>.tmp`` in the same folder."""
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def write_atomic(path: str | os.PathLike[str], data: bytes | str | Writer) -> Path:
    """``data`` at ``path`` (its folder made if needed), atomically; returns ``path``."""
    path = Path(path)
    make_folder(path.parent, f"write {path.name} into the folder")
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
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and not full and (denied := unwritable(path, e)) is not None:
            raise denied from e
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
