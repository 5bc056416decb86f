"""pytorchvideo hub models as clip backbones, ``ptv:<name>``: ``[B, 3, T, H, W]`` -> ``[B, feature_dim]``.

The classifier is stripped: the feature is the globally averaged activation that fed the final
projection, pooled adaptively so any clip size works (the hub heads pool with a fixed kernel, and
the X3D and R(2+1)D heads end in a softmax). For X3D the feature is the 2048-d output of the head's
own 432 -> 2048 projections (the paper's penultimate layer), not the 192-d last stage.
pytorchvideo is imported only when a backbone is built.
"""

from __future__ import annotations

import functools
import math
import os
import pickle
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from registry import ConfigError

from ..errors import DataError
from ..imports import import_quietly
from ..kinds import BACKBONES
from .base import Backbone, InputSpec, check_sources, download_pretrained

KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)
KINETICS_FPS = 30.0


@dataclass(frozen=True)
class PtvModel:
    """One hub model: its family (how its head is stripped), training clip and feature size.

    ``frames`` x ``sampling_rate`` is the clip the model zoo trained on (for SlowFast: the fast
    pathway's clip; the slow pathway takes every alpha-th of it), ``size`` the square crop the hub
    model's fixed head pool was built for.
    """

    family: str
    frames: int
    sampling_rate: int
    size: int
    feature_dim: int


# The pytorchvideo model zoo (docs/source/model_zoo.md; hub/*.py for crop sizes), Kinetics-400.
PTV_MODELS: dict[str, PtvModel] = {
    "c2d_r50": PtvModel("resnet", 8, 8, 224, 2048),
    "i3d_r50": PtvModel("resnet", 8, 8, 224, 2048),
    "slow_r50": PtvModel("resnet", 8, 8, 224, 2048),
    "slowfast_r50": PtvModel("slowfast", 32, 2, 224, 2304),  # slow 8x8, fast 32x2 (alpha 4)
    "slowfast_r101": PtvModel("slowfast", 32, 2, 224, 2304),
    "slowfast_16x8_r101_50_50": PtvModel("slowfast", 64, 2, 224, 2304),  # slow 16x8, fast 64x2
    "r2plus1d_r50": PtvModel("resnet", 16, 4, 224, 2048),
    "csn_r101": PtvModel("resnet", 32, 2, 224, 2048),
    # X3D trains at these crops; PySlowFast tests at 182 (XS, S), 256 (M), 356 (L). Any size works here.
    "x3d_xs": PtvModel("resnet", 4, 12, 160, 2048),
    "x3d_s": PtvModel("resnet", 13, 6, 160, 2048),
    "x3d_m": PtvModel("resnet", 16, 5, 224, 2048),
    "x3d_l": PtvModel("resnet", 16, 5, 312, 2048),
    "efficient_x3d_xs": PtvModel("efficient_x3d", 4, 12, 160, 2048),
    "efficient_x3d_s": PtvModel("efficient_x3d", 13, 6, 160, 2048),
    # MViT's positional embeddings fix T, H and W: only this clip size works.
    "mvit_base_16x4": PtvModel("mvit", 16, 4, 224, 768),
    "mvit_base_32x3": PtvModel("mvit", 32, 3, 224, 768),
}


# Hub models that do not make clip backbones, and why.
LEFT_OUT: dict[str, str] = {
    "slow_r50_detection": "an AVA detector: needs person boxes with every clip (ROI head)",
    "slowfast_r50_detection": "an AVA detector: needs person boxes with every clip (ROI head)",
    "mvit_base_16": "an ImageNet image model (T=1); use a timm: backbone for single frames",
}


def input_spec_of(name: str, channels: int = 3) -> InputSpec:
    """The ``InputSpec`` of a ``ptv:`` model, from the table (nothing is built).

    With ``channels`` other than 3 the inputs are not pixels (optical flow, scaled by its maker), so they
    are passed through as they are: mean 0, std 1.
    """
    m = PTV_MODELS[name]
    rgb = channels == 3
    return InputSpec(
        kind="video",
        frames=m.frames,
        sampling_rate=m.sampling_rate,
        size=(m.size, m.size),
        mean=KINETICS_MEAN if rgb else (0.0,) * channels,
        std=KINETICS_STD if rgb else (1.0,) * channels,
        fps=KINETICS_FPS,
        channels=channels,
    )


def stem_convs(net: nn.Module) -> list[str]:
    """Names of the convolutions that read the RGB input (one per pathway: SlowFast has two)."""
    return [n for n, m in net.named_modules() if isinstance(m, nn.Conv3d) and m.in_channels == 3 and m.groups == 1]


