"""Every registered audio backbone keeps the audio backbone contract: it states its spectrogram and feature sizes,
keeps them, refuses a wrong shape by name, and loads real weights only from a local path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from registry import ConfigError
from zoo.backbones.audio import AudioBackbone, AudioSpec
from zoo.errors import DataError
from zoo.kinds import AUDIO_BACKBONES

NAMES = AUDIO_BACKBONES.names()
# A small random size per backbone, for the tests that run real numbers.
TINY = {
    "ast": {
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_length": 64,
        "num_mel_bins": 32,
    },
    "onset": {"frames": 40, "mel_bins": 32, "bins": 8, "bands": 2},
}


@pytest.mark.parametrize("name", NAMES)
def test_every_audio_backbone_states_the_sizes_it_outputs(name: str) -> None:
    with torch.device("meta"):  # the default (full) size, shapes only: the meta device computes no values
        b = AUDIO_BACKBONES.build({"type": name})
    assert isinstance(b, AudioBackbone) and isinstance(b.input_spec, AudioSpec)
    with torch.no_grad():
        y = b.eval()(torch.empty(2, *b.input_spec.shape, device="meta"))
    assert tuple(y.shape) == (2, b.feature_dim)


@pytest.mark.parametrize("name", NAMES)
def test_small_audio_backbones_run_refuse_wrong_shapes_and_freeze(name: str) -> None:
    torch.manual_seed(0)
    b = AUDIO_BACKBONES.build({"type": name, **TINY[name]}).eval()
    frames, bins = b.input_spec.shape
    y = b(torch.randn(3, frames, bins))
    assert y.shape == (3, b.feature_dim) and torch.isfinite(y).all()
    with pytest.raises(DataError, match=rf"{b.name} expects .*\[B, {frames}, {bins}\].*x\[None\]"):
        b(torch.randn(frames, bins))
    with pytest.raises(DataError, match=rf"got \[2, {frames}, {bins + 1}\]"):
        b(torch.randn(2, frames, bins + 1))
    frozen = AUDIO_BACKBONES.build({"type": name, "freeze": True, **TINY[name]})
    assert not frozen.train().training and not any(p.requires_grad for p in frozen.parameters())


def test_ast_weights_come_from_a_local_folder_only(tmp_path: Path) -> None:
    torch.manual_seed(0)
    b = AUDIO_BACKBONES.build({"type": "ast", **TINY["ast"]}).eval()
    b.net.save_pretrained(tmp_path / "ast")
    loaded = AUDIO_BACKBONES.build({"type": "ast", "weights": str(tmp_path / "ast")}).eval()
    x = torch.randn(2, *b.input_spec.shape)
    torch.testing.assert_close(loaded(x), b(x))
    assert loaded.input_spec == b.input_spec  # the checkpoint's sizes; AudioSet statistics without a preprocessor
    with pytest.raises(ConfigError, match="hidden_size: 64 given, 32 in the checkpoint"):
        AUDIO_BACKBONES.build({"type": "ast", "weights": str(tmp_path / "ast"), "hidden_size": 64})
    with pytest.raises(ConfigError, match=r"nothing is downloaded at run time"):
        AUDIO_BACKBONES.build({"type": "ast", "weights": str(tmp_path / "missing")})


@pytest.mark.filterwarnings("ignore:At least one mel filter")  # 128 Kaldi bins from 20 Hz: the first is empty
def test_ast_takes_its_normalisation_from_the_checkpoints_feature_extractor(tmp_path: Path) -> None:
    from transformers import ASTFeatureExtractor

    b = AUDIO_BACKBONES.build({"type": "ast", **TINY["ast"]})
    b.net.save_pretrained(tmp_path / "ast")
    ASTFeatureExtractor(num_mel_bins=32, max_length=64, mean=-6.5, std=5.0).save_pretrained(tmp_path / "ast")
    spec = AUDIO_BACKBONES.build({"type": "ast", "weights": str(tmp_path / "ast")}).input_spec
    assert (spec.mean, spec.std) == (-6.5, 10.0)  # AST feeds (x - mean) / (2 std)
    ASTFeatureExtractor(num_mel_bins=128, max_length=64).save_pretrained(tmp_path / "ast")
    with pytest.raises(ConfigError, match="does not fit its model"):
        AUDIO_BACKBONES.build({"type": "ast", "weights": str(tmp_path / "ast")})


def test_a_checkpoint_fits_another_length_by_its_positional_embeddings(tmp_path: Path) -> None:
    """Fewer frames: the time positions cut around their centre (AST's own recipe); more: stretched."""
    torch.manual_seed(0)
    b = AUDIO_BACKBONES.build({"type": "ast", **TINY["ast"]})  # 64 frames, 32 bins: 2 x 5 patches
    b.net.save_pretrained(tmp_path / "ast")
    grid = b.net.embeddings.position_embeddings.detach()[:, 2:].reshape(1, 2, 5, 32)
    short = AUDIO_BACKBONES.build({"type": "ast", "weights": str(tmp_path / "ast"), "max_length": 36})
    assert short.input_spec.frames == 36 and short(torch.randn(2, 36, 32)).shape == (2, 32)
    cut = short.net.embeddings.position_embeddings.detach()
    torch.testing.assert_close(cut[:, 2:].reshape(1, 2, 3, 32), grid[:, :, 1:4])
    torch.testing.assert_close(cut[:, :2], b.net.embeddings.position_embeddings.detach()[:, :2])
    long = AUDIO_BACKBONES.build({"type": "ast", "weights": str(tmp_path / "ast"), "max_length": 96})
    assert long.input_spec.frames == 96 and long(torch.randn(1, 96, 32)).shape == (1, 32)
    with pytest.raises(ConfigError, match="shorter than one patch"):
        AUDIO_BACKBONES.build({"type": "ast", "weights": str(tmp_path / "ast"), "max_length": 8})
