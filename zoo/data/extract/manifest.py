"""The record of an extraction: ``<out>/extract.json`` and one ``extract.rank<k>.json`` per rank.

``extract.json`` holds what makes features comparable: the resolved ``extract`` section and its
digest (``section``), what makes each input (``made_by``: extractor version, seed, autocast,
decoder, the input's sampler, cropper, backbone and size), each input's backbone, feature size
and input spec, and library versions. It is written when a job claims the folder (under its lock,
``claim.py``) and completed once the backbones are built. Each rank keeps its own
``extract.rank<k>.json`` with what happened to each of its videos: for a finished one the section
it was made with, the video's identity and source facts (frames decoded and promised, fps,
duration, rotation), and the SHA-256 of every feature file it wrote, so a reader can tell a file
of this section from any other (``FolderRecords.vouch``). ``read_manifest`` merges the logs.
Every file is written atomically (``registry.write_atomic``).
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry import ConfigError, UserError, write_atomic

from .config import EXTRACTOR_VERSION, config_differences, input_fingerprint, resolve_config, section_digest

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


def manifest_section(manifest: Mapping[str, Any]) -> str | None:
    """The section digest a manifest names (computed from its section for manifests older than the digest)."""
    if isinstance(manifest.get("section"), str):
        return manifest["section"]
    old = manifest.get("extract")
    if not isinstance(old, Mapping):
        return None
    try:
        return section_digest(resolve_config(old), manifest.get("extractor_version", 1))
    except UserError:
        return None


def open_folder(out: Path, config: Mapping[str, Any], overwrite: bool, world: int) -> bool:
    """Make ``out`` this section's folder (call under ``claim.folder_lock``); True when an old section was replaced.

    A folder made with another section or extractor is refused, naming the differing keys; with
    ``overwrite`` every file of the old section (its features and its logs) is removed first, so
    nothing of it can pass for the new one. A folder without a manifest gets one at once, naming
    the section, so a second job with another section is refused from the start.
    """
    path = out / MANIFEST
    section = section_digest(config)
    if not path.exists():
        write_manifest(out, config, {}, world)
        return False
    manifest = read_json(path)
    if manifest_section(manifest) == section and manifest.get("extractor_version", 1) == EXTRACTOR_VERSION:
        return False
    if not overwrite:
        _refuse(out, path, manifest, config)
    remove_section_files(out, manifest, config)
    write_manifest(out, config, {}, world)
    return True


def _refuse(out: Path, path: Path, manifest: Mapping[str, Any], config: Mapping[str, Any]) -> None:
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
    raise ConfigError(
        f"{out} holds features extracted with another extract section ({path}); mixing them would mix "
        "backbones. Differing keys:\n  "
        + "\n  ".join(diffs or ["(the decoder or the extractor's defaults)"])
        + "\nChoose another --out, or pass --overwrite to extract every video again with the new section "
        "(the old section's files are removed)."
    )


def remove_section_files(out: Path, old: Mapping[str, Any], config: Mapping[str, Any]) -> list[Path]:
    """Remove every feature file and log of the section ``old`` names (and of the new section's inputs)."""
    inputs = set((old.get("extract") or {}).get("inputs") or {}) | set(config.get("inputs") or {})
    removed = [p for name in sorted(inputs) for p in sorted((out / name).glob("*.npy"))]
    removed += sorted(out.glob("extract.rank*.json"))
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def write_manifest(out: Path, config: Mapping[str, Any], inputs: Mapping[str, Any], world: int) -> None:
    """``extract.json``: the section and its digest, what makes each input, each input's description, versions."""
    write_json(
        out / MANIFEST,
        {
            "extractor_version": EXTRACTOR_VERSION,
            "section": section_digest(config),
            "extract": config,
            "made_by": {name: input_fingerprint(config, name) for name in config["inputs"]},
            "inputs": inputs,
            "versions": versions(),
            "world": world,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    )


def describe_inputs(out: Path, inputs: Mapping[str, Any]) -> None:
    """Add each input's description (backbone, feature size, input spec) once the backbones are built."""
    path = out / MANIFEST
    manifest = read_json(path)
    if manifest.get("inputs") != json.loads(json.dumps(inputs)):
        write_json(path, {**manifest, "inputs": inputs})


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


@dataclass
class FolderRecords:
    """What an extraction says of the feature files under ``root``: the section, and each video's record.

    ``manifest`` is None when ``root`` holds no ``extract.json`` (features made elsewhere: nothing
    here can vouch for them, and their consumers are told so).
    """

    root: Path
    manifest: dict[str, Any] | None
    section: str | None
    videos: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, root: str | os.PathLike[str]) -> FolderRecords:
        root = Path(root)
        if not (root / MANIFEST).is_file():
            return cls(root, None, None, {})
        manifest = read_manifest(root)
        return cls(root, manifest, manifest_section(manifest), manifest.pop("videos"))

    def made_by(self, name: str) -> dict[str, Any] | None:
        """What made input ``name``'s features (the manifest's ``made_by``); None without a manifest."""
        if self.manifest is None:
            return None
        made = (self.manifest.get("made_by") or {}).get(name)
        if made is None and name in ((self.manifest.get("extract") or {}).get("inputs") or {}):
            made = input_fingerprint(
                resolve_config(self.manifest["extract"]), name, self.manifest.get("extractor_version", 1)
            )
        return made

    def instance_seconds(self, name: str) -> float | None:
        described = ((self.manifest or {}).get("inputs") or {}).get(name) or {}
        seconds = described.get("instance_seconds")
        return float(seconds) if seconds is not None else None

    def vouch(self, video: str, name: str, sha256: str) -> str | None:
        """None when the manifest vouches for ``<root>/<name>/<video>.npy`` with these bytes, else why not."""
        record = self.videos.get(video)
        if record is None or record.get("status") != "done":
            why = record.get("error") if record else None
            return "no finished extraction of it is recorded" + (f" (its last one failed: {why})" if why else "")
        if record.get("section") != self.section:
            return (
                "it was made with another extract section than the folder's manifest names "
                "(or before the zoo recorded sections per video)"
            )
        if (record.get("files") or {}).get(name) != sha256:
            return "its bytes are not the ones the extraction wrote (the file was replaced or edited since)"
        return None


def remove_stale_rank_logs(out: Path, world: int) -> None:
    """Drop the logs of ranks beyond ``world`` (rank 0 on --overwrite; lower ranks reset their own)."""
    for path in out.glob("extract.rank*.json"):
        rank = path.name.removeprefix("extract.rank").removesuffix(".json")
        if rank.isdigit() and int(rank) >= world:
            path.unlink(missing_ok=True)
