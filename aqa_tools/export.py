"""Export a recipe's model (optionally with trained weights) to torch.export (.pt2) or ONNX.

    python tools/export.py actionnet/base --format onnx --out actionnet.onnx
    python tools/export.py --checkpoint runs/actionnet/synthetic/<stamp>/selected.pt --format onnx
    python tools/export.py actionnet/base --format pt2,onnx     # both, from one trace

Batch size and every input's number of instances stay dynamic. The export is run at a new shape
on realistic inputs and compared with the eager model on every output (onnxruntime for ONNX)
before it gets its name; a failed check leaves no file. The resolved recipe is written beside it
(<out>.recipe.yaml). The default output is exports/<recipe>.<format>; with several formats, --out
names the file without its suffix (each format adds its own). An existing file is kept unless --force.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run

FORMATS = ("pt2", "onnx")


def formats(text: str) -> list[str]:
    """``pt2``, ``onnx`` or both, comma-separated (each once)."""
    names = [f.strip() for f in text.split(",") if f.strip()]
    wrong = [f for f in names if f not in FORMATS]
    if wrong or not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"expected one or more of {', '.join(FORMATS)}, comma-separated; got {text!r}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__)
    parser.add_argument("recipe", nargs="?", help="recipe name or path (default: the checkpoint's recipe)")
    parser.add_argument("overrides", nargs="*", help="key.sub=value overrides")
    parser.add_argument("--checkpoint", help="weights to export (a zoo checkpoint)")
    parser.add_argument(
        "--format", type=formats, default=["pt2"], help="pt2 (torch.export), onnx, or pt2,onnx (one trace for both)"
    )
    parser.add_argument("--out", help="output file (default: exports/<recipe>.<format>)")
    parser.add_argument("--force", action="store_true", help="replace an existing output file")
    parser.add_argument("--trust-imports", action="store_true", help="let the checkpoint's recipe import its modules")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    if not args.recipe and not args.checkpoint:
        parser.error("give a recipe, a --checkpoint, or both")

    def work() -> None:
        import zoo  # noqa: F401  (registers the components)
        from registry import load_checkpoint, load_recipe
        from registry.export import export_recipe

        recipe = load_recipe(args.recipe, args.overrides) if args.recipe else None
        if args.recipe:
            stem = args.recipe.replace("/", "_").removesuffix(".yaml")
        else:  # the run's recipe name (runs/<recipe>/<stamp>/selected.pt), not the file's stem
            stem = str(load_checkpoint(args.checkpoint).get("name") or Path(args.checkpoint).stem).replace("/", "_")
        if args.out and len(args.format) == 1:
            outs = {args.format[0]: Path(args.out)}
        else:  # with several formats --out is the name without its suffix
            stem_path = Path(args.out) if args.out else Path("exports") / stem
            outs = {fmt: stem_path.with_name(f"{stem_path.name}.{fmt}") for fmt in args.format}
        results = export_recipe(recipe, outs, args.checkpoint, overwrite=args.force, trust_imports=args.trust_imports)
        for result in results.values():
            print(
                f"wrote {result.path} ({result.format}; outputs {', '.join(result.output_names)}); checked at shapes "
                f"{result.checked_shapes}: max |export - eager| = {result.max_abs_diff:.2e} "
                f"(relative {result.max_rel_diff:.2e}); "
                f"recipe: {result.recipe_path}"
            )

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
