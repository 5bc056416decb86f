"""Score videos (or their feature files) with a checkpoint; draw where the model looked.

    python tools/predict.py --checkpoint RUN/selected.pt data/synthetic/videos/Synth_001.mp4
    python tools/predict.py --checkpoint ckpt.pt --feature-root data/rg Ball_001 Ball_002 --json
    python tools/predict.py --checkpoint gdlt.pt clip_features/Ball_001.npy       # one-input models

Videos are turned into features in memory by the recipe's extract: section. For each item a PNG
timeline of every stream's instance weights is written to --plot-dir (default predictions/).
"""

from __future__ import annotations

import argparse
import json
import sys

import zoo  # noqa: F401  (registers the components)
from zoo.engine.predict import predict
from zoo.errors import USER_ERRORS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("items", nargs="+", help="video files, .npy files, or names under --feature-root")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--feature-root", help="folder with <input>/<name>.npy feature files")
    parser.add_argument("--plot-dir", default="predictions", help="where the attention timelines go ('' = none)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print JSON (scores and instance weights)")
    args = parser.parse_args(argv)
    try:
        results = predict(args.checkpoint, args.items, args.feature_root, args.plot_dir or None, args.device)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for r in results:
            print(f"{r.name}\t{r.score:.3f}")
        if args.plot_dir:
            print(f"attention timelines: {args.plot_dir}/<name>_attention.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
