"""Instance-graph builders: which instances exchange messages, and with what weight.

The contract every builder follows: ``base.GraphBuilder``.
"""

from . import base, builders
from .base import GraphBuilder
from .graph import InstanceGraph, mask_adjacency, normalize_adjacency

__all__ = ["GraphBuilder", "InstanceGraph", "base", "builders", "mask_adjacency", "normalize_adjacency"]
