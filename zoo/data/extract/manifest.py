"""The record of an extraction: ``<out>/extract.json`` and one ``extract.rank<k>.json`` per rank.

``extract.json`` (written by rank 0 only) holds what makes features comparable: the resolved
``extract`` section, each input's backbone, feature size and input spec, and library versions.
Each rank keeps its own ``extract.rank<k>.json`` with what happened to each of its videos
(instances, frames, cropper fallbacks, failures), so concurrent ranks never write the same file;
``read_manifest`` merges them. Every file is written atomically (``registry.write_atomic``).
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from registry import ConfigError, write_atomic

from .config import config_differences

MANIFEST = "extract.json"
# The libraries that shape the features, by the module that is actually imported.
VERSIONED = {
    "torch": "torch",
    "torchvision": "torchvision",
    "timm": "timm",
    "pytorchvideo": "pytorchvideo",
    "av": "av",
    "numpy": "numpy",
    "opencv": "cv2",
}


def versions() -> dict[str, str | None]:
    """Versions of the libraries that shape the features (None where one is missing)."""
    out: dict[str, str | None] = {}
    for name, module in VERSIONED.items():
        try:
            out[name] = str(importlib.import_module(module).__version__)
        except (ImportError, AttributeError):
            out[name] = None
    return out


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """``data`` as JSON at ``path``, atomically: a reader sees the old file or the new one, never half."""
    write_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: not a readable extraction manifest ({e}); remove it or pass --overwrite") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: an extraction manifest must hold a JSON object, got {type(data).__name__}")
    return data


def check_manifest(out: Path, config: Mapping[str, Any], overwrite: bool) -> None:
    """Refuse to add features to a folder made with another ``extract`` section or extractor (unless ``overwrite``)."""
    from .config import EXTRACTOR_VERSION

    path = out / MANIFEST
    if overwrite or not path.exists():
        return
    manifest = read_json(path)
    made_by = manifest.get("extractor_version", 1)
    if made_by != EXTRACTOR_VERSION:
        raise ConfigError(
            f"{out} holds features made by extractor version {made_by} ({path}); this is version "
            f"{EXTRACTOR_VERSION}, which prepares frames differently, so their features would not mix. Choose "
            "another --out, or pass --overwrite to extract every video again."
        )
    old = manifest.get("extract")
    if not isinstance(old, Mapping):
        raise ConfigError(f"{path} has no 'extract' section; remove it or pass --overwrite")
    diffs = config_differences(old, json.loads(json.dumps(config)))
    if diffs:
        raise ConfigError(
            f"{out} holds features extracted with another extract section ({path}); mixing them would mix "
            "backbones. Differing keys:\n  " + "\n  ".join(diffs) + "\nChoose another --out, or pass --overwrite "
            "to extract every video again with the new section."
        )


def write_manifest(out: Path, config: Mapping[str, Any], inputs: Mapping[str, Any], world: int, version: int) -> None:
    """Rank 0's ``extract.json``: the section, the extractor's version, each input's description, versions."""
    write_json(
        out / MANIFEST,
        {
            "extractor_version": version,
            "extract": config,
            "inputs": inputs,
            "versions": versions(),
            "world": world,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    )


class RankLog:
    """One rank's ``extract.rank<k>.json``: each of its videos, done or failed, saved after every video."""

    def __init__(self, out: Path, rank: int, world: int, fresh: bool) -> None:
        self.path = out / f"extract.rank{rank}.json"
        self.data: dict[str, Any] = {"rank": rank, "world": world, "videos": {}}
        if self.path.exists() and not fresh:
            self.data["videos"] = read_json(self.path).get("videos", {})

    def done(self, name: str, record: Mapping[str, Any]) -> None:
        self.data["videos"][name] = {"status": "done", "time": time.time(), **record}
        write_json(self.path, self.data)

    def failed(self, name: str, error: str) -> None:
        self.data["videos"][name] = {"status": "failed", "time": time.time(), "error": error}
        write_json(self.path, self.data)


def read_manifest(out: str | os.PathLike[str]) -> dict[str, Any]:
    """``extract.json`` with ``videos`` merged from every rank's file (the latest record per video wins)."""
    out = Path(out)
    manifest = read_json(out / MANIFEST) if (out / MANIFEST).exists() else {}
    videos: dict[str, Any] = {}
    for path in sorted(out.glob("extract.rank*.json")):
        for name, record in read_json(path).get("videos", {}).items():
            if name not in videos or record.get("time", 0) >= videos[name].get("time", 0):
                videos[name] = record
    manifest["videos"] = dict(sorted(videos.items()))
    manifest["failed"] = {n: r.get("error") for n, r in manifest["videos"].items() if r.get("status") == "failed"}
    return manifest


def read_manifest_inputs(out: str | os.PathLike[str]) -> dict[str, Any]:
    """What ``extract.json`` under ``out`` says of each input (empty when there is none or it is unreadable)."""
    path = Path(out) / MANIFEST
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    inputs = data.get("inputs") if isinstance(data, dict) else None
    return inputs if isinstance(inputs, dict) else {}


def remove_stale_rank_logs(out: Path, world: int) -> None:
    """Drop the logs of ranks beyond ``world`` (rank 0 on --overwrite; lower ranks reset their own)."""
    for path in out.glob("extract.rank*.json"):
        rank = path.name.removeprefix("extract.rank").removesuffix(".json")
        if rank.isdigit() and int(rank) >= world:
            path.unlink(missing_ok=True)
