"""The Audio Spectrogram Transformer (Gong et al., 2021) from ``transformers``, as the audio backbone ``ast``.

``[B, frames, mel_bins]`` log-mel -> ``[B, hidden_size]``: the mean of AST's class and distillation
tokens after the last layer (``ASTModel``'s pooled output; the classifier of a fine-tuned checkpoint is
not used). Random weights in the size the keyword arguments give (default: AST-Base, 1024 frames of
128 mel bins), or real ones from ``weights``: a local folder saved by ``save_pretrained`` (a downloaded
Hugging Face snapshot), or a model id already in the Hugging Face cache; nothing is downloaded
(``local_files_only``). The spectrogram settings and normalisation come from the checkpoint's feature
extractor config when it has one (AudioSet's statistics otherwise, as ``ASTFeatureExtractor``).

``max_length`` with ``weights`` fits the checkpoint to that many frames: its time positional embeddings
are cut around their centre (as AST's authors fine-tune on shorter clips) or stretched. AudioSet
checkpoints take 1024 frames (10.24 s): a 3.2 s clip is otherwise 70 % padding, and AST's cost grows
faster than its length.
"""

from __future__ import annotations

import os
from typing import Any

from torch import Tensor

from registry import ConfigError

from ..kinds import AUDIO_BACKBONES
from .audio import AudioBackbone, AudioSpec

# ASTFeatureExtractor's defaults: AudioSet's log-mel statistics; AST feeds (x - mean) / (2 * std).
AUDIOSET_MEAN = -4.2677393
AUDIOSET_STD = 4.5689974
# AST's front-end: 25 ms Hann windows every 10 ms (Kaldi fbank at 16 kHz: 400 and 160 samples).
WINDOW_MS, HOP_MS = 25.0, 10.0
CONFIG_KEYS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_length",
    "num_mel_bins",
    "patch_size",
    "frequency_stride",
    "time_stride",
)


def _import() -> Any:
    try:
        import transformers
    except ImportError:
        raise ConfigError("audio backbone ast needs the transformers package (pip install transformers)") from None
    return transformers


@AUDIO_BACKBONES.register("ast")
class ASTBackbone(AudioBackbone):
    """Audio Spectrogram Transformer: log-mel ``[B, max_length, num_mel_bins]`` -> ``[B, hidden_size]``."""

    def __init__(
        self,
        weights: str | os.PathLike[str] | None = None,
        freeze: bool = False,
        hidden_size: int | None = None,
        num_hidden_layers: int | None = None,
        num_attention_heads: int | None = None,
        intermediate_size: int | None = None,
        max_length: int | None = None,
        num_mel_bins: int | None = None,
        patch_size: int | None = None,
        frequency_stride: int | None = None,
        time_stride: int | None = None,
    ) -> None:
        """``weights``: a local checkpoint folder or a cached model id; the other keys size a random AST (with
        ``weights`` they must match the checkpoint's, but for ``max_length``: see ``fit_length``)."""
        transformers = _import()
        sizes = {k: v for k, v in locals().items() if k in CONFIG_KEYS and v is not None}
        mean, std = AUDIOSET_MEAN, AUDIOSET_STD
        if weights is None:
            net = transformers.ASTModel(transformers.ASTConfig(**sizes))
        else:
            length = sizes.pop("max_length", None)
            net = _load(transformers, os.fspath(weights), sizes)
            mean, std = _statistics(transformers, os.fspath(weights), net.config)
            if length is not None and length != net.config.max_length:
                fit_length(net, length)
        cfg = net.config
        spec = AudioSpec(
            sample_rate=16000,  # every AST checkpoint: the front-end's window and hop assume it
            mel_bins=int(cfg.num_mel_bins),
            frames=int(cfg.max_length),
            window_ms=WINDOW_MS,
            hop_ms=HOP_MS,
            mean=float(mean),
            std=2.0 * float(std),
        )
        super().__init__("ast" if weights is None else f"ast:{os.fspath(weights)}", cfg.hidden_size, spec)
        self.net = net
        if freeze:
            self.freeze()

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        return self.net(input_values=x).pooler_output


def _load(transformers: Any, weights: str, sizes: dict[str, int]) -> Any:
    try:
        net = transformers.ASTModel.from_pretrained(weights, local_files_only=True)
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"audio backbone ast: weights {weights!r} are neither a local checkpoint folder (config.json and "
            "model.safetensors, as save_pretrained writes) nor a model id in the Hugging Face cache; nothing is "
            f"downloaded at run time (fetch it once with huggingface-cli download). {type(e).__name__}: {e}"
        ) from None
    differing = {k: (v, getattr(net.config, k)) for k, v in sizes.items() if getattr(net.config, k) != v}
    if differing:
        listed = ", ".join(f"{k}: {a} given, {b} in the checkpoint" for k, (a, b) in differing.items())
        raise ConfigError(f"audio backbone ast: the checkpoint {weights!r} has other sizes than asked ({listed})")
    return net


def fit_length(net: Any, frames: int) -> None:
    """Make a loaded AST take ``frames`` spectrogram frames: its time positional embeddings cut around their
    centre (fewer frames) or stretched linearly (more); the class and distillation tokens' stay."""
    import copy

    import torch
    from torch import nn

    emb = net.embeddings
    f_dim, t_dim = emb.get_shape(net.config)
    wanted = copy.copy(net.config)
    wanted.max_length = frames
    _, new_t = emb.get_shape(wanted)
    if new_t < 1:
        raise ConfigError(
            f"audio backbone ast: max_length {frames} is shorter than one patch ({net.config.patch_size})"
        )
    pos = emb.position_embeddings.detach()
    tokens, grid = pos[:, :2], pos[:, 2:].reshape(1, f_dim, t_dim, -1)
    if new_t <= t_dim:
        start = t_dim // 2 - new_t // 2
        grid = grid[:, :, start : start + new_t]
    else:
        grid = torch.nn.functional.interpolate(
            grid.permute(0, 3, 1, 2), size=(f_dim, new_t), mode="bilinear", align_corners=False
        ).permute(0, 2, 3, 1)
    emb.position_embeddings = nn.Parameter(torch.cat([tokens, grid.reshape(1, f_dim * new_t, -1)], dim=1))
    net.config.max_length = frames


def _statistics(transformers: Any, weights: str, config: Any) -> tuple[float, float]:
    """The checkpoint's feature extractor's mean and std (AudioSet's when it has no preprocessor config)."""
    try:
        fe = transformers.ASTFeatureExtractor.from_pretrained(weights, local_files_only=True)
    except (OSError, ValueError):
        return AUDIOSET_MEAN, AUDIOSET_STD
    if fe.num_mel_bins != config.num_mel_bins or fe.max_length != config.max_length or fe.sampling_rate != 16000:
        raise ConfigError(
            f"audio backbone ast: {weights!r} has a feature extractor config ({fe.num_mel_bins} mel bins, "
            f"{fe.max_length} frames, {fe.sampling_rate} Hz) that does not fit its model ({config.num_mel_bins} "
            f"mel bins, {config.max_length} frames, 16000 Hz)"
        )
    return float(fe.mean), float(fe.std)
