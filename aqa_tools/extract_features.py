"""Extract backbone features from raw videos, as the recipe's ``extract:`` section says.

    python tools/extract_features.py actionnet/base --videos videos/ --out data/rg [--device cuda] [key=value ...]
    torchrun --nproc_per_node=4 tools/extract_features.py actionnet/base --videos videos/ --out data/rg --device cuda

Writes <out>/<input>/<video>.npy (float32 [n_instances, feature_dim]) and <out>/extract.json;
finished videos are skipped on a rerun (a video that changed since is extracted again). Exit
codes: 0 done, 1 some videos failed (listed), 2 a bad recipe or arguments, 4 the disk is full.
RANK / WORLD_SIZE (set by torchrun) split the videos between processes.
"""

from __future__ import annotations

import argparse
import os
import sys

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__)
    parser.add_argument("recipe", help="recipe name (actionnet/base) or path to a .yaml file with an extract: section")
    parser.add_argument("overrides", nargs="*", help="key.sub=value, +new.key=value, ~drop.key")
    parser.add_argument("--videos", required=True, help="folder of videos (or one video file)")
    parser.add_argument("--out", required=True, help="feature folder: <out>/<input>/<video>.npy")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    parser.add_argument("--overwrite", action="store_true", help="extract everything again, replacing the manifest")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_intermixed_args(argv)  # overrides may follow the options
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))

    def work() -> int:
        import zoo  # noqa: F401  (registers the components, makes the recipes findable)
        from registry import ConfigError, load_recipe
        from zoo.data.extract import extract_features
        from zoo.data.extract.config import EXAMPLE

        recipe = load_recipe(args.recipe, args.overrides)
        if not recipe.get("extract"):
            raise ConfigError(
                f"recipe {args.recipe!r} has no extract: section; add one that names, per model input, "
                f"a sampler and a backbone (an optional cropper and size), e.g.\n{EXAMPLE}"
            )
        report = extract_features(
            recipe["extract"], args.videos, args.out, args.device, rank, world, not args.no_progress, args.overwrite
        )
        print(report.summary())
        return 0 if report.ok else 1

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
