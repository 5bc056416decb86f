"""Every registered sampler keeps the sampler contract: instances of uint8 frames, pushed frame by frame."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from zoo.data.samplers import Instance, Sampler
from zoo.data.video import Frame, resample
from zoo.kinds import SAMPLERS

NAMES = SAMPLERS.names()
FPS = 10.0  # the source frames' rate


def frames(seconds: float = 4.0) -> list[Frame]:
    """A source of ``seconds`` at 10 fps, each frame 8x8 RGB filled with its own index (to tell them apart)."""
    n = round(seconds * FPS)
    return [Frame(i, i / FPS, np.full((8, 8, 3), i % 256, np.uint8)) for i in range(n)]


@pytest.mark.parametrize("name", NAMES)
def test_instances_are_frames_of_the_source_in_time_order(name: str) -> None:
    sampler = SAMPLERS.build({"type": name})
    assert isinstance(sampler, Sampler)
    assert sampler.fps is None or sampler.fps > 0
    source = frames()
    made = list(sampler(resample(source, sampler.fps), len(source)))
    assert made, f"{name} made no instance of a 4 s video"
    for k, inst in enumerate(made):
        assert isinstance(inst, Instance) and inst.index == k
        assert inst.frames.dtype == np.uint8 and inst.frames.ndim == 4 and inst.frames.shape[1:] == (8, 8, 3)
        shown = {int(v) for v in np.unique(inst.frames)}
        assert shown <= {f.index for f in source}, f"{name}: instance {k} holds frames the source does not"
    times = [inst.time for inst in made]
    assert times == sorted(times) and times[0] >= 0 and times[-1] <= source[-1].time
    step = sampler.seconds_per_instance
    if step is not None:  # what timelines rely on: instance k starts about k * step seconds in
        np.testing.assert_allclose(times, np.arange(len(made)) * step, atol=1.5 / FPS)


@pytest.mark.parametrize("name", NAMES)
def test_pushing_frame_by_frame_equals_a_whole_pass_and_a_sampler_pickles(name: str) -> None:
    """The extractor feeds one decode to every sampler frame by frame, in worker processes (pickled)."""
    sampler = pickle.loads(pickle.dumps(SAMPLERS.build({"type": name})))
    source = list(resample(frames(), sampler.fps))
    run = sampler.start(len(frames()))
    pushed = []
    for f in source:
        pushed += run.push(f)
        if run.done:
            break
    pushed += run.finish()
    whole = list(sampler(source, len(frames())))
    assert [i.index for i in pushed] == [i.index for i in whole]
    assert all(np.array_equal(a.frames, b.frames) for a, b in zip(pushed, whole))
