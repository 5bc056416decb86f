"""Score videos (or their feature files) with a checkpoint; draw where the model looked.

    python tools/predict.py --checkpoint RUN/selected.pt data/synthetic/render/*/videos/Synth_001.mp4
    python tools/predict.py --checkpoint ckpt.pt --feature-root data/rg Ball_001 Ball_002 --json
    python tools/predict.py --checkpoint gdlt.pt clip_features/Ball_001.npy       # one-input models

Videos are turned into features in memory by the recipe's extract: section and scored as training
evaluated them. For each item a PNG timeline of every stream's instance weights is written to
--plot-dir. Every item is scored on its own: the ones that fail are listed at the end, and the
exit code is then 1 (2: a bad checkpoint or arguments).
"""

from __future__ import annotations

import argparse
import json
import sys

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__)
    parser.add_argument("items", nargs="+", help="video files, .npy files, or names under --feature-root")
    parser.add_argument("--checkpoint", required=True, help="a zoo checkpoint (selected.pt, last.pt, converted)")
    parser.add_argument("--feature-root", help="folder with <input>/<name>.npy feature files")
    parser.add_argument("--plot-dir", default="predictions", help="where the attention timelines go ('' = none)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    parser.add_argument("--json", action="store_true", help="print JSON (scores and instance weights)")
    parser.add_argument("--trust-imports", action="store_true", help="let the checkpoint's recipe import its modules")
    parser.add_argument(
        "--accept-mismatch",
        action="store_true",
        help="score features that do not match the checkpoint's training features (each score then says so)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_intermixed_args(argv)

    def work() -> int:
        from zoo.engine.predict import predict

        done = predict(
            args.checkpoint,
            args.items,
            args.feature_root,
            args.plot_dir or None,
            args.device,
            trust_imports=args.trust_imports,
            find_judged=True,
            accept_mismatch=args.accept_mismatch,
        )
        if args.json:
            print(json.dumps([r.to_dict() for r in done.scores], indent=2))
        else:
            for r in done.scores:
                judged = f"\tjudged {r.judged:.3f}" if r.judged is not None else ""
                flag = "\tACCEPTED MISMATCH" if r.accepted else ""
                print(f"{r.name}\t{r.target or 'score'} {r.score:.3f}{judged}{flag}")
                for line in r.accepted:
                    print(f"  accepted: {line}")
        for line in done.notes:
            print(f"note: {line}", file=sys.stderr)
        for name, path in done.plots.items():
            print(f"attention timeline of {name}: {path}", file=sys.stderr)
        if done.failed:
            print(f"{len(done.failed)} of {len(args.items)} item(s) could not be scored:", file=sys.stderr)
            for item, why in done.failed.items():
                print(f"  {item}: {why}", file=sys.stderr)
            return 1
        return 0

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
