"""``train.init_from``: start named submodules from another run's checkpoint (PAMFN's fusion from its branches).

``init_from: [{checkpoint: runs/peers/pamfn_rgb/<stamp>/last.pt, modules: {streams.rgb: streams.rgb}}]``
copies every tensor under ``streams.rgb.`` of that checkpoint's model into ``streams.rgb.`` of this one.
Every key under a target module must come from the source with the same shape (nothing half-copied), and
the checkpoint must have been trained on this run's training videos with the same features of the inputs
both read: a branch trained on the test videos, or on other features, would leak or mislead. A mismatch is
refused naming what differs, unless accepted (``--accept-mismatch``), and then listed with the results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from registry import ConfigError, RecipeError, load_checkpoint
from registry.provenance import file_digest

ENTRY_KEYS = ("checkpoint", "modules")


def check_entries(entries: Any, where: str = "train.init_from") -> None:
    """The shape of the setting: a list of ``{checkpoint: path, modules: {source prefix: target prefix}}``."""
    example = "[{checkpoint: runs/x/last.pt, modules: {streams.rgb: streams.rgb}}]"
    if not isinstance(entries, list):
        raise ConfigError(f"{where} must be a list like {example}, got {entries!r}")
    for entry in entries:
        if not isinstance(entry, Mapping) or set(entry) != set(ENTRY_KEYS):
            raise ConfigError(f"{where} entry {entry!r}: needs exactly {ENTRY_KEYS}, e.g. {example}")
        modules = entry["modules"]
        if (
            not isinstance(modules, Mapping)
            or not modules
            or not all(isinstance(x, str) for kv in modules.items() for x in kv)
        ):
            raise ConfigError(f"{where} entry {dict(entry)}: modules must map source to target prefixes (strings)")
        if not isinstance(entry["checkpoint"], str | Path):
            raise ConfigError(f"{where} entry {dict(entry)}: checkpoint must be a path")


def _under(state: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) + 1 :]: v for k, v in state.items() if k.startswith(prefix + ".")}


def _data_differences(source: Mapping[str, Any] | None, ours: Mapping[str, Any], inputs: Sequence[str]) -> list[str]:
    """Where the source checkpoint's training data differs from this run's, for what both rely on."""
    if not source:
        return ["it records no training data (no provenance): nothing says which videos it saw"]
    out = []
    for split in ("train", "val", "test"):
        if (source.get("splits") or {}).get(split) != (ours.get("splits") or {}).get(split):
            out.append(f"its {split} split holds other videos")
    if source.get("annotations") != ours.get("annotations"):
        out.append("its annotations differ (files, target or classes)")
    for key in inputs:
        theirs, mine = (source.get("inputs") or {}).get(key), (ours.get("inputs") or {}).get(key)
        if theirs is not None and theirs != mine:
            out.append(f"its {key!r} features differ (made by another section, or other bytes)")
    return out


def init_from(
    model: nn.Module, entries: Sequence[Mapping[str, Any]], data: Mapping[str, Any], accept: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """Copy the named submodules into ``model``; returns what was copied (for the run's record) and the
    mismatches accepted. ``data``: this run's data fingerprint (``FeatureData.fingerprint()``)."""
    state = model.state_dict()
    loaded = dict(state)
    record, accepted = [], []
    for entry in entries:
        path = Path(entry["checkpoint"])
        try:
            ckpt = load_checkpoint(path)
        except RecipeError as e:
            raise RecipeError(f"train.init_from: {e}") from None
        theirs = ckpt.get("model") or {}
        inputs = sorted(
            set(data.get("inputs") or {}) & set(((ckpt.get("provenance") or {}).get("data") or {}).get("inputs") or {})
        )
        differ = _data_differences((ckpt.get("provenance") or {}).get("data"), data, inputs)
        if differ and not accept:
            raise RecipeError(
                f"train.init_from: {path} was not trained on this run's data: {'; '.join(differ)}. Train it on the "
                f"same data section, or pass --accept-mismatch to start from it anyway"
            )
        accepted += [f"init_from {path}: {d}" for d in differ]
        for source, target in entry["modules"].items():
            src, dst = _under(theirs, source), _under(state, target)
            if not dst:
                prefixes = sorted({k.split(".")[0] for k in state})
                raise ConfigError(f"train.init_from: this model has no module {target!r} (its modules: {prefixes})")
            if not src:
                prefixes = sorted({".".join(k.split(".")[:2]) for k in theirs})
                raise ConfigError(f"train.init_from: {path} has no module {source!r} (it has: {prefixes[:12]})")
            missing = sorted(set(dst) - set(src))
            extra = sorted(set(src) - set(dst))
            shapes = [
                f"{k} {list(src[k].shape)} vs {list(dst[k].shape)}"
                for k in dst
                if k in src and src[k].shape != dst[k].shape
            ]
            if missing or extra or shapes:
                raise ConfigError(
                    f"train.init_from: {path}'s {source!r} does not fit this model's {target!r}: "
                    + "; ".join(
                        p
                        for p in (
                            f"missing there: {missing[:6]}" if missing else "",
                            f"unknown here: {extra[:6]}" if extra else "",
                            f"shapes differ: {shapes[:4]}" if shapes else "",
                        )
                        if p
                    )
                )
            for k, v in src.items():
                loaded[f"{target}.{k}"] = v.to(dst[k].dtype) if torch.is_floating_point(v) else v
        record.append(
            {
                "checkpoint": str(path),
                "sha256": file_digest(path),
                "modules": dict(entry["modules"]),
                "epoch": ckpt.get("epoch"),
            }
        )
    model.load_state_dict(loaded)
    return record, accepted
