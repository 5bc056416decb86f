"""Convert a state_dict saved by the ACTION-NET authors' code into a zoo checkpoint.

    python tools/convert_official.py AUTHORS.pth OUT.pt [--recipe actionnet/base]

The result loads with ``registry.load(OUT.pt)`` and every tool's ``--checkpoint``.
"""

from __future__ import annotations

import argparse

import torch

import registry
import zoo  # noqa: F401  (registers the components)
from zoo.models.official import convert_official


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("authors", help="state_dict saved by the authors' code (torch.save(model.state_dict()))")
    parser.add_argument("out", help="zoo checkpoint to write")
    parser.add_argument("--recipe", default="actionnet/base", help="recipe the weights belong to")
    args = parser.parse_args(argv)
    state = torch.load(args.authors, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    ckpt = convert_official(state, args.recipe)
    registry.load_state(registry.build_model(ckpt["recipe"]), ckpt["model"], source=args.authors)
    registry.save_checkpoint(args.out, ckpt)
    print(f"wrote {args.out} ({len(ckpt['model'])} tensors, recipe {args.recipe}); load it with registry.load()")


if __name__ == "__main__":
    main()
