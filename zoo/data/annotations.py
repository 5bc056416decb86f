"""Judged scores per video: the Rhythmic Gymnastics (ACTION-NET), Fis-V and FS1000 annotation files.

Plain functions that read a file into ``Annotation`` rows; the datasets that use them are
registered elsewhere. Every malformed line is an ``AnnotationError`` naming the file, the line
number (1-based, as an editor shows it), the line and the format that was expected.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from registry import MissingFileError

from ..errors import DataError
from .video import VIDEO_SUFFIXES

RG_COLUMNS = ("Video_Name", "Difficulty_Score", "Execution_Score", "Total_Score", "Penalty", "Video_length")
RG_KEYS = ("difficulty", "execution", "total", "penalty", "length")
RG_TARGETS = ("total", "difficulty", "execution")
RG_FORMAT = "a header line, then `<Class>_<id> <difficulty> <execution> <total> <penalty> <length>` per video"
RG_TOLERANCE = 0.011  # scores are given to two decimals; Total = D + E - Penalty holds to rounding

FISV_KEYS = ("tes", "pcs", "deductions")
FISV_TARGETS = ("tes", "pcs")
FISV_FORMAT = "no header, `<id> <TES> <PCS> <deductions>` per video"
FISV_CLASS = "fisv"

FS1000_COLUMNS = ("TES", "PCS", "SS", "TR", "PE", "CO", "IN", "factor")
FS1000_KEYS = ("tes", "pcs", "ss", "tr", "pe", "co", "in", "factor")
FS1000_TARGETS = ("tes", "pcs", "ss", "tr", "pe", "co", "in")
FS1000_FORMAT = "no header, `<name> <TES> <PCS> <SS> <TR> <PE> <CO> <IN> <factor>` per video (factor > 0)"
FS1000_CLASS = "fs1000"


class AnnotationError(DataError):
    """A malformed annotation file, line, target or class filter."""


@dataclass(frozen=True)
class Annotation:
    """One judged video: its name, class, the chosen target score (raw) and every score column."""

    name: str
    cls: str
    score: float
    scores: dict[str, float] = field(default_factory=dict, hash=False)


def read_rg(path: str | os.PathLike, target: str = "total", classes: Sequence[str] | None = None) -> list[Annotation]:
    """Read an ACTION-NET rhythmic-gymnastics file; ``classes`` keeps only those apparatus (any prefix)."""
    path = Path(path)
    key = _choose(target, RG_TARGETS, "target", path)
    rows = _read_rows(path, len(RG_COLUMNS), RG_FORMAT, header=RG_COLUMNS)
    out, bad_sums = [], []
    for lineno, text, fields in rows:
        name = fields[0]
        cls, sep, _ = name.partition("_")
        if not sep or not cls:
            raise _line_error(path, lineno, text, RG_FORMAT, f"video name {name!r} has no `<Class>_` prefix")
        scores = dict(zip(RG_KEYS, _numbers(path, lineno, text, fields[1:], RG_COLUMNS[1:], RG_FORMAT)))
        expected = scores["difficulty"] + scores["execution"] - scores["penalty"]
        if abs(scores["total"] - expected) > RG_TOLERANCE:
            bad_sums.append(f"{path}:{lineno}: {name}: Total {scores['total']:g} != D + E - Penalty = {expected:.2f}")
        out.append(Annotation(name=name, cls=cls, score=scores[key], scores=scores))
    if bad_sums:
        raise AnnotationError(
            f"{len(bad_sums)} row(s) of {path} break Total = Difficulty + Execution - Penalty "
            f"(tolerance {RG_TOLERANCE}):\n" + "\n".join(bad_sums)
        )
    return _filter_classes(out, classes, path)


def read_fisv(path: str | os.PathLike, target: str = "tes", classes: Sequence[str] | None = None) -> list[Annotation]:
    """Read a Fis-V figure-skating file (``<id> <TES> <PCS> <deductions>``, no header).

    Fis-V has one class (``fisv``): a ``classes`` filter naming anything else is refused, as RG's is.
    """
    path = Path(path)
    key = _choose(target, FISV_TARGETS, "target", path)
    out = []
    for lineno, text, fields in _read_rows(path, 1 + len(FISV_KEYS), FISV_FORMAT, header=None):
        scores = dict(
            zip(FISV_KEYS, _numbers(path, lineno, text, fields[1:], ("TES", "PCS", "deductions"), FISV_FORMAT))
        )
        out.append(Annotation(name=fields[0], cls=FISV_CLASS, score=scores[key], scores=scores))
    return _filter_classes(out, classes, path)


def read_fs1000(path: str | os.PathLike, target: str = "tes", classes: Sequence[str] | None = None) -> list[Annotation]:
    """Read an FS1000 file (Skating-Mixer's ``train_fs1000_new.txt`` / ``val_fs1000_new.txt``).

    The score of target ``pcs`` is PCS divided by the line's factor (the program's PCS multiplier), as
    Skating-Mixer's and MCMoE's loaders read it; ``scores`` keeps every column as written. One class (``fs1000``).
    """
    path = Path(path)
    key = _choose(target, FS1000_TARGETS, "target", path)
    out = []
    for lineno, text, fields in _read_rows(path, 1 + len(FS1000_KEYS), FS1000_FORMAT, header=None):
        scores = dict(zip(FS1000_KEYS, _numbers(path, lineno, text, fields[1:], FS1000_COLUMNS, FS1000_FORMAT)))
        if scores["factor"] <= 0:
            raise _line_error(path, lineno, text, FS1000_FORMAT, f"factor is {fields[-1]!r}; PCS is divided by it")
        score = scores["pcs"] / scores["factor"] if key == "pcs" else scores[key]
        out.append(Annotation(name=fields[0], cls=FS1000_CLASS, score=score, scores=scores))
    return _filter_classes(out, classes, path)


def check_videos_present(
    annotations: Iterable[Annotation | str],
    folder: str | os.PathLike,
    suffixes: Sequence[str] = VIDEO_SUFFIXES,
) -> dict[str, Path]:
    """Map each annotated name to its video in ``folder``; one error lists every missing name."""
    return _find_files(annotations, folder, suffixes, "video")


def check_features_present(
    annotations: Iterable[Annotation | str], folder: str | os.PathLike, suffix: str = ".npy"
) -> dict[str, Path]:
    """Map each annotated name to its feature file ``<folder>/<name><suffix>``; one error lists every missing name."""
    return _find_files(annotations, folder, (suffix,), "feature file")


# -- helpers -------------------------------------------------------------------------------------


def _choose(value: str, choices: Sequence[str], what: str, path: Path) -> str:
    key = str(value).lower()
    if key not in choices:
        raise AnnotationError(f"unknown {what} {value!r} for {path}; choose one of: {', '.join(choices)}")
    return key


def _line_error(path: Path, lineno: int, text: str, fmt: str, problem: str) -> AnnotationError:
    return AnnotationError(f"{path}:{lineno}: {problem}\n  line {lineno}: {text!r}\n  expected: {fmt}")


def _read_rows(path: Path, n_fields: int, fmt: str, header: Sequence[str] | None) -> list[tuple[int, str, list[str]]]:
    """(line number, text, fields) of every non-blank data line; checks field counts and duplicates."""
    if not path.is_file():
        raise MissingFileError(f"annotation file {path} does not exist (expected {fmt})")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise AnnotationError(
            f"{path} is not a text file (byte {e.start} is not UTF-8): expected {fmt}; is it the annotation file?"
        ) from None
    rows: list[tuple[int, str, list[str]]] = []
    seen: dict[str, int] = {}
    header_done = header is None
    for lineno, text in enumerate(lines, start=1):
        fields = text.split()  # tabs and runs of spaces are mixed in the real files
        if not fields:
            continue
        if not header_done:
            header_done = True
            if [f.lower() for f in fields] != [c.lower() for c in header]:
                raise _line_error(path, lineno, text, fmt, f"expected the header `{' '.join(header)}`")
            continue
        if len(fields) != n_fields:
            # With whitespace splitting an empty first column shows up as one field too few.
            empty_name = len(fields) == n_fields - 1 and text[:1].isspace()
            problem = "empty video name" if empty_name else f"{len(fields)} fields, expected {n_fields}"
            raise _line_error(path, lineno, text, fmt, problem)
        name = fields[0]
        if name in seen:
            raise _line_error(path, lineno, text, fmt, f"duplicate video name {name!r} (first on line {seen[name]})")
        seen[name] = lineno
        rows.append((lineno, text, fields))
    if not rows:
        raise AnnotationError(f"{path} holds no annotation rows (expected {fmt})")
    return rows


def _numbers(path: Path, lineno: int, text: str, fields: Sequence[str], names: Sequence[str], fmt: str) -> list[float]:
    out = []
    for value, name in zip(fields, names):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise _line_error(path, lineno, text, fmt, f"{name} is {value!r}, not a number")
        out.append(number)
    return out


def _filter_classes(rows: list[Annotation], classes: Sequence[str] | None, path: Path) -> list[Annotation]:
    if classes is None:
        return rows
    wanted = [classes] if isinstance(classes, str) else list(classes)
    present = sorted({r.cls for r in rows})
    by_lower = {c.lower(): c for c in present}
    unknown = [c for c in wanted if str(c).lower() not in by_lower]
    if unknown:
        raise AnnotationError(f"unknown class(es) {unknown} for {path}; the file holds: {', '.join(present)}")
    keep = {by_lower[str(c).lower()] for c in wanted}
    return [r for r in rows if r.cls in keep]


def _find_files(
    annotations: Iterable[Annotation | str], folder: str | os.PathLike, suffixes: Sequence[str], what: str
) -> dict[str, Path]:
    folder = Path(folder)
    names = [a if isinstance(a, str) else a.name for a in annotations]
    if not folder.is_dir():
        raise MissingFileError(f"{what} folder {folder} does not exist (needed for {len(names)} {what}s)")
    # One listing of the folder instead of a stat per name and suffix; earlier suffixes win.
    rank = {s.lower(): i for i, s in enumerate(suffixes)}
    found: dict[str, tuple[int, Path]] = {}
    for entry in os.scandir(folder):
        for suffix, r in rank.items():
            if entry.name.lower().endswith(suffix) and len(entry.name) > len(suffix):
                stem = entry.name[: -len(suffix)]
                if stem not in found or r < found[stem][0]:
                    found[stem] = (r, Path(entry.path))
    missing = [n for n in names if n not in found]
    if missing:
        pattern = "{" + ",".join(suffixes) + "}" if len(suffixes) > 1 else suffixes[0]
        raise MissingFileError(
            f"{len(missing)} of {len(names)} {what}s missing from {folder} (looked for <name>{pattern}): "
            + ", ".join(missing)
        )
    return {n: found[n][1] for n in names}
