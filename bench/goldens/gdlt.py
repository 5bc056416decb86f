"""Make tests/goldens/gdlt.pt: GDLT (xuangch/CVPR22_GDLT) run by its authors' own code, in eval mode.

    python bench/goldens/gdlt.py /path/to/CVPR22_GDLT [--out tests/goldens/gdlt.pt]

Their model as their README trains it on RG (1024-d Video-Swin clips, 1 head, 1 encoder and 2
decoder layers, 4 grades, dropout 0.3) but 128 wide instead of 256 (a quarter of the file; the
width is one of their options), their initialisation under seed 0 moved by seeded noise
(bench/goldens/_authors.py: perturb), batch-norm statistics warmed up on a few random batches,
weights rounded to float16 values; then three videos of different lengths, each scored alone as
their test loop does (batch 1, the whole video).
"""

from __future__ import annotations

import argparse

import torch
from _authors import ROOT, half_precision, perturb, save, seed, stored, use_checkout, videos, warm_up

SETTINGS = {
    "in_dim": 1024,
    "hidden_dim": 128,
    "n_head": 1,
    "n_encoder": 1,
    "n_decoder": 2,
    "n_query": 4,
    "dropout": 0.3,
}
LENGTHS = [68, 75, 90]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout")
    parser.add_argument("--out", default=str(ROOT / "tests" / "goldens" / "gdlt.pt"))
    args = parser.parse_args()
    commit = use_checkout(args.checkout)
    from models.model import GDLT  # their code

    seed(0)
    model = GDLT(**SETTINGS)
    perturb(model)
    warm_up(model, lambda: torch.randn(8, 68, SETTINGS["in_dim"]).abs() * 0.5)
    half_precision(model)
    inputs = videos(LENGTHS, SETTINGS["in_dim"])
    with torch.no_grad():
        outs = [model(x) for x in inputs]
    save(
        args.out,
        method="gdlt",
        repository="xuangch/CVPR22_GDLT",
        commit=commit,
        settings=SETTINGS,
        state_dict=stored(model.state_dict()),
        inputs=[x.half() for x in inputs],
        outputs={"score": torch.cat([o["output"] for o in outs]), "queries": [o["embed"] for o in outs]},
    )


if __name__ == "__main__":
    main()
