"""The synthetic rhythmic-gymnastics set: determinism, RG-format annotations, real MP4s, the score formula,
visible figure and faults, non-square frames, caching, refusing another set, atomic writes, progress."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from registry import ConfigError
from zoo.data.synthetic import (
    ELEMENTS,
    SyntheticConfig,
    background,
    encode_mp4,
    figure_boxes,
    judge,
    make_synthetic,
    render_frame,
    render_frames,
    render_key,
    sample_routine,
    video_name,
)
from zoo.data.synthetic import writer as synthetic_writer
from zoo.data.synthetic.figure import NEUTRAL

SMALL = {"videos": 3, "size": 64, "fps": 10.0, "duration": 3.0, "test_fraction": 0.25}
HEADER = ["Video_Name", "Difficulty_Score", "Execution_Score", "Total_Score", "Penalty", "Video_length"]


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    return make_synthetic(tmp_path_factory.mktemp("synthetic") / "set", workers=1, **SMALL)


def decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def read_annotations(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == HEADER
    return [line.split("\t") for line in lines[1:]]


@pytest.mark.slow  # seconds of other processes or of rendering: skip with -m 'not slow'
def test_same_seed_same_set_serial_equals_parallel_other_seed_differs(small_set, tmp_path):
    parallel = make_synthetic(tmp_path / "parallel", workers=2, **SMALL)
    other = make_synthetic(tmp_path / "other", workers=1, seed=1, **SMALL)
    for split in ("train", "test"):
        a, b = (p / "annotations" / f"{split}.txt" for p in (small_set, parallel))
        assert a.read_bytes() == b.read_bytes()
    assert (small_set / "latents.json").read_bytes() == (parallel / "latents.json").read_bytes()
    for i in range(SMALL["videos"]):
        name = f"{video_name(i)}.mp4"
        a, b = decode(small_set / "videos" / name), decode(parallel / "videos" / name)
        # Said in full if it fails: which frames, how far, and whether the encoder wrote other bytes (it did: x264's
        # AVX-512 code read unwritten memory; see test_encoded_bytes_do_not_depend_on_what_the_heap_held).
        differ = [k for k in range(min(len(a), len(b))) if not np.array_equal(a[k], b[k])]
        assert len(a) == len(b) and not differ, (
            f"{name}: {len(a)} vs {len(b)} frames; frames {differ[:5]} differ, by at most "
            f"{int(np.abs(a[differ[0]].astype(int) - b[differ[0]].astype(int)).max()) if differ else 0}; "
            f"bytes equal: {(small_set / 'videos' / name).read_bytes() == (parallel / 'videos' / name).read_bytes()}"
        )
    assert (small_set / "annotations" / "train.txt").read_text() != (other / "annotations" / "train.txt").read_text()
    first = f"{video_name(0)}.mp4"
    assert not np.array_equal(decode(small_set / "videos" / first), decode(other / "videos" / first))


def _routine_frames(index: int = 1) -> list[np.ndarray]:
    """The frames of one SMALL routine (index 1 is one whose bytes x264's AVX-512 code made depend on the heap)."""
    routine = sample_routine(index, 0, SMALL["fps"], SMALL["duration"])
    return list(render_frames(routine, SMALL["size"], SMALL["size"]))


def _encoded(path: Path, frames: list[np.ndarray], **x264) -> bytes:
    encode_mp4(path, frames, SMALL["size"], SMALL["size"], SMALL["fps"], **x264)
    return path.read_bytes()


def test_videos_are_the_bytes_x264s_c_code_writes(tmp_path):
    # The canonical algorithms are those of x264's C code: with them the bytes depend on no CPU feature.
    frames = _routine_frames()
    ours = hashlib.sha256(_encoded(tmp_path / "ours.mp4", frames)).hexdigest()
    c_code = _encoded(tmp_path / "c.mp4", frames, x264_params="no-asm=1")  # x264 without any assembly
    assert ours == hashlib.sha256(c_code).hexdigest()


_ENCODE_IN_A_PROCESS = """
import hashlib, sys
from tests.data.test_synthetic import _encoded, _routine_frames
from pathlib import Path
print(hashlib.sha256(_encoded(Path(sys.argv[1]), _routine_frames())).hexdigest())
"""


@pytest.mark.slow  # two processes
def test_encoded_bytes_do_not_depend_on_what_the_heap_held(tmp_path):
    # The cause of a serial render that once differed from a parallel one: on a CPU with AVX-512, x264 read memory
    # it never wrote, so a video's bytes followed the heap's old contents. glibc's MALLOC_PERTURB_ fills what
    # malloc returns: 255 with zeros (a fresh process, mostly), 165 with other bytes (a process that ran for a while).
    root = Path(__file__).resolve().parents[2]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _ENCODE_IN_A_PROCESS, str(tmp_path / f"{fill}.mp4")],
            cwd=root,
            env={**os.environ, "MALLOC_PERTURB_": str(fill)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for fill in (255, 165)
    ]
    digests = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err[-2000:]
        digests.append(out.split()[-1])
    assert digests[0] == digests[1], "the same frames encoded to other bytes with other contents of the heap"


