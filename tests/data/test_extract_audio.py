"""Audio inputs of the extractor: log-mel of the seconds each clip covers, through a tiny random AST."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from registry import ConfigError
from tests.data.av_videos import tone, write_av
from tests.data.conftest import sharded_like_full_run, workers_like_full_run
from tests.data.test_extract import CFG as EXTRACT_CFG
from zoo.backbones.audio import AudioSpec
from zoo.data.audio import read_audio
from zoo.data.extract import ExtractError, Extractor, extract_features, read_manifest, resolve_config
from zoo.data.extract.config import section_digest
from zoo.data.extract.prepare import Batch, prepare_video
from zoo.data.logmel import LogMel

CLIPS = {"type": "clips", "length": 4, "fps": 5.0}  # 0.8 s clips
TINY_AST = {
    "type": "ast",
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_length": 96,  # 0.96 s of 10 ms frames: a 0.8 s clip and its padding
    "num_mel_bins": 32,
}
RGB = {"sampler": CLIPS, "backbone": {"type": "ptv:x3d_xs"}, "size": [32, 32]}
SOUND = {"modality": "audio", "sampler": CLIPS, "audio": {"track": 0}, "backbone": TINY_AST}
CFG: dict[str, Any] = {"seed": 0, "batch_size": 2, "workers": 0, "inputs": {"rgb": RGB, "sound": SOUND}}
SECONDS = {"a": 2.0, "b": 3.3}


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/data/conftest.py


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("av_videos")
    for name, seconds in SECONDS.items():
        write_av(folder / f"{name}.mp4", seconds)
    return folder


@pytest.fixture(scope="module")
def full_run(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("av_features")
    return out, extract_features(CFG, videos, out, progress=False)


def test_the_front_end_is_asts_own(videos: Path) -> None:
    """The torch log-mel equals transformers' ASTFeatureExtractor (Kaldi fbank settings) on the same samples."""
    from transformers import ASTFeatureExtractor

    wave = read_audio(videos / "a.mp4", 16000).samples
    assert wave.shape == (pytest.approx(32000, abs=1024),) and 0.4 < np.abs(wave).max() < 0.6  # mono: the mean
    spec = AudioSpec(mel_bins=64, frames=300, mean=-4.2677393, std=2 * 4.5689974)
    logmel = LogMel(spec)
    ours = logmel.normalize(logmel(torch.from_numpy(wave[:24000])))
    assert ours.shape == (1, 300, 64)
    theirs = ASTFeatureExtractor(num_mel_bins=64, max_length=300)(wave[:24000], sampling_rate=16000)
    np.testing.assert_allclose(ours[0].numpy(), theirs["input_values"][0], atol=2e-4)


def test_the_front_end_pads_and_cuts_to_the_backbones_frames() -> None:
    logmel = LogMel(AudioSpec(mel_bins=32, frames=96))
    assert logmel.window == 400 and logmel.hop == 160 and logmel.n_fft == 512
    for seconds in (0.01, 0.8, 2.0):  # less than a window, a clip, more than the backbone takes
        out = logmel(torch.zeros(2, round(seconds * 16000)))
        assert out.shape == (2, 96, 32)
    clip = logmel(torch.ones(round(0.8 * 16000)))  # 0.8 s: 78 frames, then zeros
    assert (clip[0, 78:] == 0).all() and (clip[0, :78] != 0).all()