def adapt_stem_weight(weight: Tensor, channels: int) -> Tensor:
    """An RGB stem's kernel for ``channels`` inputs: the mean over RGB, repeated (the cross-modality
    initialisation of Wang et al., TSN 2016, which trains flow networks from RGB weights)."""
    return weight.mean(dim=1, keepdim=True).repeat(1, channels, *([1] * (weight.dim() - 2))).contiguous()


def _set_in_channels(net: nn.Module, channels: int, name: str) -> tuple[str, ...]:
    """Replace every stem convolution of ``net`` by one reading ``channels`` inputs (weights adapted)."""
    stems = stem_convs(net)
    if not stems:
        raise ConfigError(f"backbone {name}: no convolution reads the 3 RGB channels, so in_channels cannot change")
    for path in stems:
        parent_name, _, attr = path.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        old: nn.Conv3d = getattr(parent, attr)
        new = nn.Conv3d(
            channels,
            old.out_channels,
            old.kernel_size,
            old.stride,
            old.padding,
            old.dilation,
            bias=old.bias is not None,
            padding_mode=old.padding_mode,
        )
        with torch.no_grad():
            new.weight.copy_(adapt_stem_weight(old.weight, channels))
            if old.bias is not None:
                new.bias.copy_(old.bias)
        setattr(parent, attr, new)
    return tuple(f"{p}.weight" for p in stems)


# -- stripping the classifier: each returns (the classifier's input size, its state-dict prefixes) --
def _strip_resnet_head(net: nn.Module) -> tuple[int, tuple[str, ...]]:
    """ResNet, CSN, R(2+1)D and X3D: a ResNetBasicHead; X3D's pool is a ProjectedPool."""
    head = net.blocks[-1]
    dim = head.proj.in_features
    if hasattr(head.pool, "post_conv"):  # X3D: keep pre_conv -> pool -> post_conv, pool globally
        head.pool.pool = nn.AdaptiveAvgPool3d(1)
    else:
        head.pool = nn.AdaptiveAvgPool3d(1)
    head.dropout = head.proj = head.activation = None
    return dim, (f"blocks.{len(net.blocks) - 1}.proj.",)


def _strip_slowfast_head(net: nn.Module) -> tuple[int, tuple[str, ...]]:
    """SlowFast: each pathway is pooled (fixed kernels) and concatenated before the head."""
    net.blocks[-2].pool = nn.ModuleList([nn.AdaptiveAvgPool3d(1) for _ in net.blocks[-2].pool])
    head = net.blocks[-1]
    dim = head.proj.in_features
    head.dropout = head.proj = head.activation = None
    return dim, (f"blocks.{len(net.blocks) - 1}.proj.",)


def _strip_efficient_x3d_head(net: nn.Module) -> tuple[int, tuple[str, ...]]:
    """Efficient X3D (mobile CPU): head = conv_5 -> adaptive pool -> lin_5 (2048), then projection."""
    dim = net.projection.model.in_features
    net.projection = nn.Identity()
    net.act = nn.Identity()
    if hasattr(net, "dropout"):
        net.dropout = nn.Identity()
    return dim, ("projection.",)


def _strip_mvit_head(net: nn.Module) -> tuple[int, tuple[str, ...]]:
    """MViT: the class token after the last norm."""
    dim = net.head.proj.in_features
    net.head.dropout = None
    net.head.proj = nn.Identity()  # the head calls proj unconditionally
    net.head.activation = None
    return dim, ("head.proj.",)


STRIP: dict[str, Callable[[nn.Module], tuple[int, tuple[str, ...]]]] = {
    "resnet": _strip_resnet_head,
    "slowfast": _strip_slowfast_head,
    "efficient_x3d": _strip_efficient_x3d_head,
    "mvit": _strip_mvit_head,
}


def hub_weights(name: str, url: str | None) -> dict[str, Tensor]:
    """The model zoo's checkpoint at ``url``, downloaded once into torch's hub cache and read with weights_only=True.

    pytorchvideo's own loader unpickles the file with weights_only=False, so a poisoned cache file would
    run code; here such a file is refused.
    """
    if not url:
        raise ConfigError(f"backbone {name}: pytorchvideo lists no pretrained checkpoint for it")
    try:
        ckpt = torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=True, weights_only=True)
    except pickle.UnpicklingError:
        where = Path(torch.hub.get_dir()) / "checkpoints" / Path(urllib.parse.urlparse(url).path).name
        raise ConfigError(
            f"backbone {name}: the pretrained weights file {where} holds Python objects besides tensors (a pickle "
            "that could run code when opened), so it is refused; delete it to download it again"
        ) from None
    state = ckpt.get("model_state", ckpt) if isinstance(ckpt, dict) else ckpt
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ConfigError(f"backbone {name}: the pretrained checkpoint from {url} holds no state_dict")
    return state


