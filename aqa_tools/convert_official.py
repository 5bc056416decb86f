"""Convert a state_dict saved by the ACTION-NET authors' code into a zoo checkpoint.

    python tools/convert_official.py AUTHORS.pth OUT.pt [--recipe actionnet/base]

The result loads with ``registry.load(OUT.pt)`` and every tool's ``--checkpoint``. The authors'
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
    parser.add_argument("--recipe", default="actionnet/base", help="recipe the weights belong to")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_intermixed_args(argv)

    def work() -> None:
        import registry
        import zoo  # noqa: F401  (registers the components)
        from zoo.models.official import convert_official, read_official

        ckpt = convert_official(read_official(args.authors), args.recipe)
        registry.load_state(registry.build_model(ckpt["recipe"]), ckpt["model"], source=args.authors)
        registry.save_checkpoint(args.out, ckpt)
        print(f"wrote {args.out} ({len(ckpt['model'])} tensors, recipe {args.recipe}); load it with registry.load()")

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