def test_annotations_are_rg_format_and_add_up(small_set):
    train = read_annotations(small_set / "annotations" / "train.txt")
    test = read_annotations(small_set / "annotations" / "test.txt")
    assert (len(train), len(test)) == (2, 1)  # round(3 * 0.25) = 1 test video
    names = [row[0] for row in train + test]
    assert sorted(names) == ["Synth_001", "Synth_002", "Synth_003"]
    for row in train + test:
        assert len(row) == 6
        d, e, total, p = (int(v.replace(".", "")) for v in row[1:5])  # exact hundredths
        assert all(len(v.split(".")[1]) == 2 for v in row[1:5])
        assert total == d + e - p
        assert 0 <= total <= 2500 and p >= 0
        assert row[5] == "3"


def test_videos_decode_as_h264_at_the_right_size_and_length(small_set):
    for i in range(SMALL["videos"]):
        path = small_set / "videos" / f"{video_name(i)}.mp4"
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert stream.codec_context.pix_fmt == "yuv420p"
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert frames[0].shape == (64, 64, 3)
        assert abs(len(frames) - SMALL["duration"] * SMALL["fps"]) <= 1
    assert not list((small_set / "videos").glob(".*"))  # no temporary files left


def test_score_is_the_documented_function_of_the_latents(small_set):
    latents = json.loads((small_set / "latents.json").read_text())
    splits = {split: read_annotations(small_set / "annotations" / f"{split}.txt") for split in ("train", "test")}
    rows = {r[0]: r for split_rows in splits.values() for r in split_rows}
    test_names = {r[0] for r in splits["test"]}
    model = SyntheticConfig().score
    for name, lat in latents.items():
        values = [ELEMENTS[[e.name for e in ELEMENTS].index(el["name"])].value for el in lat["elements"]]
        assert values == lat["element_values"]
        difficulty = model.d_base + model.difficulty_scale * sum(values)
        raw = model.e_base + model.w_dyn * lat["q_dyn"] + model.w_sta * lat["q_sta"] + lat["noise"]
        execution = min(max(raw, 0.0), model.e_max)
        penalty = model.penalty_per_exit * lat["exits"]
        printed = [round(v, 2) for v in (difficulty, execution, penalty)]
        d, e, total, p = (float(v) for v in rows[name][1:5])
        assert [d, e, p] == pytest.approx(printed, abs=1e-9)
        assert total == pytest.approx(printed[0] + printed[1] - printed[2], abs=1e-9)
        assert (lat["split"] == "test") == (name in test_names)
        # The same latents and score come back without rendering anything.
        routine = sample_routine(lat["index"], seed=0, fps=SMALL["fps"], duration=SMALL["duration"])
        assert routine.q_dyn == lat["q_dyn"] and routine.q_sta == lat["q_sta"] and routine.exits == lat["exits"]
        assert routine.score.total == total


def test_judge_weights_move_the_score_the_documented_way():
    base = judge([0.5, 0.3], q_dyn=0.5, q_sta=0.5, exits=0, noise=0.0)
    assert judge([0.5, 0.3], 1.0, 0.5, 0, 0.0).execution > base.execution
    assert judge([0.5, 0.3], 0.5, 1.0, 0, 0.0).execution > base.execution
    assert judge([0.5, 0.3, 0.8], 0.5, 0.5, 0, 0.0).difficulty > base.difficulty
    two_exits = judge([0.5, 0.3], 0.5, 0.5, 2, 0.0)
    assert two_exits.penalty == pytest.approx(2 * SyntheticConfig().score.penalty_per_exit)
    assert two_exits.cents[2] == base.cents[2] - two_exits.cents[3]


def test_routines_are_deterministic_and_exits_are_visible_on_the_floor():
    a, b = sample_routine(5, seed=3), sample_routine(5, seed=3)
    assert np.array_equal(a.angles, b.angles) and np.array_equal(a.position, b.position)
    assert not np.array_equal(a.angles, sample_routine(5, seed=4).angles)
    routines = [sample_routine(i, seed=0, duration=8.0) for i in range(40)]
    assert {r.exits for r in routines} >= {0, 1}
    for r in routines:
        assert r.measured["exits_seen"] == r.exits  # every exit is a run of frames outside the boundary line


