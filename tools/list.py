"""List registered components: what they do and where they are defined.

python tools/list.py                       # every kind, with its external namespaces
python tools/list.py graph_layers          # one kind
python tools/list.py graph_layers 'pyg:GAT*'   # fnmatch pattern, case-insensitive
"""

from __future__ import annotations

import argparse
import sys

import zoo  # noqa: F401  (registers the components)
from registry import RegistryError
from registry.listing import format_listing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", nargs="?", help="component kind (backbones, graph_layers, ...)")
    parser.add_argument("pattern", nargs="?", help="name pattern with * and ? wildcards")
    args = parser.parse_args(argv)
    try:
        print(format_listing(args.kind, args.pattern))
    except RegistryError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
