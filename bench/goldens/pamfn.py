"""Make tests/goldens/pamfn.pt: PAMFN (qinghuannn/PAMFN) run by its authors' own code, in eval mode.

    python bench/goldens/pamfn.py /path/to/PAMFN [--out tests/goldens/pamfn.pt]

Their three single-modality branches (``BaseModel``: RGB "V", flow "F", audio "A") and their fusion model
(``PAMFN``) as their configs build them (3 fusion blocks, 1 head each, feature dropout 0.5, head reduction 2)
but narrower (width 64, inputs 64/48/32 wide, K = 4 candidates: a file of ~1 MB instead of ~40 MB). Their
fusion model loads the branches as whole pickled modules from a folder, so the branches are saved to a
temporary folder first and read back by their own constructor. Initialisation under seed 0 moved by
seeded noise, batch-norm statistics warmed up, weights rounded to float16 values; then three videos of
different lengths, each scored alone (batch 1, the whole video, as their test loop does):

* by each of the fusion model's branches alone (``branches``: what their stage-one model would score with
  those weights);
* by the fusion model with the policy's Gumbel noise replaced by its most likely choice (``score``);
* by the fusion model as their code runs it, noise and all, after ``torch.manual_seed(100 + i)`` right
  before video i (``score_noisy``: their evaluation is stochastic; the same seed draws the same noise).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from _authors import ROOT, half_precision, perturb, save, seed, stored, use_checkout, videos, warm_up
from torch.nn import functional as F

WIDTH, CANDIDATES = 64, 4
IN_DIMS = {"V": 64, "F": 48, "A": 32}
LENGTHS = [70, 75, 90]
NAMES = {"V": "rgb", "F": "flow", "A": "audio"}  # their branch files: <data>_<rgb|flow|audio>_<feature>.pth


def most_likely(logits: torch.Tensor, tau: float = 1.0, hard: bool = False, dim: int = -1, **_: object) -> torch.Tensor:
    """``gumbel_softmax`` without the noise: the one-hot of the largest logit (what hard=True returns, noise-free)."""
    index = logits.argmax(dim, keepdim=True)
    return torch.zeros_like(logits).scatter_(dim, index, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout")
    parser.add_argument("--out", default=str(ROOT / "tests" / "goldens" / "pamfn.pt"))
    args = parser.parse_args()
    commit = use_checkout(args.checkout, entry="models/pamfn.py")
    from models.pamfn import PAMFN, BaseModel  # their code

    def batch(size: int = 8, length: int = 70) -> dict[str, torch.Tensor]:
        return {m: torch.randn(size, length, d).abs() * 0.5 for m, d in IN_DIMS.items()}

    seed(0)
    branches = {m: BaseModel(d, WIDTH, 0.5, modality=m) for m, d in IN_DIMS.items()}
    for branch in branches.values():
        perturb(branch)
        warm_up(branch, batch)
        half_precision(branch)
    with tempfile.TemporaryDirectory() as folder:
        for m, branch in branches.items():
            torch.save(branch, Path(folder) / f"RG_{NAMES[m]}_{m}.pth")  # whole modules, as their stage one saves
        load = torch.load
        torch.load = lambda *a, **k: load(*a, **{**k, "weights_only": False})  # our own files, just written
        try:
            model = PAMFN(WIDTH, 0.0, 2, 0.5, CANDIDATES, 1, 1, folder, "V", "F", "A", "RG")
        finally:
            torch.load = load
    perturb(model)
    warm_up(model, batch)
    half_precision(model)
    inputs = {m: videos(LENGTHS, d, generator_seed=i + 1) for i, (m, d) in enumerate(IN_DIMS.items())}
    per_video = [{m: inputs[m][i] for m in IN_DIMS} for i in range(len(LENGTHS))]
    with torch.no_grad():
        own = {"V": model.model_r, "F": model.model_f, "A": model.model_a}  # the fusion model's branches, as saved
        branch_scores = {NAMES[m]: torch.cat([b(v)[0] for v in per_video]).squeeze(-1) for m, b in own.items()}
        noisy = []
        for i, v in enumerate(per_video):
            torch.manual_seed(100 + i)
            noisy.append(model(v)[0])
        gumbel = F.gumbel_softmax
        F.gumbel_softmax = most_likely
        try:
            clean = [model(v)[0] for v in per_video]
        finally:
            F.gumbel_softmax = gumbel
    save(
        args.out,
        method="pamfn",
        repository="qinghuannn/PAMFN",
        commit=commit,
        settings={"width": WIDTH, "candidates": CANDIDATES, "in_dims": {NAMES[m]: d for m, d in IN_DIMS.items()}},
        state_dict=stored(model.state_dict()),
        inputs={NAMES[m]: [x.half() for x in xs] for m, xs in inputs.items()},
        outputs={
            "branches": branch_scores,
            "score": torch.cat(clean).squeeze(-1),
            "score_noisy": torch.cat(noisy).squeeze(-1),
            "noise_seeds": [100 + i for i in range(len(LENGTHS))],
        },
    )


if __name__ == "__main__":
    main()
