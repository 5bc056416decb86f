"""List registered components: what they do and where they are defined.

python tools/list.py                           # every kind, with its external namespaces
python tools/list.py graph_layers              # one kind
python tools/list.py graph_layers 'pyg:GAT*'   # fnmatch pattern, case-insensitive
python tools/list.py 'pyg:GAT*'                # a pattern alone searches every kind
python tools/list.py attention --contract      # what every component of a kind must do
python tools/list.py --contract --markdown > docs/CONTRACTS.md   # every contract, as the docs keep them
"""

from __future__ import annotations

import argparse
import sys

from aqa_tools._cli import parser as make_parser
from aqa_tools._cli import run

HEADER = """# Contracts: what every component of a kind must do

Written by `python tools/list.py --contract --markdown > docs/CONTRACTS.md` from the contract classes'
docstrings (a test checks that this file is up to date). A component derives from its kind's class;
`Registry.build` refuses one that does not.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__)
    parser.add_argument("kind", nargs="?", help="component kind (backbones, graph_layers, ...), or a name pattern")
    parser.add_argument("pattern", nargs="?", help="name pattern with * and ? wildcards")
    parser.add_argument("--contract", action="store_true", help="print the kind's contract (call signature, shapes)")
    parser.add_argument(
        "--markdown", action="store_true", help="with --contract and no kind: every contract as Markdown"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def work() -> None:
        import zoo  # noqa: F401  (registers the components)
        from registry import known_kinds
        from registry.listing import format_contract, format_listing

        kind, pattern = args.kind, args.pattern
        if kind is not None and pattern is None and kind not in known_kinds() and any(c in kind for c in "*?:["):
            kind, pattern = None, kind  # a pattern alone: search every kind
        if args.contract and args.markdown and kind is None:
            from registry.listing import contracts_markdown

            print(contracts_markdown(HEADER), end="")
            return
        if args.contract:
            kinds = [kind] if kind else list(known_kinds())
            print(
                "\n\n".join(format_contract(known_kinds()[k]) for k in kinds if k in known_kinds())
                or format_listing(kind)
            )
            return
        print(format_listing(kind, pattern))

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
