"""Optical-flow clips: RGB clips -> RAFT flow between consecutive frames -> a 2-channel video backbone.

``FlowBackbone`` is what an ``extract.inputs`` entry with ``modality: flow`` runs: it takes the RGB
clip ``[B, 3, T, H, W]`` (normalised to [-1, 1], RAFT's input, at ``flow.size``), estimates the flow
between each pair of consecutive frames with torchvision's RAFT (``raft_small`` or ``raft_large``),
clips it to ``±bound`` pixels and scales it to [-1, 1] (TSN's convention), and passes the flow clip
``[B, 2, T - 1, H, W]`` to a video backbone built with ``in_channels: 2``, one vector per clip.
RAFT's weights are random unless ``flow.weights`` names a local file (nothing is downloaded).

``flow.profile: K`` appends the clip's motion profile: the mean absolute difference of consecutive RGB
frames (TSN's "RGB difference", free beside RAFT) averaged over K equal spans of the clip. A video
backbone pools its clip over time; the profile keeps *when* in the clip the athlete moves and when she
stops, which is what timing against the music needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from registry import ConfigError
from registry.checkpoint import mismatches

from .base import Backbone, InputSpec, read_state_dict

RAFT_MODELS = ("raft_small", "raft_large")
FLOW_DEFAULTS: dict[str, Any] = {
    "model": "raft_small",
    "size": [128, 224],
    "iters": 12,
    "bound": 20.0,
    "weights": None,
    "profile": 0,
}
# RAFT pools its feature maps by 8 (sides must be multiples of it), then 3 more times by 2 in its correlation
# pyramid (feature maps of at least 16: frames of at least 128 px a side).
RAFT_STRIDE = 8
RAFT_MIN_SIDE = 128


@dataclass(frozen=True)
class FlowSettings:
    """``flow:`` of an extract input: the RAFT model, the size frames are scaled to first, RAFT's update
    iterations, the flow magnitude (pixels) that maps to 1, an optional local weights file, and the spans of
    the motion profile appended to the features (0: none)."""

    model: str = "raft_small"
    size: tuple[int, int] = (128, 224)
    iters: int = 12
    bound: float = 20.0
    weights: str | None = None
    profile: int = 0

    @classmethod
    def parse(cls, cfg: Mapping[str, Any] | None, where: str) -> FlowSettings:
        cfg = dict(cfg or {})
        unknown = [k for k in cfg if k not in FLOW_DEFAULTS]
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}. It accepts: {', '.join(FLOW_DEFAULTS)}.")
        out = {**FLOW_DEFAULTS, **cfg}
        if out["model"] not in RAFT_MODELS:
            raise ConfigError(f"{where}.model must be one of {', '.join(RAFT_MODELS)}, got {out['model']!r}")
        size = out["size"]
        if not (
            isinstance(size, list | tuple)
            and len(size) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) and s >= RAFT_MIN_SIDE for s in size)
            and all(s % RAFT_STRIDE == 0 for s in size)
        ):
            raise ConfigError(
                f"{where}.size is [height, width] that frames are scaled to before RAFT, each a multiple of "
                f"{RAFT_STRIDE} and at least {RAFT_MIN_SIDE} (RAFT's correlation pyramid; e.g. [128, 224] for 16:9), "
                f"got {size!r}"
            )
        iters = out["iters"]
        if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
            raise ConfigError(f"{where}.iters (RAFT's update iterations) must be a positive int, got {iters!r}")
        bound = out["bound"]
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not bound > 0:
            raise ConfigError(f"{where}.bound (pixels of flow that map to 1) must be positive, got {bound!r}")
        weights = out["weights"]
        if weights is not None and not isinstance(weights, str):
            raise ConfigError(f"{where}.weights must be the path of a local RAFT state_dict or null, got {weights!r}")
        profile = out["profile"]
        if isinstance(profile, bool) or not isinstance(profile, int) or profile < 0:
            raise ConfigError(
                f"{where}.profile (spans of the motion profile, 0: none) must be an int >= 0, got {profile!r}"
            )
        return cls(out["model"], (int(size[0]), int(size[1])), int(iters), float(bound), weights, profile)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "size": list(self.size),
            "iters": self.iters,
            "bound": self.bound,
            "weights": self.weights,
            # Only when asked: features made before the key existed are what profile 0 makes, and keep their name.
            **({"profile": self.profile} if self.profile else {}),
        }


def build_raft(settings: FlowSettings) -> nn.Module:
    """torchvision's RAFT, random or loaded from ``settings.weights`` (a local file, read with weights_only)."""
    from torchvision.models import optical_flow

    raft = getattr(optical_flow, settings.model)(weights=None, progress=False)
    if settings.weights is not None:
        state = read_state_dict(settings.weights)
        lines = mismatches(raft.state_dict(), state, "the file", f"torchvision's {settings.model}", limit=5)
        if lines:
            head = f"flow.weights {settings.weights!r} does not fit torchvision's {settings.model} (the other RAFT?)"
            raise ConfigError("\n".join([head, *lines]))
        raft.load_state_dict(state)
    return raft


