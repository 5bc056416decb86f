"""Read ``.npy`` files that hold pickled objects (dicts of arrays) without running code from them.

Authors share features as ``np.save`` of a dict ``name -> ndarray`` (PAMFN, MCMoE), which they read
with ``np.load(allow_pickle=True)``: a pickle may name any importable callable (``os.system``) and
unpickling calls it. Here the payload goes through an unpickler that admits only the globals numpy
arrays, dtypes and scalars are rebuilt from; anything else is refused before it is called.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from registry import MissingFileError

from ..errors import DataError

# numpy 2 moved numpy.core to numpy._core; pickles written by either name their own spelling.
_CORE_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_CORE_NAMES = ("_reconstruct", "scalar")


def _core(name: str) -> Any:
    """``name`` from the running numpy's multiarray module, whichever spelling it has (no deprecation warning)."""
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"numpy has no multiarray.{name}")  # pragma: no cover - every numpy has both


def _allowed() -> dict[tuple[str, str], Any]:
    allowed: dict[tuple[str, str], Any] = {(m, n): _core(n) for m in _CORE_MODULES for n in _CORE_NAMES}
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    # Protocol-2 pickles (Python 2 era, torch's default) spell bytes as _codecs.encode(text, "latin1").
    allowed[("_codecs", "encode")] = importlib.import_module("_codecs").encode
    allowed[("collections", "OrderedDict")] = importlib.import_module("collections").OrderedDict
    return allowed


ALLOWED = _allowed()


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle named a global outside ``ALLOWED``."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.qualname = f"{module}.{name}"


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays, dtypes, scalars and plain containers; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        found = ALLOWED.get((module, name))
        if found is None:
            raise RefusedGlobal(module, name)
        return found


def load_npy(path: str | os.PathLike[str]) -> tuple[Any, str]:
    """The array (or pickled object) an ``.npy`` file holds, and the SHA-256 of its bytes.

    A plain array is read as ``np.load(allow_pickle=False)`` reads it; an object array's pickle is
    rebuilt by ``NumpyOnlyUnpickler`` (a 0-d object array for ``np.save(dict)``: ``.item()`` is the dict).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"feature file {path} does not exist")
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    fp = io.BytesIO(data)
    try:
        version = npy_format.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = npy_format.read_array_header_2_0(fp)
        else:  # 3.0 (utf-8 field names) never holds a pickle numpy wrote; np.load refuses objects in it
            return np.load(io.BytesIO(data), allow_pickle=False), sha
        if not dtype.hasobject:
            return np.load(io.BytesIO(data), allow_pickle=False), sha
        obj = NumpyOnlyUnpickler(fp).load()
    except RefusedGlobal as e:
        raise DataError(
            f"{path}: refused to unpickle {e.qualname!r}: a feature file may hold only numpy arrays, dtypes and "
            "scalars in dicts and lists, and loading this one would call that (it may run code). Do not open it "
            "with np.load(allow_pickle=True); get the features from a source you trust"
        ) from None
    except Exception as e:  # numpy and pickle raise ValueError, EOFError, UnpicklingError... for bad files
        raise DataError(f"{path}: not a readable .npy file ({type(e).__name__}: {e})") from None
    if isinstance(obj, np.ndarray) and tuple(obj.shape) != tuple(shape):
        raise DataError(f"{path}: the header says shape {list(shape)}, the pickle holds {list(obj.shape)}")
    return obj, sha


def load_array_dict(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], str]:
    """A ``np.save(dict)`` file of ``name -> ndarray`` (the authors' per-class features), and its SHA-256."""
    obj, sha = load_npy(path)
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject and obj.shape == ():
        obj = obj.item()
    if not isinstance(obj, dict):
        what = f"an array of shape {list(obj.shape)}" if isinstance(obj, np.ndarray) else type(obj).__name__
        raise DataError(f"{path}: holds {what}; expected a saved dict of video name -> feature array")
    bad = [f"{k!r} ({type(v).__name__})" for k, v in obj.items() if not isinstance(k, str) or not _numeric(v)]
    if bad:
        shown = ", ".join(bad[:5]) + (f", ... ({len(bad) - 5} more)" if len(bad) > 5 else "")
        raise DataError(f"{path}: entries that are not video name -> numeric array: {shown}")
    return obj, sha


def _numeric(value: Any) -> bool:
    return isinstance(value, np.ndarray) and (
        np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)
    )
