"""Message passing over the instance graph: ``(x [B, N, C], graph, mask) -> [B, N, C']``.

The contract every layer follows: ``base.GraphLayer``.
"""

from . import asgtn, base, gcn_unit, pyg, stack, transformer
from .base import GraphLayer

__all__ = ["GraphLayer", "asgtn", "base", "gcn_unit", "pyg", "stack", "transformer"]
