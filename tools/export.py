"""Export a recipe's model (optionally with trained weights) to torch.export (.pt2) or ONNX.

    python tools/export.py actionnet/base --format onnx --out actionnet.onnx
    python tools/export.py --checkpoint runs/actionnet/synthetic/<stamp>/selected.pt --format pt2

Batch size and every input's number of instances stay dynamic. The export is run at a new shape
and compared with the eager model (onnxruntime for ONNX) before it is kept; the resolved recipe is
written beside it (<out>.recipe.yaml).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import zoo  # noqa: F401  (registers the components)
from registry import load_recipe
from registry.export import FORMATS, export_recipe
from zoo.errors import USER_ERRORS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", nargs="?", help="recipe name or path (default: the checkpoint's recipe)")
    parser.add_argument("overrides", nargs="*", help="key.sub=value overrides")
    parser.add_argument("--checkpoint", help="weights to export (a zoo checkpoint)")
    parser.add_argument("--format", choices=FORMATS, default="pt2")
    parser.add_argument("--out", help="output file (default: exports/<recipe>.<format>)")
    args = parser.parse_args(argv)
    if not args.recipe and not args.checkpoint:
        parser.error("give a recipe, a --checkpoint, or both")
    try:
        recipe = load_recipe(args.recipe, args.overrides) if args.recipe else None
        stem = args.recipe.replace("/", "_") if args.recipe else Path(args.checkpoint).stem
        out = Path(args.out or f"exports/{stem}.{args.format}")
        result = export_recipe(recipe, out, args.format, args.checkpoint)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"wrote {result.path} ({result.format}; outputs {', '.join(result.output_names)}); "
        f"checked at shapes {result.checked_shapes}: max |export - eager| = {result.max_abs_diff:.2e}; "
        f"recipe: {result.recipe_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
