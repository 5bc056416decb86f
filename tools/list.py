"""Runs ``aqa_tools.list`` (its --help and its logic live there); needs ``pip install -e .``."""

import sys

from aqa_tools.list import build_parser, main

__all__ = ["build_parser", "main"]  # so `from tools.list import main` keeps working in old scripts

if __name__ == "__main__":
    sys.exit(main())
