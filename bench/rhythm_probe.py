"""Can the rhythm term of a synthetic soundtrack set be learnt at all from what each clip shows and sounds like?

A probe, not a model of the zoo: for every routine of a rendered set with a soundtrack, each 0.8 s clip (8 frames
at 10 fps, back to back, as ``recipes/multimodal/synthetic.yaml`` samples them) gives its motion profile (the mean
|frame t - frame t-1| of its 7 frame pairs, as ``flow.profile``) and its onset envelope (the ``onset`` audio
backbone, 16 bins). A small network (two convolutions over the clips, mean over the routine) is trained on the
set's train split to predict the rhythm deduction directly (``latents.json``), and the test split's Spearman is
printed for both inputs, the motion alone and the music alone (the other zeroed), over 3 seeds.

Hearing and seeing should beat either alone; if even this direct probe cannot find the rhythm, a scorer trained on
the total score will not either (the probe found 0.09 on sets whose unsteady athletes shook in their holds).

    .venv/bin/python bench/rhythm_probe.py data/synthetic/render/<digest>
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import av
import numpy as np
import torch
from scipy.stats import spearmanr

from zoo.backbones.flow import motion_profile
from zoo.data.audio import read_audio
from zoo.data.logmel import LogMel
from zoo.kinds import AUDIO_BACKBONES

CLIP, CLIPS_PER_SECOND = 8, 10 / 8  # frames per clip at 10 fps: 0.8 s
SR = 16000


ONSET = AUDIO_BACKBONES.build({"type": "onset", "frames": 78, "mel_bins": 64, "bins": 16})  # the recipe's
LOGMEL = LogMel(ONSET.input_spec)


def clip_features(video: Path) -> np.ndarray:
    """``[clips, 7 + 16]``: each whole clip's motion profile, then its onset envelope."""
    with av.open(str(video)) as container:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    frames = torch.from_numpy(frames).permute(3, 0, 1, 2).float() / 127.5 - 1.0  # [3, T, H, W] in [-1, 1], as flow
    wave = torch.from_numpy(read_audio(video, SR).samples).float()
    rows = []
    for k in range(frames.shape[1] // CLIP):
        profile = motion_profile(frames[None, :, CLIP * k : CLIP * (k + 1)], CLIP - 1)[0].numpy()
        seconds = wave[round(k / CLIPS_PER_SECOND * SR) : round((k + 1) / CLIPS_PER_SECOND * SR)]
        with torch.no_grad():
            envelope = ONSET(LOGMEL.normalize(LOGMEL(seconds)))[0].numpy()
        rows.append(np.concatenate([profile, envelope]))
    return np.stack(rows)


def probe(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int, epochs: int) -> float:
    """Train on ``train`` routines ``x [R, clips, C]`` -> ``y [R]``; the test routines' Spearman."""
    flat = x[train].reshape(-1, x.shape[-1])
    xt = torch.tensor((x - flat.mean(0)) / (flat.std(0) + 1e-6)).transpose(1, 2)  # [R, C, clips]
    yt = torch.tensor((y - y[train].mean()) / y[train].std())
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv1d(x.shape[-1], 64, 3, padding=1),  # a clip and its neighbours: an onset may sit at an edge
        torch.nn.ReLU(),
        torch.nn.Conv1d(64, 64, 1),
        torch.nn.ReLU(),
        torch.nn.Conv1d(64, 1, 1),
    )
    opt = torch.optim.Adam(net.parameters(), 1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        opt.zero_grad()
        loss = ((net(xt[train]).mean((1, 2)) - yt[train]) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(spearmanr(net(xt[test]).mean((1, 2)).numpy(), y[test]).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("render", type=Path, help="a rendered set with a soundtrack (videos/, latents.json)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1500)
    args = parser.parse_args()
    latents = json.loads((args.render / "latents.json").read_text())
    names = sorted(latents)
    if "rhythm" not in latents[names[0]]:
        raise SystemExit(f"{args.render}: a set without a soundtrack has no rhythm term to probe")
    x = np.stack([clip_features(args.render / "videos" / f"{n}.mp4") for n in names]).astype(np.float32)
    y = np.array([latents[n]["rhythm_deduction"] for n in names], dtype=np.float32)
    split = np.array([latents[n]["split"] for n in names])
    train, test = split == "train", split == "test"
    print(f"{args.render}: {train.sum()} train / {test.sum()} test routines, {x.shape[1]} clips each")
    for label, keep in (
        ("motion and music", slice(None)),
        ("motion alone", slice(0, 7)),
        ("music alone", slice(7, None)),
    ):
        masked = np.zeros_like(x)
        masked[..., keep] = x[..., keep]
        scores = [probe(masked, y, train, test, seed, args.epochs) for seed in range(args.seeds)]
        print(
            f"  {label}: test Spearman with the rhythm deduction {np.mean(scores):.3f} ± {np.std(scores, ddof=1):.3f}"
        )


if __name__ == "__main__":
    main()
