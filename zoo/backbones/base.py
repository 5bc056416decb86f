"""What every backbone shares: the input it expects, its feature size, freezing and loading weights.

A backbone turns frames into one feature vector per instance: video ``[B, 3, T, H, W]`` or image
``[B, 3, H, W]`` (float, already normalised) -> ``[B, feature_dim]``. Subclasses build the library's
network, strip its classifier, keep it in ``self.net`` and call ``finish(weights=..., freeze=...)``.
"""

from __future__ import annotations

import os
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor, nn

from registry import ConfigError, MissingFileError
from registry.checkpoint import mismatches

from ..errors import DataError, DownloadError
from ..kinds import BACKBONES

T = TypeVar("T")

INPUT_KINDS = ("video", "image")
# Where training frameworks keep the state_dict inside a checkpoint dict (PySlowFast uses 'model_state').
STATE_DICT_KEYS = ("state_dict", "model", "model_state")


@dataclass(frozen=True)
class InputSpec:
    """The input a backbone was trained on: clip length, frame stride, crop size and normalisation.

    ``sampling_rate`` is the stride between sampled frames at ``fps``, the frame rate of the training
    videos (Kinetics: 30); ``mean``/``std`` apply to pixel values in [0, 1], one per channel.
    ``channels`` is 3 (RGB) but for a network fed something else (2: optical flow, ``flow.py``).
    """

    kind: str
    frames: int
    sampling_rate: int
    size: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    fps: float | None = None
    channels: int = 3

    def __post_init__(self) -> None:
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"InputSpec.kind must be one of {INPUT_KINDS}, got {self.kind!r}")
        if isinstance(self.channels, bool) or not isinstance(self.channels, int) or self.channels < 1:
            raise ValueError(f"InputSpec.channels must be a positive int, got {self.channels!r}")
        # YAML and JSON give lists; keep the spec hashable and comparable.
        c = self.channels
        for field, n, cast in (("size", 2, int), ("mean", c, float), ("std", c, float)):
            value = tuple(getattr(self, field))
            if len(value) != n:
                raise ValueError(f"InputSpec.{field} needs {n} values, got {list(value)}")
            object.__setattr__(self, field, tuple(map(cast, value)))
        clip = (self.frames, self.sampling_rate)
        if min(clip) < 1 or (self.kind == "image" and clip != (1, 1)):
            raise ValueError(
                f"InputSpec frames, sampling_rate must be >= 1 (1, 1 for images); got {clip} for kind {self.kind!r}"
            )

    @property
    def shape(self) -> tuple[int, ...]:
        """One instance as the network was trained on it: ``(C, T, H, W)`` or ``(C, H, W)`` (C: 3 for RGB)."""
        c = self.channels
        return (c, self.frames, *self.size) if self.kind == "video" else (c, *self.size)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON / YAML (tuples as lists)."""
        return {
            "kind": self.kind,
            "frames": self.frames,
            "sampling_rate": self.sampling_rate,
            "size": list(self.size),
            "mean": list(self.mean),
            "std": list(self.std),
            "fps": self.fps,
            # RGB specs are written as before channels existed (manifests of RGB inputs stay byte-identical).
            **({"channels": self.channels} if self.channels != 3 else {}),
        }


class Backbone(nn.Module, metaclass=ABCMeta):
    """Frames -> one feature vector per instance; says ``feature_dim`` and ``input_spec`` up front.

    ``forward(x)`` takes normalised float frames ``[B, 3, T, H, W]`` (``input_spec.kind == "video"``)
    or ``[B, 3, H, W]`` (``"image"``) and returns ``[B, feature_dim]``; a wrong shape is an error
    naming the backbone and what it expects. ``input_spec`` states the clip length, frame stride,
    crop size and mean/std the network was trained on (the extractor's transforms read it).
    Built with ``pretrained`` (downloaded, read with weights_only=True), ``weights`` (a local file),
    ``freeze``; the library's network, classifier stripped, is ``self.net``.
    """

    declares: ClassVar[tuple[str, ...]] = ("name", "feature_dim", "input_spec", "net")  # checked when built

    feature_dim: int
    input_spec: InputSpec
    net: nn.Module  # the library's network, classifier stripped; set by the subclass

    def __init__(self, name: str, feature_dim: int, input_spec: InputSpec) -> None:
        super().__init__()
        self.name = name
        self.feature_dim = int(feature_dim)
        self.input_spec = input_spec
        self.frozen = False
        # State-dict prefixes (relative to ``self.net``) of the stripped classifier: a library checkpoint
        # holds them, this backbone does not, so ``load_weights`` drops them.
        self.classifier_keys: tuple[str, ...] = ()

    def finish(
        self, weights: str | os.PathLike[str] | None = None, freeze: bool = False, zero_init_last: bool = True
    ) -> None:
        """Load ``weights`` (if given), then freeze (if asked): the last step of every constructor.

        ``zero_init_last: false`` matters only for random weights: both libraries start the last norm of
        every residual branch at zero (good for training from scratch), which leaves a random network's
        features to its stem and shortcuts. Those norms are set to one instead, so random features pass
        through every block (the built-in demo extracts features with random backbones).
        """
        if not zero_init_last and weights is None:
            for module in self.net.modules():
                norm = isinstance(module, nn.modules.batchnorm._NormBase) and module.weight is not None
                if norm and not module.weight.detach().any():
                    nn.init.ones_(module.weight)
        if weights is not None:
            self.load_weights(weights)
        if freeze:
            self.freeze()

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor: ...

    # -- freezing -----------------------------------------------------------------------------
    def freeze(self) -> Backbone:
        """A fixed feature extractor: no gradients, and eval mode (BatchNorm, dropout) even under ``.train()``."""
        self.frozen = True
        self.requires_grad_(False)
        return self.train(False)

    def train(self, mode: bool = True) -> Backbone:
        # nn.Module.train recurses through children, so a parent's .train() lands here too.
        return super().train(mode and not self.frozen)

    # -- input checks -------------------------------------------------------------------------
    def check_input(self, x: Tensor) -> None:
        """Raise a ValueError naming this backbone and the expected shape when ``x`` cannot be right."""
        video = self.input_spec.kind == "video"
        c = self.input_spec.channels
        want = f"[B, {c}, T, H, W]" if video else f"[B, {c}, H, W]"
        rank = 5 if video else 4
        example = list(self.input_spec.shape)
        if not isinstance(x, Tensor):
            raise DataError(f"{self.name} expects a tensor of frames {want}, got {type(x).__name__}")
        if x.dim() == rank and x.shape[1] == c and x.is_floating_point():
            return
        hint = ""
        if not x.is_floating_point():
            hint = f" Frames must be float and normalised ((x / 255 - mean) / std), got dtype {x.dtype}."
        elif x.dim() == rank - 1 and x.shape[0] == 3:
            hint = " One instance without the batch dimension? Use x[None]."
        elif video and x.dim() == 5 and x.shape[2] == 3:
            hint = " Time before channels ([B, T, 3, H, W])? Use x.permute(0, 2, 1, 3, 4)."
        elif not video and x.dim() == 4 and x.shape[-1] == 3:
            hint = " Channels last ([B, H, W, 3])? Use x.permute(0, 3, 1, 2)."
        elif not video and x.dim() == 5:
            hint = " A video clip? Use a ptv: backbone, or fold time into the batch: x.transpose(1, 2).flatten(0, 1)."
        elif video and x.dim() == 4:
            hint = " Single frames? Use a timm: backbone, or add a time axis: x[:, :, None]."
        raise DataError(f"{self.name} expects frames {want} (trained on {[1, *example]}), got {list(x.shape)}.{hint}")

    # -- weights ------------------------------------------------------------------------------
    def load_weights(self, path: str | os.PathLike[str]) -> None:
        """Load a local checkpoint into ``self.net``; any mismatch raises an error listing the keys.

        The file may hold this backbone's own ``state_dict()`` (keys ``net.…``) or the library's
        checkpoint of the whole classifier (its classifier keys are dropped), raw or under
        'state_dict' / 'model' / 'model_state', with or without a DataParallel 'module.' prefix.
        """
        net: nn.Module = self.net
        state = read_state_dict(path)
        if state and all(k.startswith("net.") for k in state):
            state = {k.removeprefix("net."): v for k, v in state.items()}
        state = self.adapt_state(state)
        own = net.state_dict()
        state = {k: v for k, v in state.items() if k in own or not k.startswith(self.classifier_keys)}
        # Old checkpoints predate BatchNorm's num_batches_tracked; it does not change the output.
        lines = mismatches(own, state, "the file", self.name, optional=lambda k: k.endswith("num_batches_tracked"))
        if lines:
            head = f"weights file {str(path)!r} does not fit backbone {self.name} (saved from another model?)"
            tail = f"  {self.name} expects keys like: {_some(list(own), 3)}"
            raise ConfigError("\n".join([head, *lines, tail]))
        net.load_state_dict(state, strict=False)

    def adapt_state(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        """A checkpoint's ``self.net`` state made to fit this backbone (default: as it is)."""
        return state


BACKBONES.contract = Backbone


def _some(items: list[str], n: int = 10) -> str:
    more = f", ... ({len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """A flat ``{name: tensor}`` from a checkpoint file, read without running code from it."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise MissingFileError(f"weights file {str(p)!r} does not exist")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        obj: Any = load_file(str(p), device="cpu")
    else:
        try:
            obj = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as e:  # torch raises several types for unsafe or corrupt files
            raise ConfigError(
                f"weights file {str(p)!r} could not be read with torch.load(weights_only=True): {e}\n"
                "If the file comes from a source you trust and holds more than tensors, save just its "
                "state_dict: torch.save(torch.load(src, weights_only=False)['model_state'], dst)"
            ) from e
    for _ in range(3):  # unwrap {'model': {'state_dict': ...}} and the like
        inner = [obj[k] for k in STATE_DICT_KEYS if isinstance(obj, Mapping) and isinstance(obj.get(k), Mapping)]
        if not inner:
            break
        obj = inner[0]
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, Tensor) for v in obj.values()):
        found = sorted(obj)[:10] if isinstance(obj, Mapping) else type(obj).__name__
        raise ConfigError(
            f"weights file {str(p)!r} holds no state_dict: expected a dict of tensors, raw or under "
            f"{' / '.join(repr(k) for k in STATE_DICT_KEYS)}; found {found}"
        )
    return {str(k).removeprefix("module."): v for k, v in obj.items()}


def check_sources(name: str, pretrained: bool, weights: str | os.PathLike[str] | None) -> None:
    """``pretrained`` downloads, ``weights`` reads a local file: one or the other, not both."""
    if pretrained and weights is not None:
        raise ConfigError(
            f"backbone {name}: pass either `pretrained: true` (download) or `weights: {weights}` (local file), not both"
        )


def download_pretrained(name: str, build: Callable[[], T], url: str | None = None) -> T:
    """``build()`` runs the download; a failed download becomes a ``DownloadError`` that says what to do."""
    try:
        return build()
    except OSError as e:  # URLError, socket errors and huggingface_hub's errors are all OSErrors
        where = f" from {url}" if url else ""
        raise DownloadError(
            f"pretrained weights for backbone {name} could not be downloaded{where} ({type(e).__name__}: {e}). "
            "Without network, fetch the checkpoint on a machine that has it and pass "
            "`weights: /path/to/checkpoint.pth` instead of `pretrained: true`."
        ) from e
