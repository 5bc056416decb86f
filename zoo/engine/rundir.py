"""Run folders: made atomically, marked with their state, and found again for ``--resume``.

``<out>/<recipe>/<timestamp>`` is created with an exclusive ``mkdir`` (a suffix ``-2``, ``-3``, ...
when another run took the name in the same second), by rank 0 only, which tells the other ranks.
``run.json`` says what the run is: ``running`` (with its pid and host), ``finished`` or ``failed``.
``--resume`` continues the latest run that is not finished; a finished run is never rewritten.
Several seeds of one recipe (``--seeds``) share a parent, ``<out>/<recipe>/<timestamp>-seeds``, made
by the same rule, with one run folder per seed inside (``seed0/``, ``seed1/``, ...).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import torch.distributed as dist

from registry import MissingFileError, RecipeError, make_folder, write_atomic
from registry.files import unwritable

from .distributed import World

STATE = "run.json"
SEEDS_SUFFIX = "-seeds"  # <timestamp>-seeds/: the parent of one run folder per seed


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def create_run_dir(out: str | Path, name: str, world: World, suffix: str = "") -> Path:
    """A new, empty ``<out>/<name>/<timestamp>[-k]<suffix>``, the same on every rank."""
    chosen = [""]
    if world.main:
        parent = make_folder(Path(out) / name, "create run folders in (run.out)")
        stamp = _stamp()
        for k in range(1, 1000):
            path = parent / ((stamp if k == 1 else f"{stamp}-{k}") + suffix)
            try:
                path.mkdir()  # exclusive: two runs never share a folder
            except FileExistsError:
                continue
            except OSError as e:
                raise (unwritable(path, e, "create the run folder") or e) from e
            chosen[0] = str(path)
            break
        else:
            raise RecipeError(f"could not create a run folder under {parent}: 999 runs started this second")
    if world.distributed:
        dist.broadcast_object_list(chosen, src=0)
    return Path(chosen[0])


def read_state(run_dir: Path) -> dict[str, Any]:
    """The run's ``run.json``; folders from before it existed are judged by their files."""
    try:
        state = json.loads((run_dir / STATE).read_text())
        if isinstance(state, dict):
            return state
    except (OSError, ValueError):
        pass
    if (run_dir / "results.json").is_file():
        return {"status": "finished"}
    return {"status": "running" if (run_dir / "last.pt").is_file() else "unknown"}


def write_state(run_dir: Path, status: str, **extra: Any) -> None:
    state = {**read_state(run_dir), "status": status, "pid": os.getpid(), "host": socket.gethostname(), **extra}
    state[f"{status}_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_atomic(run_dir / STATE, json.dumps(state, indent=1))


def _alive(state: dict[str, Any]) -> bool:
    """Whether the process that wrote a ``running`` state is still running (on this host)."""
    if state.get("host") != socket.gethostname() or not isinstance(state.get("pid"), int):
        return False
    if state["pid"] == os.getpid():
        return False
    try:
        os.kill(state["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_resumable(run_dir: Path) -> None:
    """Refuse a run folder that must not be resumed: missing, finished, or still running."""
    if not run_dir.is_dir():
        raise MissingFileError(f"run folder {run_dir} does not exist")
    state = read_state(run_dir)
    if state["status"] == "finished":
        raise RecipeError(
            f"nothing to resume: {run_dir} finished ({state.get('finished_at', 'its results.json is written')}); "
            "a finished run is never rewritten. Start a new run without --resume."
        )
    if state["status"] == "running" and _alive(state):
        raise RecipeError(f"{run_dir} is still running (pid {state['pid']}); wait for it or stop it first")


def is_seeds_parent(path: Path) -> bool:
    """Whether ``path`` is the parent of several seeds' run folders (``<timestamp>-seeds``)."""
    return path.name.endswith(SEEDS_SUFFIX)


def latest_resumable(out: str | Path, name: str) -> Path:
    """The latest run of ``name`` under ``out`` that did not finish (the one ``--resume`` continues)."""
    parent = Path(out) / name
    runs = sorted(
        p
        for p in parent.glob("*")
        if p.is_dir()
        and not is_seeds_parent(p)  # it holds runs, it is none: each seed resumes from its own folder
        and ((p / STATE).is_file() or (p / "last.pt").is_file())
    )
    if not runs:
        raise MissingFileError(f"nothing to resume: no run of {name!r} under {parent}")
    open_runs = [p for p in runs if read_state(p)["status"] != "finished"]  # names are timestamps: sorted = by start
    if not open_runs:
        raise RecipeError(
            f"nothing to resume: every run of {name!r} under {parent} finished (the latest is {runs[-1].name}); "
            "a finished run is never rewritten. Start a new run without --resume."
        )
    check_resumable(open_runs[-1])
    return open_runs[-1]
