"""Message passing over the instance graph: ``(x [B, N, C], graph, mask) -> [B, N, C']``."""

from . import gcn_unit, pyg, stack, transformer

__all__ = ["gcn_unit", "pyg", "stack", "transformer"]
