"""Flow inputs of the extractor: RAFT flow between consecutive frames of each clip -> a 2-channel video backbone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from registry import ConfigError
from tests.data.av_videos import write_av
from tests.data.conftest import sharded_like_full_run, workers_like_full_run
from zoo.backbones.flow import FlowBackbone, FlowSettings
from zoo.backbones.video import adapt_stem_weight
from zoo.data.extract import Extractor, extract_features, read_manifest, resolve_config
from zoo.errors import DataError
from zoo.kinds import BACKBONES

CLIPS = {"type": "clips", "length": 4, "fps": 5.0}
FLOW = {"size": [128, 128], "iters": 2}  # RAFT's smallest frames; two refinements: a fast test, same code path
RGB = {"sampler": CLIPS, "backbone": {"type": "ptv:x3d_xs"}, "size": [32, 32]}
MOTION = {"modality": "flow", "sampler": CLIPS, "flow": FLOW, "backbone": {"type": "ptv:x3d_xs"}}
CFG: dict[str, Any] = {"seed": 0, "batch_size": 2, "workers": 0, "inputs": {"rgb": RGB, "motion": MOTION}}
SECONDS = {"a": 2.0, "b": 2.5}


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/data/conftest.py


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("flow_videos")
    for name, seconds in SECONDS.items():
        write_av(folder / f"{name}.mp4", seconds, sound=None)  # flow needs no sound
    return folder


@pytest.fixture(scope="module")
def full_run(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("flow_features")
    return out, extract_features(CFG, videos, out, progress=False)


def test_one_row_per_clip_aligned_with_the_rgb_input(full_run: tuple[Path, Any]) -> None:
    out, report = full_run
    assert report.ok and report.done == ["a", "b"]
    manifest = read_manifest(out)
    for name, seconds in SECONDS.items():
        rgb, motion = np.load(out / "rgb" / f"{name}.npy"), np.load(out / "motion" / f"{name}.npy")
        assert rgb.shape == (int(seconds * 5) // 4, 2048) and motion.shape == rgb.shape
        assert np.isfinite(motion).all()
        assert manifest["videos"][name]["instances"] == {"rgb": len(rgb), "motion": len(rgb)}
    described = manifest["inputs"]["motion"]
    assert described["instance_seconds"] == manifest["inputs"]["rgb"]["instance_seconds"]
    assert described["modality"] == "flow" and described["flow"]["model"] == "raft_small"
    assert described["backbone"] == "flow:raft_small+ptv:x3d_xs"
    assert described["input_spec"]["size"] == [128, 128] and described["input_spec"]["mean"] == [0.5] * 3
    made = manifest["made_by"]["motion"]["input"]
    assert made["modality"] == "flow" and made["flow"] == {**FlowSettings().to_dict(), **FLOW}
    assert not list(out.rglob("*.tmp"))


def test_flow_clips_have_two_channels_one_frame_fewer() -> None:
    torch.manual_seed(0)
    video = BACKBONES.build({"type": "ptv:x3d_xs", "in_channels": 2})
    b = FlowBackbone(FlowSettings.parse(FLOW, "flow"), video).eval()
    x = torch.rand(2, 3, 4, 128, 128) * 2 - 1
    with torch.no_grad():
        flow = b.flow(x)
        assert flow.shape == (2, 2, 3, 128, 128) and flow.abs().max() <= 1
        assert b(x).shape == (2, 2048)
        same = b.flow(x[:, :, [0, 0]])  # a still picture: RAFT's random weights still give some flow, but finite
        assert torch.isfinite(same).all()
    with pytest.raises(ConfigError, match="at least 2 frames"):
        b.flow(x[:, :, :1])
    with pytest.raises(ConfigError, match="takes 3-channel video"):
        FlowBackbone(FlowSettings(), BACKBONES.build({"type": "ptv:x3d_xs"}))


def test_the_motion_profile_says_when_in_the_clip_the_frames_change() -> None:
    torch.manual_seed(0)
    video = BACKBONES.build({"type": "ptv:x3d_xs", "in_channels": 2})
    b = FlowBackbone(FlowSettings.parse({**FLOW, "profile": 3}, "flow"), video).eval()
    assert b.feature_dim == 2048 + 3 and b.settings.to_dict()["profile"] == 3
    x = torch.zeros(2, 3, 4, 128, 128)
    x[0, :, 2:] = 0.5  # video 0 changes between frames 1 and 2, then holds; video 1 never moves
    x[1] += 0.25
    with torch.no_grad():
        out = b(x)
        torch.testing.assert_close(out[:, :2048], b.net["video"](b.flow(x)))  # the video features, unchanged
    assert out.shape == (2, 2048 + 3)
    torch.testing.assert_close(out[:, 2048:], torch.tensor([[0.0, 0.5, 0.0], [0.0, 0.0, 0.0]]))
    assert "profile" not in FlowSettings.parse(FLOW, "flow").to_dict()  # features made before the key keep their name
    with pytest.raises(ConfigError, match=r"flow.profile: 3 spans, but clips of 3 frames have only 2 frame differ"):
        b(x[:, :, :3])
    with pytest.raises(ConfigError, match=r"flow.profile .* must be an int >= 0, got -1"):
        FlowSettings.parse({"profile": -1}, "flow")


def test_a_two_channel_video_backbone_and_rgb_weights_for_it(tmp_path: Path) -> None:
    torch.manual_seed(0)
    rgb = BACKBONES.build({"type": "ptv:x3d_xs"})
    torch.save(rgb.state_dict(), tmp_path / "x3d_rgb.pt")
    two = BACKBONES.build({"type": "ptv:x3d_xs", "in_channels": 2, "weights": str(tmp_path / "x3d_rgb.pt")})
    assert two.input_spec.channels == 2 and two.input_spec.shape == (2, 4, 160, 160)
    assert two.input_spec.to_dict()["channels"] == 2 and "channels" not in rgb.input_spec.to_dict()
    (stem,) = two.stem_keys
    kernel = two.net.state_dict()[stem]
    assert kernel.shape[1] == 2
    torch.testing.assert_close(kernel, adapt_stem_weight(rgb.net.state_dict()[stem], 2))
    with pytest.raises(DataError, match=r"expects frames \[B, 2, T, H, W\]"):
        two(torch.randn(1, 3, 4, 32, 32))
    slowfast = BACKBONES.build({"type": "ptv:slowfast_r50", "in_channels": 2})
    assert len(slowfast.stem_keys) == 2  # one stem per pathway


def test_raft_weights_come_from_a_local_file(tmp_path: Path) -> None:
    from torchvision.models.optical_flow import raft_large, raft_small

    torch.manual_seed(1)
    torch.save(raft_small().state_dict(), tmp_path / "raft_small.pth")
    settings = FlowSettings.parse({**FLOW, "weights": str(tmp_path / "raft_small.pth")}, "flow")
    b = FlowBackbone(settings, BACKBONES.build({"type": "ptv:x3d_xs", "in_channels": 2}))
    want = torch.load(tmp_path / "raft_small.pth", weights_only=True)
    for key, value in b.net["raft"].state_dict().items():
        torch.testing.assert_close(value, want[key])
    torch.save(raft_large().state_dict(), tmp_path / "raft_large.pth")
    with pytest.raises(ConfigError, match="does not fit torchvision's raft_small"):
        FlowBackbone(FlowSettings(weights=str(tmp_path / "raft_large.pth")), b.net["video"])


def test_two_ranks_share_the_videos_and_together_make_the_full_run(
    videos: Path, full_run: tuple[Path, Any], tmp_path: Path
) -> None:
    sharded_like_full_run(CFG, videos, full_run[0], list(SECONDS), tmp_path / "sharded")


def test_worker_processes_give_the_same_features(videos: Path, full_run: tuple[Path, Any]) -> None:
    """Decoding and clip sampling run in worker processes; flow and the backbone here: the same features."""
    workers_like_full_run(CFG, videos, full_run[0], list(SECONDS))


def test_resume_skips_finished_videos(videos: Path, full_run: tuple[Path, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert extract_features(CFG, [videos / "a.mp4"], out, progress=False).done == ["a"]
    again = extract_features(CFG, videos, out, progress=False)
    assert again.skipped == ["a"] and again.done == ["b"]
    for name in SECONDS:
        np.testing.assert_allclose(
            np.load(out / "motion" / f"{name}.npy"), np.load(full_run[0] / "motion" / f"{name}.npy"), atol=1e-5
        )


def test_the_section_checks_flow_inputs() -> None:
    def bad(entry: dict[str, Any], match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            resolve_config({"inputs": {"motion": entry}})

    bad({**MOTION, "flow": {"size": [120, 128]}}, r"extract.inputs.motion.flow.size .* multiple of 8 and at least 128")
    bad({**MOTION, "flow": {"size": [64, 64]}}, "at least 128")
    bad({**MOTION, "flow": {"model": "pwc"}}, "model must be one of raft_small, raft_large")
    bad({**MOTION, "flow": {"iter": 3}}, r"unknown key\(s\) \['iter'\]")
    bad({**MOTION, "size": [64, 64]}, "a flow input takes no size")
    bad({**RGB, "flow": FLOW}, "flow settings belong to an input with modality: flow")
    resolved = resolve_config({"inputs": {"motion": {**MOTION, "flow": None}}})["inputs"]["motion"]
    assert resolved["flow"] == FlowSettings().to_dict() and resolved["audio"] is None
    with pytest.raises(ConfigError, match="extract.inputs.motion: a flow input needs a video backbone"):
        Extractor({"inputs": {"motion": {**MOTION, "backbone": {"type": "ptv:x3d_xs", "in_channels": 3}}}})