def test_dynamic_faults_change_timing_only_every_movement_frame_lies_between_two_poses():
    neutral = np.asarray(NEUTRAL)
    checked = 0
    for i in range(8):
        routine = sample_routine(i, duration=10.0)
        for el in routine.elements:
            start, hold_start, hold_end, end = el.frames
            path = np.asarray(ELEMENTS[[e.name for e in ELEMENTS].index(el.name)].pose) - neutral
            for k in [*range(start, hold_start), *range(hold_end, end)]:
                offset = routine.ideal_angles[k] - neutral
                s = offset @ path / (path @ path)
                assert -1e-9 <= s <= 1 + 1e-9
                np.testing.assert_allclose(offset, s * path, atol=1e-6)
                checked += 1
    assert checked > 50


def test_the_figure_is_visible_against_the_empty_floor():
    routine = sample_routine(0, duration=3.0)
    size = 64
    empty = background(size).astype(int)
    for k in (0, routine.n_frames // 2, routine.n_frames - 1):
        frame = render_frame(routine, k, size).astype(int)
        x0, y0, x1, y1 = figure_boxes(routine, size)[k]
        inside = np.abs(frame - empty)[y0:y1, x0:x1].max(axis=2)
        assert (inside > 40).sum() >= 10, f"frame {k}: the figure hardly differs from the floor"
        changed = np.abs(frame - empty).max(axis=2) > 10
        outside = changed.copy()
        outside[y0:y1, x0:x1] = False
        # Only the shadow on the floor, below the middle of the athlete, may fall outside the box.
        assert outside.sum() <= 0.15 * changed.sum(), f"frame {k}: many pixels changed outside the athlete's box"
        assert not outside[: (y0 + y1) // 2].any(), f"frame {k}: pixels changed above the athlete's feet"


def _first_routine(condition, duration: float = 6.0):
    for i in range(200):
        r = sample_routine(i, seed=0, duration=duration)
        if r.elements and condition(r):
            return r
    raise AssertionError("no routine of the first 200 meets the condition")


def test_a_poorly_held_pose_differs_from_the_ideal_and_a_good_one_hardly():
    size = 96
    poor = _first_routine(lambda r: r.q_sta < 0.2)
    good = _first_routine(lambda r: r.q_sta > 0.95)

    def hold_difference(routine) -> float:
        k = routine.elements[0].frames[1]
        assert routine.phase[k] == 3  # a hold frame
        held = render_frame(routine, k, size).astype(int)
        ideal = render_frame(routine, k, size, ideal=True).astype(int)
        return float(np.abs(held - ideal).sum())

    assert hold_difference(poor) > 8 * max(hold_difference(good), 1.0)
    assert poor.measured["hold_error_deg"] > 20.0 > good.measured["hold_error_deg"] * 4


def test_a_finished_set_is_returned_at_once_and_a_partial_one_is_completed(tmp_path):
    params = {**SMALL, "videos": 2, "duration": 2.0, "workers": 1}
    out = make_synthetic(tmp_path / "set", **params)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    make_synthetic(tmp_path / "set", **params)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes  # nothing re-rendered

    # An interrupted run: no done.json and a missing video. The kept video stays, the missing one comes back.
    (out / "done.json").unlink()
    kept, lost = out / "videos" / "Synth_001.mp4", out / "videos" / "Synth_002.mp4"
    lost.unlink()
    make_synthetic(tmp_path / "set", **params)
    assert lost.is_file() and (out / "done.json").is_file()
    assert kept.stat().st_mtime_ns == mtimes[kept]


def test_a_set_made_with_other_parameters_is_refused_unless_overwrite(tmp_path):
    params = {**SMALL, "videos": 2, "duration": 2.0, "workers": 1}
    out = make_synthetic(tmp_path / "set", **params)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match=r"seed: 0 there, 7 asked.*overwrite") as refused:
        make_synthetic(tmp_path / "set", **{**params, "seed": 7})
    assert str(out) in str(refused.value)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes  # nothing touched
    with pytest.raises(ConfigError, match=r"size: 64 there, \[96, 64\] asked"):
        make_synthetic(tmp_path / "set", **{**params, "width": 96})

    # overwrite=True replaces the set: nothing of the old one kept, a file of the user's beside it untouched.
    (out / "videos" / "notes.txt").write_text("mine")
    make_synthetic(tmp_path / "set", **{**params, "seed": 7}, overwrite=True)
    kept = out / "videos" / "Synth_001.mp4"
    assert kept.stat().st_mtime_ns != mtimes[kept]
    assert json.loads((out / "done.json").read_text())["seed"] == 7
    assert (out / "videos" / "notes.txt").read_text() == "mine"


def test_set_files_without_their_parameters_are_refused(tmp_path):
    (tmp_path / "set" / "videos").mkdir(parents=True)
    (tmp_path / "set" / "videos" / "Synth_001.mp4").write_bytes(b"someone's video")
    with pytest.raises(ConfigError, match="no readable params.json"):
        make_synthetic(tmp_path / "set", **{**SMALL, "videos": 1, "duration": 2.0, "workers": 1})
    assert (tmp_path / "set" / "videos" / "Synth_001.mp4").read_bytes() == b"someone's video"


def test_non_square_frames_have_their_shape_and_the_boxes_lie_inside(tmp_path):
    width, height = 96, 64
    out = make_synthetic(
        tmp_path / "set", videos=2, width=width, height=height, duration=2.0, workers=1, test_fraction=0.5
    )
    with av.open(str(out / "videos" / "Synth_001.mp4")) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert frame.shape == (height, width, 3)
    assert json.loads((out / "params.json").read_text())["size"] == [width, height]
    for i in range(2):
        meta = json.loads((out / "meta" / f"{video_name(i)}.json").read_text())
        assert meta["size"] == [width, height]
        box = np.asarray(meta["box"])
        assert (box[:, 0] >= 0).all() and (box[:, 1] >= 0).all()
        assert (box[:, 2] <= width).all() and (box[:, 3] <= height).all()
        assert (box[:, 2] > box[:, 0]).all() and (box[:, 3] > box[:, 1]).all()
    assert background(width, height).shape == (height, width, 3)


def test_frame_sizes_are_checked_and_square_sets_keep_their_keys():
    with pytest.raises(ConfigError, match="width must be an even number of pixels >= 32, got 95"):
        make_synthetic("/nonexistent/set", width=95, height=64)
    with pytest.raises(ConfigError, match="height must be an even number of pixels >= 32, got 16"):
        render_frame(sample_routine(0, duration=2.0), 0, 64, 16)
    # A square set's parameters hold "size" as a number, as before frames could be non-square.
    assert synthetic_writer._params(200, 0, 128, 128, 10.0, 20.0, 0.25, SyntheticConfig())["size"] == 128
    assert render_key(width=128, height=128) == render_key() != render_key(width=160, height=128)


def test_progress_in_a_log_is_lines_not_carriage_returns(tmp_path, capfd):
    make_synthetic(tmp_path / "set", **{**SMALL, "videos": 2, "duration": 2.0, "workers": 1}, progress=True)
    err = capfd.readouterr().err
    assert "\r" not in err
    assert [line.split(" (")[0] for line in err.splitlines()] == ["render: 1/2 videos", "render: 2/2 videos"]


def test_an_interrupted_video_leaves_no_file_under_its_final_name(tmp_path, monkeypatch):
    real = synthetic_writer.render_frames

    def failing(routine, *shape):
        for k, frame in enumerate(real(routine, *shape)):
            if routine.index == 1 and k == 5:
                raise KeyboardInterrupt("simulated interruption")
            yield frame

    monkeypatch.setattr(synthetic_writer, "render_frames", failing)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic(tmp_path / "set", **{**SMALL, "videos": 2, "duration": 2.0, "workers": 1})
    names = sorted(os.listdir(tmp_path / "set" / "videos"))
    assert names == ["Synth_001.mp4"]  # finished video kept, nothing half-written, no temporary file
    assert not (tmp_path / "set" / "done.json").exists()
    # Temporary files left by killed processes (write_atomic's, and the older .part) are swept by the next run,
    # which completes the set.
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    videos = tmp_path / "set" / "videos"
    (videos / ".Synth_002.mp4.999.part").write_bytes(b"half")
    (videos / f".Synth_002.mp4.{int(gone.stdout)}.tmp").write_bytes(b"half")
    (tmp_path / "set" / "meta" / f".Synth_002.json.{int(gone.stdout)}.tmp").write_bytes(b"half")
    monkeypatch.setattr(synthetic_writer, "render_frames", real)
    make_synthetic(tmp_path / "set", **{**SMALL, "videos": 2, "duration": 2.0, "workers": 1})
    assert sorted(os.listdir(videos)) == ["Synth_001.mp4", "Synth_002.mp4"]
    assert sorted(os.listdir(tmp_path / "set" / "meta")) == ["Synth_001.json", "Synth_002.json"]
