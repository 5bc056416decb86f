"""Make tests/goldens/cofinal.pt: CoFInAl (ZhouKanglei/CoFInAl_AQA) run by its authors' own code, in eval mode.

    python bench/goldens/cofinal.py /path/to/CoFInAl_AQA [--out tests/goldens/cofinal.pt]

Their ``cofinal`` model with Ball's settings from scripts/train_all_rg.sh (1024-d clips, width 256,
1 head, 1 encoder and 2 decoder layers, 4 grades, dropout 0.3, restriction 2 = sigmoid), their
initialisation under seed 0 (the simplex ETF is drawn from numpy's generator, seeded as their
main.py does), batch-norm statistics warmed up on a few random batches, weights rounded to float16
values. The same weights then run their ``GDLTETH2`` (the ETF head without the reverted grades: the
``cofinal_2`` of their Ribbon script, which models/model.py does not define under that name). Three
videos of different lengths, each scored alone as their test loop does (batch 1, the whole video):
the coarse grades, the normalised sub-grade vector, and the score of ``get_score``.
"""

from __future__ import annotations

import argparse

import torch
from _authors import ROOT, half_precision, perturb, save, seed, stored, use_checkout, videos, warm_up

SETTINGS = {
    "in_dim": 1024,
    "hidden_dim": 256,
    "n_head": 1,
    "n_encoder": 1,
    "n_decoder": 2,
    "n_query": 4,
    "dropout": 0.3,
    "activate_regular_restrictions": 2,
}
LENGTHS = [68, 75, 90]


def run(model: torch.nn.Module, inputs: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        outs = [model(x) for x in inputs]
        scores = [model.get_score(o["output"]) for o in outs]
    out = {
        "score": torch.stack([s.reshape(()) for s in scores]),
        "grade_score": torch.cat([o["output"]["int"] for o in outs]),
        "sub_grade": torch.cat([o["output"]["dec"][0] for o in outs]),
        "queries": torch.cat([o["embed"] for o in outs]),
    }
    if "int_revert" in outs[0]["output"]:
        out["grade_score_revert"] = torch.cat([o["output"]["int_revert"] for o in outs])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout")
    parser.add_argument("--out", default=str(ROOT / "tests" / "goldens" / "cofinal.pt"))
    args = parser.parse_args()
    commit = use_checkout(args.checkout)
    from models.model import GDLTETH2, cofinal  # their code

    seed(0)
    model = cofinal(**SETTINGS)
    perturb(model)
    warm_up(model, lambda: torch.randn(8, 68, SETTINGS["in_dim"]).abs() * 0.5)
    half_precision(model)
    inputs = videos(LENGTHS, SETTINGS["in_dim"])
    second = GDLTETH2(**SETTINGS)
    second.load_state_dict({k: v for k, v in model.state_dict().items() if "revert" not in k})
    second.eval()
    save(
        args.out,
        method="cofinal",
        repository="ZhouKanglei/CoFInAl_AQA",
        commit=commit,
        settings=SETTINGS,
        state_dict=stored(model.state_dict()),
        inputs=[x.half() for x in inputs],
        outputs={"cofinal": run(model, inputs), "cofinal_2": run(second, inputs)},
    )


if __name__ == "__main__":
    main()
