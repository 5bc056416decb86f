"""Runs ``aqa_tools.train`` (its --help and its logic live there); needs ``pip install -e .``."""

import sys

from aqa_tools.train import build_parser, main

__all__ = ["build_parser", "main"]  # so `from tools.train import main` keeps working in old scripts

if __name__ == "__main__":
    sys.exit(main())
