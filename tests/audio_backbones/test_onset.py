"""The ``onset`` audio backbone says where in a clip the beats fall: on the synthetic soundtrack's kicks, its largest
values lie in the time bins of the beats, and nowhere else."""

from __future__ import annotations

import numpy as np
import torch

from zoo.data.logmel import LogMel
from zoo.data.synthetic.soundtrack import Soundtrack, draw_beat, synthesize
from zoo.kinds import AUDIO_BACKBONES

SR = 16000


def test_the_envelope_peaks_in_the_bins_where_the_beats_fall() -> None:
    soundtrack = Soundtrack()
    backbone = AUDIO_BACKBONES.build({"type": "onset", "frames": 78, "mel_bins": 64, "bins": 16})
    logmel = LogMel(backbone.input_spec)
    hop = backbone.input_spec.hop_ms / 1000
    checked = 0
    for seed in range(4):
        beat = draw_beat(np.random.default_rng(seed), 6.0, soundtrack)
        wave = torch.from_numpy(synthesize(beat, 6 * SR, soundtrack))
        for start in np.arange(0.4, 5.0, 0.8):  # 0.8 s clips, past the chord's fade-in
            clip = wave[round(start * SR) : round((start + 0.8) * SR)]
            env = backbone(logmel.normalize(logmel(clip)))[0]
            # A kick at t s into the clip rises in the frame whose 25 ms window is centred on it.
            frames = [round((t - start - 0.0125) / hop) for t in beat.times]
            bins = {f * 16 // 78 for f in frames if 1 <= f < 77}
            top = set(env.topk(len(bins)).indices.tolist())
            assert all(top & {b - 1, b, b + 1} for b in bins), (seed, start, sorted(bins), sorted(top))
            quiet = [i for i in range(16) if all(abs(i - b) > 1 for b in bins)]
            if bins and quiet:
                assert env[quiet].max() < 0.2 * env[sorted(top)].min()  # the chord is steady: no onset
            checked += len(bins)
    assert checked > 20


def test_bands_keep_groups_of_mel_bins_apart() -> None:
    backbone = AUDIO_BACKBONES.build({"type": "onset", "frames": 20, "mel_bins": 8, "bins": 4, "bands": 2})
    x = torch.zeros(1, 20, 8)
    x[0, 10:, :4] = 1.0  # a step up in the low band at frame 10 (bin 2)
    torch.testing.assert_close(backbone(x)[0], torch.tensor([0.0, 0.0, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0]))