def _checkpoint_url(name: str) -> str | None:
    """The URL pytorchvideo downloads ``name`` from, for the error message when it cannot."""
    import importlib

    hub = import_quietly("pytorchvideo.models.hub")
    module = importlib.import_module(getattr(hub, name).__module__)
    urls = getattr(module, "checkpoint_paths", None) or getattr(module, "_checkpoint_paths", {})
    return urls.get(name)


class PtvBackbone(Backbone):
    """A pytorchvideo hub model without its classifier: clips ``[B, 3, T, H, W]`` -> ``[B, feature_dim]``."""

    def __init__(
        self,
        name: str,
        pretrained: bool = False,
        weights: str | os.PathLike[str] | None = None,
        freeze: bool = False,
        zero_init_last: bool = True,
        in_channels: int = 3,
    ) -> None:
        """``pretrained`` downloads the Kinetics weights through pytorchvideo; ``weights`` reads a local file.

        ``in_channels`` other than 3 (2: optical flow) replaces the stem convolutions; RGB weights (``pretrained``,
        or a ``weights`` file of the RGB model) are adapted to it by averaging the stem's kernels over RGB.
        """
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
            raise ConfigError(f"backbone ptv:{name}: in_channels must be a positive int, got {in_channels!r}")
        if name not in PTV_MODELS:
            raise ValueError(f"unknown pytorchvideo model {name!r}; known: {', '.join(PTV_MODELS)}")
        full_name = f"ptv:{name}"
        check_sources(full_name, pretrained, weights)
        hub = import_quietly("pytorchvideo.models.hub")

        net = getattr(hub, name)(pretrained=False)  # the hub unpickles its download with weights_only=False
        if pretrained:
            url = _checkpoint_url(name)
            state = download_pretrained(full_name, functools.partial(hub_weights, full_name, url), url)
            net.load_state_dict(state)
        row = PTV_MODELS[name]
        super().__init__(full_name, row.feature_dim, input_spec_of(name, in_channels))
        self.stem_keys = _set_in_channels(net, in_channels, full_name) if in_channels != 3 else ()
        dim, self.classifier_keys = STRIP[row.family](net)
        if dim != row.feature_dim:  # guards the table against a pytorchvideo that changed
            raise RuntimeError(f"{full_name}: the table says {row.feature_dim}-d features, the model has {dim}")
        self.net = net
        self.family = row.family
        # SlowFast: the fast->slow fusion conv's temporal stride is the frame-rate ratio alpha.
        self.alpha = net.blocks[0].multipathway_fusion.conv_fast_to_slow.stride[0] if row.family == "slowfast" else 1
        self.finish(weights=weights, freeze=freeze, zero_init_last=zero_init_last or pretrained)

    def adapt_state(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        """A file of the RGB model fits a backbone of other ``in_channels`` too: its stem kernels averaged over RGB."""
        own = self.net.state_dict()
        for key in self.stem_keys:
            if key in state and state[key].dim() == 5 and state[key].shape[1] != own[key].shape[1]:
                state = {**state, key: adapt_stem_weight(state[key], self.input_spec.channels)}
        return state

    def pathways(self, x: Tensor) -> list[Tensor]:
        """SlowFast's [slow, fast] inputs from one clip: the slow pathway sees ceil(T / alpha) frames.

        Frames are spread evenly over the clip as PySlowFast's PackPathway does (T divisible by
        alpha gives its exact frames); ceil keeps the count equal to the fusion conv's output.
        """
        t = x.shape[2]
        index = torch.linspace(0, t - 1, math.ceil(t / self.alpha), device=x.device).long()
        return [x.index_select(2, index), x]

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        if self.family == "slowfast":
            return self.net(self.pathways(x))
        if self.family == "mvit":
            spec = self.input_spec
            want = (spec.frames, *spec.size)
            if tuple(x.shape[2:]) != want:
                raise DataError(
                    f"{self.name} only takes clips of T, H, W = {want} (its positional embeddings are fixed); "
                    f"got [B, 3, T, H, W] = {list(x.shape)}. Sample {spec.frames} frames and crop to "
                    f"{spec.size[0]}x{spec.size[1]}, or pick a convolutional ptv: backbone."
                )
        return self.net(x)


def _resolve(name: str) -> Callable[..., Any]:
    """``ptv:<name>`` -> a factory whose signature shows the keyword arguments (the registry checks them)."""
    factory = functools.partial(PtvBackbone, name)
    m = PTV_MODELS[name]
    factory.__doc__ = (
        f"pytorchvideo {name} (Kinetics-400): [B, 3, T, H, W] -> [B, {m.feature_dim}], "
        f"trained on {m.frames}x{m.sampling_rate} clips at {m.size}px"
    )
    return factory


BACKBONES.add_namespace(
    "ptv",
    names=lambda: list(PTV_MODELS),
    resolve=_resolve,
    description="pytorchvideo hub model, classifier head stripped",
)
