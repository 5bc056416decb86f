"""The synthetic set's opt-in soundtrack: an AAC stream as long as the video, beats where the generator says,
the rhythm term of the score as documented, serial == parallel, and sets without it exactly as before."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from aqa_tools.make_synthetic import main as make_synthetic_tool
from registry import ConfigError
from zoo.data.synthetic import (
    PHASES,
    Soundtrack,
    SyntheticConfig,
    judge,
    make_synthetic,
    render_key,
    sample_routine,
    video_name,
)
from zoo.data.synthetic.soundtrack import SOUNDTRACK_VERSION, as_soundtrack
from zoo.data.video import VideoReader
from zoo.kinds import DATASETS

SMALL = {"videos": 3, "size": 64, "fps": 10.0, "duration": 6.0, "test_fraction": 0.25, "soundtrack": True}
RATE = Soundtrack().sample_rate


@pytest.fixture(scope="module")
def sound_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synthetic(tmp_path_factory.mktemp("synthetic_audio") / "set", workers=1, **SMALL)


def decode_audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])


def decode_video(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def onsets(samples: np.ndarray, rate: int) -> np.ndarray:
    """Times (s) where the energy of the last 10 ms rises through a third of its peak: the kicks.

    A rise within 0.2 s of the one before is the same kick (its 50-150 Hz sine makes the energy ripple).
    """
    window = rate // 100
    power = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    energy = (power[window:] - power[:-window]) / window  # energy[k]: samples k .. k + window
    loud = energy > energy.max() / 3.0
    rises = (np.flatnonzero(loud[1:] & ~loud[:-1]) + 1 + window) / rate  # when the window's end crossed
    kept: list[float] = []
    for t in rises:
        if not kept or t - kept[-1] > 0.2:
            kept.append(float(t))
    return np.asarray(kept)


def test_every_video_has_a_mono_aac_stream_as_long_as_the_video(sound_set: Path) -> None:
    duration = SMALL["duration"]
    for i in range(SMALL["videos"]):
        path = sound_set / "videos" / f"{video_name(i)}.mp4"
        with av.open(str(path)) as container:
            (audio,) = container.streams.audio
            video = container.streams.video[0]
            assert audio.codec_context.name == "aac"
            assert audio.sample_rate == RATE and audio.codec_context.layout.name == "mono"
            assert float(audio.duration * audio.time_base) == pytest.approx(duration, abs=1e-6)
            assert float(video.duration * video.time_base) == pytest.approx(duration, abs=1e-6)
        samples = decode_audio(path)
        # The decoder trims the encoder's priming samples; the last AAC frame (1024 samples) may be padded.
        assert round(duration * RATE) <= len(samples) < round(duration * RATE) + 1024
        assert 0.3 < np.abs(samples).max() <= 1.0
    # The zoo's own reader sees the video as before (it decodes the video stream only).
    with VideoReader(sound_set / "videos" / f"{video_name(0)}.mp4") as reader:
        assert reader.fps == SMALL["fps"]
        assert len(list(reader.iter_frames(fps=SMALL["fps"]))) == round(duration * SMALL["fps"])


def test_the_beats_are_heard_where_the_generator_says(sound_set: Path) -> None:
    latents = json.loads((sound_set / "latents.json").read_text())
    for i in range(SMALL["videos"]):
        name = video_name(i)
        beats = np.asarray(latents[name]["rhythm"]["beats"])
        heard = onsets(decode_audio(sound_set / "videos" / f"{name}.mp4"), RATE)
        assert len(beats) >= 6  # at least 90 bpm over 6 s
        # Every onset heard is a recorded beat, and every beat is heard, within 10 ms (the kick reaches a third
        # of its energy a few ms into its 2 ms attack); a kick in the last 20 ms of the track may be cut short.
        to_beat = np.abs(heard[:, None] - beats[None, :])
        assert (to_beat.min(axis=1) <= 0.010).all(), f"{name}: onsets {heard} are not all beats {beats}"
        kept = beats < SMALL["duration"] - 0.02
        assert (to_beat.min(axis=0)[kept] <= 0.010).all(), f"{name}: beats {beats} are not all heard {heard}"
        assert len(heard) <= len(beats)
        period = 60.0 / latents[name]["rhythm"]["bpm"]
        np.testing.assert_allclose(np.diff(beats), period, rtol=1e-9)


def test_the_rhythm_term_is_the_documented_function_of_the_pose_onsets(sound_set: Path) -> None:
    latents = json.loads((sound_set / "latents.json").read_text())
    rows = {}
    for split in ("train", "test"):
        for line in (sound_set / "annotations" / f"{split}.txt").read_text().splitlines()[1:]:
            rows[line.split("\t")[0]] = [float(v) for v in line.split("\t")[1:5]]
    model, weight = SyntheticConfig().score, Soundtrack().rhythm_weight
    for name, lat in latents.items():
        rhythm = lat["rhythm"]
        # An onset is the element's first hold frame; its offset is in beats from the nearest beat.
        starts = [el["frames"][1] for el in lat["elements"] if el["frames"][2] > el["frames"][1]]
        assert rhythm["onsets"] == pytest.approx([h / SMALL["fps"] for h in starts], abs=1e-12)
        beats = [(t - rhythm["first_beat"]) * rhythm["bpm"] / 60.0 for t in rhythm["onsets"]]
        offsets = [b - round(b) for b in beats]
        assert rhythm["offsets"] == pytest.approx(offsets, abs=1e-9)
        expected = 1.0 - 2.0 * float(np.mean(np.abs(offsets))) if offsets else 1.0
        assert rhythm["rhythm"] == pytest.approx(expected, abs=1e-12)
        penalty = model.penalty_per_exit * lat["exits"] + weight * (1.0 - expected)
        assert lat["penalty"] == pytest.approx(penalty, abs=1e-12)
        d, e, total, p = rows[name]
        assert p == pytest.approx(round(penalty, 2), abs=1e-9)
        assert total == pytest.approx(d + e - p, abs=1e-9)


def test_on_beat_routines_lose_less_to_the_rhythm_term() -> None:
    # The formula itself: the same latents score higher the better the poses keep the beat.
    scores = [judge([0.5, 0.3], 0.5, 0.5, 1, 0.0, rhythm=r, rhythm_weight=3.0) for r in (1.0, 0.7, 0.2)]
    assert [s.cents[2] for s in scores] == sorted((s.cents[2] for s in scores), reverse=True)
    assert scores[0].rhythm_deduction == 0.0 and scores[2].rhythm_deduction == pytest.approx(2.4)
    assert scores[2].cents[3] - scores[0].cents[3] == 240  # the deduction is in P, D and E unchanged
    assert scores[2].cents[:2] == scores[0].cents[:2]
    # Drawn routines: poses hit (1 - q_beat) / 2 of a beat off, so on-beat athletes lose little.
    soundtrack = Soundtrack()
    routines = [sample_routine(i, seed=0, duration=12.0, soundtrack=soundtrack) for i in range(60)]
    routines = [r for r in routines if r.rhythm is not None and r.rhythm.onsets]
    q = np.array([r.rhythm.q_beat for r in routines])
    deduction = np.array([r.score.rhythm_deduction for r in routines])
    assert np.corrcoef(q, deduction)[0, 1] < -0.9
    on_beat = [r for r in routines if r.rhythm.q_beat > 0.85]
    off_beat = [r for r in routines if r.rhythm.q_beat < 0.3]
    assert on_beat and off_beat
    assert max(r.score.rhythm_deduction for r in on_beat) < min(r.score.rhythm_deduction for r in off_beat)
    # Onsets lie on frames, off the drawn offset by at most half a frame.
    for r in routines:
        half_frame = 0.5 / r.fps * r.rhythm.beat.bpm / 60.0 + 1e-6
        for el, onset, drawn, off in zip(r.elements, r.rhythm.onsets, r.rhythm.drawn, r.rhythm.offsets):
            assert r.phase[el.frames[1]] == 3 and r.phase[el.frames[1] - 1] != 3  # the first hold frame
            assert onset == el.frames[1] / r.fps
            assert abs(off - drawn) <= half_frame or abs(abs(off - drawn) - 1.0) <= half_frame


def test_the_soundtrack_changes_timing_and_stills_the_holds_and_leaves_the_other_latents() -> None:
    for i in range(5):
        plain, sound = sample_routine(i, duration=20.0), sample_routine(i, duration=20.0, soundtrack=Soundtrack())
        assert (sound.q_dyn, sound.q_sta, sound.exits) == (plain.q_dyn, plain.q_sta, plain.exits)
        assert [el.name for el in sound.elements] == [el.name for el in plain.elements]
        assert sound.score.cents[:2] == plain.score.cents[:2] and sound.score.noise == plain.score.noise
        assert plain.rhythm is None and "rhythm" not in plain.latents()


def test_with_music_a_held_pose_is_held_still_so_its_onset_is_seen() -> None:
    """Unsteadiness shifts an unsteady figure in every frame of a set without music, holds included; with music
    it stops while a pose is held, so the frame a pose is hit on is where the figure stops, for every athlete."""
    hold = PHASES.index("hold")
    unsteady = [i for i in range(40) if sample_routine(i, duration=12.0).q_dyn < 0.3][:3]
    assert unsteady
    for i in unsteady:
        plain, sound = sample_routine(i, duration=12.0), sample_routine(i, duration=12.0, soundtrack=Soundtrack())
        moved = {}
        for name, r in (("plain", plain), ("sound", sound)):
            held = np.flatnonzero(r.phase == hold)
            pairs = held[np.isin(held + 1, held)]  # consecutive frames of one hold
            moved[name] = np.abs(r.position[pairs + 1] - r.position[pairs]).max()
        assert moved["sound"] == 0.0 and moved["plain"] > 0.01, (i, moved)


def test_a_set_without_a_soundtrack_keeps_its_folder_scores_and_silence(tmp_path: Path) -> None:
    # The demo's render folder and a small set's, and three scores, pinned before the soundtrack existed; the
    # folders re-pinned at format 3 (x264's canonical algorithms, other bytes), which they name.
    assert render_key() == "ea62f8a939" == render_key(soundtrack=None) == render_key(soundtrack=False)
    assert render_key(videos=10, duration=3.0, width=64, height=64) == "3ce397ea30"
    assert [sample_routine(i).score.cents for i in range(3)] == [
        (520, 459, 949, 30),
        (480, 621, 1101, 0),
        (420, 229, 649, 0),
    ]
    # The soundtrack's settings and version are part of the folder name.
    with_music = render_key(soundtrack=True)
    assert len({render_key(), with_music, render_key(soundtrack={"bpm": [100, 120]})}) == 3
    out = make_synthetic(tmp_path / "set", videos=1, size=64, duration=2.0, workers=1)
    params = json.loads((out / "params.json").read_text())
    assert "soundtrack" not in params
    assert "rhythm" not in json.loads((out / "latents.json").read_text())["Synth_001"]
    with av.open(str(out / "videos" / "Synth_001.mp4")) as container:
        assert not container.streams.audio
    # A cached set without music is never taken for one with music.
    with pytest.raises(ConfigError, match=r'soundtrack: null there, \{"sample_rate": 16000'):
        make_synthetic(tmp_path / "set", videos=1, size=64, duration=2.0, workers=1, soundtrack=True)


def test_soundtrack_settings_are_checked_and_named() -> None:
    assert as_soundtrack(None) is None and as_soundtrack(False) is None
    assert as_soundtrack(True) == Soundtrack() == as_soundtrack({})
    assert as_soundtrack({"bpm": [100, 120]}).bpm == (100.0, 120.0)
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['tempo'\]"):
        as_soundtrack({"tempo": 120})
    with pytest.raises(ConfigError, match="bpm must be"):
        Soundtrack(bpm=(150.0, 400.0))
    with pytest.raises(ConfigError, match=r"bpm must be \[low, high\].*got \[120.0\]"):
        as_soundtrack({"bpm": [120]})
    with pytest.raises(ConfigError, match="true, false or a mapping"):
        as_soundtrack("yes")
    assert SOUNDTRACK_VERSION >= 1


def test_the_dataset_key_and_the_tool_flag_ask_for_the_soundtrack(tmp_path: Path) -> None:
    def folder(**kw: object) -> str:
        return DATASETS.build({"type": "synthetic", "root": str(tmp_path), **kw}).render_dir().name

    assert folder() == folder(soundtrack=False) == render_key()
    assert folder(soundtrack=True) == folder(soundtrack={}) == render_key(soundtrack=True)
    assert folder(soundtrack={"bpm": [100, 120]}) == render_key(soundtrack={"bpm": [100.0, 120.0]})
    with pytest.raises(ConfigError, match="data.soundtrack must be true or false or a mapping"):
        folder(soundtrack="yes")
    argv = ["--out", str(tmp_path / "set"), "--videos", "1", "--size", "64", "--duration", "2", "--workers", "1"]
    assert make_synthetic_tool([*argv, "--soundtrack", "--no-progress"]) == 0
    with av.open(str(tmp_path / "set" / "videos" / "Synth_001.mp4")) as container:
        assert container.streams.audio[0].codec_context.name == "aac"


@pytest.mark.slow  # seconds of other processes and of rendering: skip with -m 'not slow'
def test_same_seed_same_music_serial_equals_parallel_other_seed_differs(sound_set: Path, tmp_path: Path) -> None:
    parallel = make_synthetic(tmp_path / "parallel", workers=2, **SMALL)
    other = make_synthetic(tmp_path / "other", workers=1, **{**SMALL, "videos": 1, "seed": 1})
    assert (sound_set / "latents.json").read_bytes() == (parallel / "latents.json").read_bytes()
    for split in ("train", "test"):
        a, b = (p / "annotations" / f"{split}.txt" for p in (sound_set, parallel))
        assert a.read_bytes() == b.read_bytes()
    for i in range(SMALL["videos"]):
        name = f"{video_name(i)}.mp4"
        a, b = decode_audio(sound_set / "videos" / name), decode_audio(parallel / "videos" / name)
        assert a.shape == b.shape and np.array_equal(a, b), f"{name}: the decoded music differs"
        assert np.array_equal(decode_video(sound_set / "videos" / name), decode_video(parallel / "videos" / name))
    first = f"{video_name(0)}.mp4"
    a, b = decode_audio(sound_set / "videos" / first), decode_audio(other / "videos" / first)
    assert a.shape != b.shape or not np.array_equal(a, b)
