"""The recipe's ``extract:`` section: checked, defaults filled, and compared with an earlier run's.

.. code-block:: yaml

    extract:
      seed: 0              # torch seed before building each backbone (random-init backbones repeat)
      batch_size: 16       # instances per backbone call
      workers: auto        # decoding processes (0: decode in this process; auto: one per spare core)
      prefetch: 2          # batches each worker prepares ahead
      channels_last: true  # backbones in channels-last memory order: 1.3-1.7x faster convolutions on a CPU
      amp: null            # null | bf16 | fp16: backbones under autocast (fp16 on CUDA only)
      max_missing_frames: 0.02   # share of a video's promised frames that may fail to decode (above 1%: a warning)
      decoder: {type: pyav}                  # or {type: torchcodec, device: cuda} (NVDEC), if installed
      inputs:              # one entry per model input; its features go to <out>/<input>/<video>.npy
        dynamic: {sampler: {type: clips, length: 16, fps: 5.0}, backbone: {type: "ptv:i3d_r50"}}
        static:
          sampler: {type: frames, fps: 1.0, context: 1, context_fps: 10.0}
          cropper: {type: motion}            # image backbones only; none = the whole key frame
          backbone: {type: "timm:resnet50"}
          size: [112, 112]                   # optional: the backbone's crop size, overridden
        sound:             # modality audio: log-mel of the seconds each clip covers -> an audio backbone
          modality: audio
          sampler: {type: clips, length: 16, fps: 5.0}   # the same sampler as an RGB input: aligned instances
          audio: {track: 0}                  # which audio stream; the front-end's settings are the backbone's
          backbone: {type: ast}              # an audio_backbones name
        motion:            # modality flow: RAFT flow between consecutive frames -> a 2-channel video backbone
          modality: flow
          sampler: {type: clips, length: 16, fps: 5.0}
          flow: {model: raft_small, size: [128, 224], iters: 12, bound: 20.0, weights: null}
          backbone: {type: "ptv:x3d_xs"}     # built with in_channels: 2

An input's instances are its sampler's: an audio or flow input with the same sampler as an RGB input
has as many instances as it, each covering the same seconds (clip k: from its first frame's time for
``length`` frames), so models can fuse them instance by instance. ``modality`` (default ``rgb``), ``audio``
and ``flow`` appear in the resolved section only for audio and flow inputs: RGB sections, and so their
digests and feature folders, are the same as before these modalities existed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry import ConfigError
from registry.errors import did_you_mean

from ...amp import AMP_CHOICES

TOP_KEYS = {
    "seed": 0,
    "batch_size": 16,
    "workers": "auto",
    "prefetch": 2,
    "channels_last": True,
    "amp": None,
    "max_missing_frames": 0.02,
    "decoder": None,
    "inputs": None,
}
INPUT_KEYS = {"sampler": None, "backbone": None, "cropper": None, "size": None}
# Keys of audio and flow inputs (recorded only for them: an RGB input resolves as it did before).
MODALITY_KEYS = {"modality": "rgb", "audio": None, "flow": None}
MODALITIES = ("rgb", "audio", "flow")
AUDIO_DEFAULTS: dict[str, Any] = {"track": 0}
REQUIRED_INPUT_KEYS = ("sampler", "backbone")
# Keys that change only the speed, not the features: a resumed run may change them.
# channels_last changes features only by float rounding (about 1e-6): a different order of the same sums.
SPEED_KEYS = ("batch_size", "workers", "prefetch", "channels_last")
# Keys that decide which videos pass, not what the features of a video are.
POLICY_KEYS = ("max_missing_frames",)
NOT_FEATURES = (*SPEED_KEYS, *POLICY_KEYS)
# Decoder settings that change only its speed.
DECODER_SPEED_KEYS = ("threads", "chunk")
DEFAULT_DECODER = {"type": "pyav"}
# Bump when the same section would give other features (how frames are decoded, resized, cropped):
# a folder made by another version is refused rather than mixed. 2: one decode per video, resizing in FFmpeg.
EXTRACTOR_VERSION = 2

EXAMPLE = """extract:
  seed: 0
  batch_size: 16
  inputs:
    dynamic:
      sampler: {type: clips, length: 16, fps: 5.0}
      backbone: {type: "ptv:i3d_r50"}
    static:
      sampler: {type: frames, fps: 1.0, context: 1, context_fps: 10.0}
      cropper: {type: motion}
      backbone: {type: "timm:resnet50"}"""


@dataclass(frozen=True)
class ExtractInput:
    """One model input in ``extract.inputs``: how its instances are sampled (and cropped) and what embeds them."""

    sampler: dict[str, Any]
    backbone: dict[str, Any]
    cropper: dict[str, Any] | None = None
    size: list[int] | None = None  # [height, width]: the backbone's input size, overridden
    modality: str = "rgb"  # rgb | audio | flow
    audio: dict[str, Any] | None = None  # modality audio: {track}
    flow: dict[str, Any] | None = None  # modality flow: {model, size, iters, bound, weights}

    def to_dict(self) -> dict[str, Any]:
        out = {k: copy.deepcopy(getattr(self, k)) for k in INPUT_KEYS}
        if self.modality != "rgb":
            out.update({k: copy.deepcopy(getattr(self, k)) for k in MODALITY_KEYS})
        return out


@dataclass(frozen=True)
class ExtractSection:
    """The recipe's ``extract:`` section, typed and checked (``ExtractSection.parse``); ``to_dict()`` is the plain
    form manifests record and digests are made of (key order and values as the section resolves)."""

    inputs: dict[str, ExtractInput]
    seed: int = 0
    batch_size: int = 16
    workers: int | str = "auto"
    prefetch: int = 2
    channels_last: bool = True
    amp: str | None = None
    max_missing_frames: float = 0.02
    decoder: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_DECODER))

    @classmethod
    def parse(cls, cfg: Mapping[str, Any] | ExtractSection | None) -> ExtractSection:
        """The section checked, defaults filled; an error names the key and shows a whole example."""
        if isinstance(cfg, ExtractSection):
            return cfg
        return _parse(cfg)

    def to_dict(self) -> dict[str, Any]:
        out = {k: copy.deepcopy(getattr(self, k)) for k in TOP_KEYS if k != "inputs"}
        out["inputs"] = {name: e.to_dict() for name, e in self.inputs.items()}
        return {k: out[k] for k in TOP_KEYS}


def resolve_config(cfg: Mapping[str, Any] | ExtractSection | None) -> dict[str, Any]:
    """The ``extract`` section checked and completed (defaults filled, plain dicts and lists)."""
    return ExtractSection.parse(cfg).to_dict()


def _parse(cfg: Mapping[str, Any] | None) -> ExtractSection:
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"the extract section must be a mapping like\n{EXAMPLE}\ngot {cfg!r}")
    _check_keys(cfg, TOP_KEYS, "extract")
    out = {k: copy.deepcopy(cfg.get(k, default)) for k, default in TOP_KEYS.items()}
    if not isinstance(out["seed"], int) or isinstance(out["seed"], bool):
        raise ConfigError(f"extract.seed must be an integer, got {out['seed']!r}")
    for key in ("batch_size", "prefetch"):
        if isinstance(out[key], bool) or not isinstance(out[key], int) or out[key] < 1:
            raise ConfigError(f"extract.{key} must be a positive integer, got {out[key]!r}")
    if not isinstance(out["channels_last"], bool):
        raise ConfigError(f"extract.channels_last must be true or false, got {out['channels_last']!r}")
    workers = out["workers"]
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ConfigError(
            f"extract.workers must be 'auto' or an integer >= 0 (0: decode in this process), got {workers!r}"
        )
    if out["amp"] not in AMP_CHOICES:
        raise ConfigError(f"extract.amp must be one of null, bf16, fp16, got {out['amp']!r}")
    share = out["max_missing_frames"]
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < 1:
        raise ConfigError(
            f"extract.max_missing_frames is the share of a video's frames that may be missing, in [0, 1), got {share!r}"
        )
    decoder = out["decoder"] if out["decoder"] is not None else dict(DEFAULT_DECODER)
    if not (isinstance(decoder, Mapping) and "type" in decoder):
        raise ConfigError(f"extract.decoder must be a mapping with a 'type' (pyav, torchcodec), got {decoder!r}")
    out["decoder"] = dict(decoder)
    inputs = out["inputs"]
    if not isinstance(inputs, Mapping) or not inputs:
        raise ConfigError(f"extract.inputs must map each model input to its sampler and backbone, e.g.\n{EXAMPLE}")
    out["inputs"] = {name: ExtractInput(**_resolve_input(name, entry)) for name, entry in inputs.items()}
    return ExtractSection(**out)


def _resolve_input(name: Any, entry: Any) -> dict[str, Any]:
    where = f"extract.inputs.{name}"
    if not isinstance(name, str) or not name or name.startswith(".") or "/" in name or "\\" in name:
        raise ConfigError(f"{where}: an input name becomes a folder name; got {name!r}")
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where} must be a mapping with sampler and backbone, got {entry!r}")
    _check_keys(entry, {**INPUT_KEYS, **MODALITY_KEYS}, where)
    missing = [k for k in REQUIRED_INPUT_KEYS if entry.get(k) is None]
    if missing:
        raise ConfigError(f"{where} needs {' and '.join(missing)} (each a mapping with a 'type'), e.g.\n{EXAMPLE}")
    out = {k: copy.deepcopy(entry.get(k, default)) for k, default in INPUT_KEYS.items()}
    for key in ("sampler", "backbone", "cropper"):
        if out[key] is not None and not (isinstance(out[key], Mapping) and "type" in out[key]):
            raise ConfigError(f"{where}.{key} must be a mapping with a 'type' key, got {out[key]!r}")
        if out[key] is not None:
            out[key] = dict(out[key])
    size = out["size"]
    if size is not None:
        pair = [size, size] if isinstance(size, int) else size
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(s, int) and s > 0 for s in pair)):
            raise ConfigError(f"{where}.size must be null, an int or [height, width] of positive ints, got {size!r}")
        out["size"] = [int(s) for s in pair]
    out.update(_resolve_modality(entry, where))
    return out


def _resolve_modality(entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``modality`` and its settings checked and completed; an RGB input gets none (and may not name them)."""
    modality = entry.get("modality", "rgb")
    if modality not in MODALITIES:
        raise ConfigError(f"{where}.modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
    stray = [k for k in ("audio", "flow") if entry.get(k) is not None and k != modality]
    if stray:
        raise ConfigError(f"{where}: {stray[0]} settings belong to an input with modality: {stray[0]}, not {modality}")
    if modality == "rgb":
        return {}
    kept = [k for k in ("cropper", "size") if entry.get(k) is not None]
    if kept:
        why = "the seconds each clip covers" if modality == "audio" else "frames at flow.size, for RAFT"
        article = "an" if modality == "audio" else "a"
        raise ConfigError(f"{where}: {article} {modality} input takes no {' or '.join(kept)} (it reads {why})")
    if modality == "audio":
        audio = entry.get("audio") or {}
        if not isinstance(audio, Mapping):
            raise ConfigError(f"{where}.audio must be a mapping like {AUDIO_DEFAULTS}, got {audio!r}")
        _check_keys(audio, AUDIO_DEFAULTS, f"{where}.audio")
        resolved = {**AUDIO_DEFAULTS, **audio}
        track = resolved["track"]
        if isinstance(track, bool) or not isinstance(track, int) or track < 0:
            raise ConfigError(f"{where}.audio.track (which audio stream, from 0) must be an int >= 0, got {track!r}")
        return {"modality": "audio", "audio": resolved, "flow": None}
    from ...backbones.flow import FlowSettings

    flow = entry.get("flow") or {}
    if not isinstance(flow, Mapping):
        raise ConfigError(f"{where}.flow must be a mapping of flow settings, got {flow!r}")
    return {"modality": "flow", "audio": None, "flow": FlowSettings.parse(flow, f"{where}.flow").to_dict()}


def _check_keys(cfg: Mapping[str, Any], known: Mapping[str, Any], where: str) -> None:
    unknown = [k for k in cfg if k not in known]
    if unknown:
        hints = "".join(did_you_mean(str(k), known) for k in unknown)
        raise ConfigError(f"{where}: unknown key(s) {unknown}.{hints} It accepts: {', '.join(known)}.")


def input_fingerprint(config: Mapping[str, Any], name: str, version: int = EXTRACTOR_VERSION) -> dict[str, Any]:
    """What decides the features of input ``name`` of a resolved section: everything a feature folder's
    consumers compare (the extractor's version, seed, autocast, decoder and the input's own entry)."""
    decoder = {k: v for k, v in (config.get("decoder") or DEFAULT_DECODER).items() if k not in DECODER_SPEED_KEYS}
    return {
        "extractor_version": version,
        "seed": config.get("seed"),
        "amp": config.get("amp"),
        "decoder": decoder,
        "input": dict((config.get("inputs") or {})[name]),
    }


def section_digest(config: Mapping[str, Any], version: int = EXTRACTOR_VERSION) -> str:
    """A short name for what a resolved section makes (speed and policy keys left out): equal sections, equal digest."""
    from registry.provenance import digest

    return digest({name: input_fingerprint(config, name, version) for name in config.get("inputs") or {}})


def config_differences(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "extract") -> list[str]:
    """Dotted keys whose values differ between two resolved sections (speed-only keys ignored)."""
    diffs: list[str] = []
    for key in sorted(set(old) | set(new), key=str):
        if prefix == "extract" and key in NOT_FEATURES:
            continue
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            diffs += config_differences(a, b, f"{prefix}.{key}")
        elif a != b:
            diffs.append(f"{prefix}.{key}: {a!r} before, {b!r} now")
    return diffs