class FlowBackbone(Backbone):
    """RGB clips ``[B, 3, T, H, W]`` in [-1, 1] -> RAFT flow ``[B, 2, T - 1, H, W]`` in [-1, 1] -> ``[B, D]``."""

    def __init__(self, settings: FlowSettings, video: Backbone) -> None:
        spec = video.input_spec
        if spec.kind != "video" or spec.channels != 2:
            raise ConfigError(
                f"a flow input needs a video backbone that takes 2 channels (e.g. ptv:x3d_xs with in_channels: 2); "
                f"{video.name} takes {spec.channels}-channel {spec.kind} input"
            )
        own = InputSpec(
            kind="video",
            frames=spec.frames + 1,  # T frames give T - 1 flow fields
            sampling_rate=spec.sampling_rate,
            size=settings.size,
            mean=(0.5, 0.5, 0.5),  # x / 255 -> [-1, 1], what RAFT was trained on
            std=(0.5, 0.5, 0.5),
            fps=spec.fps,
        )
        super().__init__(f"flow:{settings.model}+{video.name}", video.feature_dim + settings.profile, own)
        self.settings = settings
        self.net = nn.ModuleDict({"raft": build_raft(settings), "video": video})

    def to_channels_last(self) -> FlowBackbone:
        """Each part in its own channels-last order (RAFT is 2-D, the video backbone 3-D)."""
        self.net["raft"].to(memory_format=torch.channels_last)
        self.net["video"].to(memory_format=torch.channels_last_3d)
        return self

    def flow(self, x: Tensor) -> Tensor:
        """RGB clips ``[B, 3, T, H, W]`` in [-1, 1] -> flow clips ``[B, 2, T - 1, H, W]``, scaled to [-1, 1]."""
        self.check_input(x)
        b, _, t, h, w = x.shape
        if t < 2:
            raise ConfigError(f"{self.name}: optical flow needs clips of at least 2 frames, got {t}")
        frames = x.transpose(1, 2)  # [B, T, 3, H, W]
        first = frames[:, :-1].reshape(b * (t - 1), 3, h, w).float()
        second = frames[:, 1:].reshape(b * (t - 1), 3, h, w).float()
        flow = self.net["raft"](first, second, num_flow_updates=self.settings.iters)[-1]  # the last refinement
        flow = flow.clamp(-self.settings.bound, self.settings.bound) / self.settings.bound
        return flow.reshape(b, t - 1, 2, h, w).transpose(1, 2).contiguous()

    def forward(self, x: Tensor) -> Tensor:
        features = self.net["video"](self.flow(x))
        if not self.settings.profile:
            return features
        return torch.cat([features, self.profile(x).to(features.dtype)], dim=1)

    def profile(self, x: Tensor) -> Tensor:
        """RGB clips ``[B, 3, T, H, W]`` -> ``[B, profile]``: the clips' motion profiles."""
        return motion_profile(x, self.settings.profile)


def motion_profile(x: Tensor, spans: int) -> Tensor:
    """Clips ``[B, C, T, H, W]`` -> ``[B, spans]``: mean |frame t - frame t-1| averaged over ``spans`` equal spans."""
    change = (x[:, :, 1:].float() - x[:, :, :-1].float()).abs().mean(dim=(1, 3, 4))  # [B, T - 1]
    if change.shape[1] < spans:
        raise ConfigError(
            f"flow.profile: {spans} spans, but clips of {x.shape[2]} frames have only "
            f"{change.shape[1]} frame differences; at most that many (or longer clips from the sampler)"
        )
    return torch.nn.functional.adaptive_avg_pool1d(change[:, None], spans)[:, 0]
