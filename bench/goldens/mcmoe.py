"""Make tests/goldens/mcmoe.pt: MCMoE (XuHuangbiao/MCMoE) run by its authors' own code, in eval mode.

    python bench/goldens/mcmoe.py /path/to/MCMoE [--out tests/goldens/mcmoe.pt]

Their ``MoE_AQA`` as their README trains it on RG (1024-d Video-Swin RGB, their fixed 768-d AST audio
and 1024-d I3D flow, 2 heads, 3 encoder and 3 decoder layers, 4 grades, dropout 0.3) but 64 wide
instead of 256 (the width is one of their options; the file is 4.8 MB), their initialisation under
seed 0 moved by seeded noise (bench/goldens/_authors.py: perturb), batch-norm statistics warmed up by a
few training passes (their forward_train, which drops modalities at random), weights rounded to float16
values. Then three videos of different lengths, each scored alone (batch 1, as the position-encoding
of their queries is then pe[0] for every video) under each of the seven modality sets their test
loop evaluates ([V, A, F] = [1, 1, 1], [1, 1, 0], ...: 0 = missing, completed by their generators).
Their forward_test returns the score only; the decoded grade queries are read by a hook on their
``transformer.decoder`` (what their forward_train returns as ``embed``).
"""

from __future__ import annotations

import argparse

import torch
from _authors import ROOT, half_precision, perturb, save, seed, stored, use_checkout, videos

SETTINGS = {
    "in_dim": 1024,
    "hidden_dim": 64,
    "n_head": 2,
    "n_encoder": 3,
    "n_decoder": 3,
    "n_query": 4,
    "dropout": 0.3,
}
WIDTHS = {"v": 1024, "a": 768, "f": 1024}  # their in_proj: in_dim for video, 768 audio and 1024 flow, fixed
LENGTHS = [68, 30, 45]
# Their main.py --test list, [V, A, F].
COMBINATIONS = [[1, 1, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout")
    parser.add_argument("--out", default=str(ROOT / "tests" / "goldens" / "mcmoe.pt"))
    args = parser.parse_args()
    commit = use_checkout(args.checkout)
    from models.model import MoE_AQA  # their code

    seed(0)
    model = MoE_AQA(**SETTINGS, config=None)
    perturb(model)
    model.train()
    with torch.no_grad():
        for _ in range(5):
            batch = [torch.randn(8, 68, WIDTHS[m]).abs() * 0.5 for m in "vaf"]
            model(batch[0], batch[1], batch[2], [1, 1, 1])
    model.eval()
    half_precision(model)
    inputs = {m: videos(LENGTHS, WIDTHS[m], generator_seed=1 + i) for i, m in enumerate("vaf")}
    decoded: list[torch.Tensor] = []
    model.transformer.decoder.register_forward_hook(lambda mod, inp, out: decoded.append(out[0].detach().clone()))
    outputs = []
    with torch.no_grad():
        for mask in COMBINATIONS:
            decoded.clear()
            scores = [model(v, a, f, mask)["output"] for v, a, f in zip(inputs["v"], inputs["a"], inputs["f"])]
            outputs.append({"score": torch.cat(scores), "queries": torch.cat(decoded)})
    save(
        args.out,
        method="mcmoe",
        repository="XuHuangbiao/MCMoE",
        commit=commit,
        settings=SETTINGS,
        state_dict=stored(model.state_dict()),
        inputs={m: [x.half() for x in xs] for m, xs in inputs.items()},
        combinations=COMBINATIONS,
        outputs=outputs,
    )


if __name__ == "__main__":
    main()