def test_one_row_per_clip_aligned_with_the_rgb_input(full_run: tuple[Path, Any]) -> None:
    out, report = full_run
    assert report.ok and report.done == ["a", "b"]
    manifest = read_manifest(out)
    for name, seconds in SECONDS.items():
        rgb, sound = np.load(out / "rgb" / f"{name}.npy"), np.load(out / "sound" / f"{name}.npy")
        assert rgb.shape == (int(seconds * 5) // 4, 2048) and sound.shape == (len(rgb), 32)
        assert sound.dtype == np.float32 and np.isfinite(sound).all()
        record = manifest["videos"][name]
        assert record["instances"] == {"rgb": len(rgb), "sound": len(rgb)}
        track = record["source"]["audio"]["0"]
        assert (track["channels"], track["sample_rate"]) == (2, 44100) and track["duration"] >= seconds
    inputs = manifest["inputs"]
    assert inputs["sound"]["instance_seconds"] == inputs["rgb"]["instance_seconds"] == 0.8
    assert inputs["sound"]["modality"] == "audio" and inputs["sound"]["input_spec"]["frames"] == 96
    assert "modality" not in inputs["rgb"]
    assert manifest["made_by"]["sound"]["input"]["modality"] == "audio"
    assert manifest["made_by"]["sound"]["input"]["audio"] == {"track": 0}
    assert not list(out.rglob("*.tmp"))


def test_each_instance_covers_its_clips_seconds(tmp_path: Path) -> None:
    """A tone only during clip 1 (0.8-1.6 s): its spectrogram holds the sound, clips 0 and 2 are quiet."""
    video = write_av(tmp_path / "beep.mp4", 2.4, sound=lambda s, r: tone(s, r, start=0.8, stop=1.6))
    extractor = Extractor({**CFG, "inputs": {"sound": SOUND}})
    plans = [inp.plan for inp in extractor.inputs.values()]
    batches = [m for m in prepare_video(0, video, plans, extractor.decoder, 8) if isinstance(m, Batch)]
    (mel,) = [b.frames for b in batches]
    assert mel.shape == (3, 96, 32)
    loud = mel[:, :78].exp().mean(dim=(1, 2))  # the 78 frames of 0.8 s; the rest is padding
    assert loud[1] > 100 * loud[0] and loud[1] > 100 * loud[2]


def test_two_ranks_share_the_videos_and_together_make_the_full_run(
    videos: Path, full_run: tuple[Path, Any], tmp_path: Path
) -> None:
    sharded_like_full_run(CFG, videos, full_run[0], list(SECONDS), tmp_path / "sharded")


def test_resume_skips_finished_videos(videos: Path, full_run: tuple[Path, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = extract_features(CFG, [videos / "a.mp4"], out, progress=False)
    assert first.done == ["a"]
    again = extract_features(CFG, videos, out, progress=False)
    assert again.skipped == ["a"] and again.done == ["b"]
    for name in SECONDS:  # the same seed: the same random AST, the same features as one run of both
        np.testing.assert_allclose(
            np.load(out / "sound" / f"{name}.npy"), np.load(full_run[0] / "sound" / f"{name}.npy"), atol=1e-6
        )


def test_worker_processes_give_the_same_features(videos: Path, full_run: tuple[Path, Any]) -> None:
    """Audio decoding and the log-mel front-end run in worker processes as they do here."""
    workers_like_full_run(CFG, videos, full_run[0], list(SECONDS))


def test_a_video_without_audio_is_refused_by_name(videos: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_av(folder / "mute.mp4", 2.0, sound=None)
    (folder / "a.mp4").write_bytes((videos / "a.mp4").read_bytes())
    out = tmp_path / "out"
    report = extract_features(CFG, folder, out, progress=False)
    assert report.done == ["a"] and list(report.failed) == ["mute"]
    reason = report.failed["mute"]
    assert "mute.mp4" in reason and "no audio stream" in reason and "'sound'" in reason
    assert not (out / "sound" / "mute.npy").exists() and not (out / "rgb" / "mute.npy").exists()
    with pytest.raises(ExtractError, match=r"mute\.mp4.*no audio stream.*'sound'"):
        Extractor({**CFG, "inputs": {"sound": SOUND}}).video(folder / "mute.mp4")
    # The same video is fine for an input that needs no sound.
    assert Extractor({**CFG, "inputs": {"rgb": RGB}}).video(folder / "mute.mp4")["rgb"].shape == (2, 2048)


def test_a_track_far_shorter_than_the_video_is_refused(tmp_path: Path) -> None:
    video = write_av(tmp_path / "short_sound.mp4", 2.0, sound=lambda s, r: tone(0.5, r))
    with pytest.raises(ExtractError, match=r"short_sound\.mp4: its audio track 0 covers .* silence made up"):
        Extractor({**CFG, "inputs": {"sound": SOUND}}).video(video)


def test_the_section_checks_audio_inputs() -> None:
    def bad(entry: dict[str, Any], match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            resolve_config({"inputs": {"sound": entry}})

    bad({**SOUND, "audio": {"trak": 1}}, r"extract.inputs.sound.audio: unknown key\(s\) \['trak'\].*track")
    bad({**SOUND, "audio": {"track": -1}}, "track")
    bad({**SOUND, "modality": "sound"}, "modality must be one of rgb, audio, flow")
    bad({**SOUND, "cropper": {"type": "motion"}}, "an audio input takes no cropper")
    bad({**RGB, "audio": {"track": 0}}, "audio settings belong to an input with modality: audio")
    with pytest.raises(ConfigError, match="needs a clips sampler"):
        Extractor({"inputs": {"sound": {**SOUND, "sampler": {"type": "frames", "fps": 1.0}}}})
    with pytest.raises(ConfigError, match="extract.inputs.sound.backbone"):
        Extractor({"inputs": {"sound": {**SOUND, "backbone": {"type": "ptv:x3d_xs"}}}})
    resolved = resolve_config({"inputs": {"sound": {k: v for k, v in SOUND.items() if k != "audio"}}})
    assert resolved["inputs"]["sound"]["audio"] == {"track": 0}


def test_rgb_inputs_resolve_as_before() -> None:
    """An RGB input gains no keys, so sections (and the digests that name feature folders) are unchanged."""
    resolved = resolve_config({"inputs": {"rgb": RGB}})
    assert list(resolved["inputs"]["rgb"]) == ["sampler", "backbone", "cropper", "size"]
    assert resolve_config({"inputs": {"rgb": {**RGB, "modality": "rgb"}}}) == resolved
    # The digests of these sections as the extractor made them before audio and flow inputs existed.
    assert section_digest(resolved) == "09d0e331e1ec32a2"
    assert section_digest(resolve_config(EXTRACT_CFG)) == "16a56164d1ed0200"
