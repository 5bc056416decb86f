"""Convert a state_dict saved by a method's authors' code into a zoo checkpoint: one door for every method.

    python tools/convert_official.py AUTHORS.pth OUT.pt [--method METHOD] [--recipe R]

METHOD: actionnet (default), gdlt, cofinal, asgtn, pamfn, pamfn_branch, mcmoe.

Their key names are mapped to the recipe's (``--recipe``: the method's own by default, e.g. peers/cofinal)
and the sizes the weights have (widths, layers, queries, variant) are set in the recipe the checkpoint
carries. The result loads with ``registry.load(OUT.pt)`` and every tool's ``--checkpoint``. The authors'
file is read with ``torch.load(weights_only=True)``: a file that holds more than tensors is refused.
"""

from __future__ import annotations

import argparse
import sys

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__)
    parser.add_argument("authors", help="state_dict saved by the authors' code (torch.save(model.state_dict()))")
    parser.add_argument("out", help="zoo checkpoint to write")
    parser.add_argument(
        "--method",
        default="actionnet",
        help="whose code saved the weights: actionnet (default), gdlt, cofinal, asgtn, pamfn (their fusion model), "
        "pamfn_branch (one of their single-modality models), mcmoe",
    )
    parser.add_argument("--recipe", help="recipe the weights belong to (default: the method's, e.g. peers/cofinal)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_intermixed_args(argv)

    def work() -> None:
        import registry
        import zoo  # noqa: F401  (registers the components)
        from zoo.models.official import METHODS, convert_official, read_official

        ckpt = convert_official(read_official(args.authors), args.recipe, method=args.method)
        registry.load_state(registry.build_model(ckpt["recipe"]), ckpt["model"], source=args.authors)
        registry.save_checkpoint(args.out, ckpt)
        recipe = args.recipe or METHODS[args.method][1]
        print(
            f"wrote {args.out} ({len(ckpt['model'])} tensors, {args.method} weights, recipe {recipe}); "
            "load it with registry.load()"
        )

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
