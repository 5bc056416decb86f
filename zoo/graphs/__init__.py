"""Instance-graph builders: which instances exchange messages, and with what weight."""

from . import builders
from .graph import InstanceGraph, mask_adjacency, normalize_adjacency

__all__ = ["InstanceGraph", "builders", "mask_adjacency", "normalize_adjacency"]
