"""Process layout for ``torchrun``: which rank this is, how many, and the device it owns."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from registry import ConfigError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Only the main process writes logs and checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world_from_env() -> World:
    """The layout ``torchrun`` describes in RANK / WORLD_SIZE / LOCAL_RANK (one process otherwise)."""
    return World(
        int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))
    )


def pick_device(requested: str, world: World) -> torch.device:
    """``auto`` takes this rank's GPU when there is one, else the CPU."""
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"run.device must be auto, cpu or cuda, got {requested!r}")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("run.device=cuda but no CUDA device is available; use run.device=cpu or auto")
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", world.local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def init_process_group(world: World, device: torch.device) -> None:
    """gloo on the CPU, nccl on GPUs; a no-op for a single process."""
    if world.distributed and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def all_true(flag: bool, world: World, device: torch.device) -> bool:
    """Whether ``flag`` holds on every rank (e.g. every loss finite)."""
    if not world.distributed:
        return flag
    t = torch.tensor([0.0 if flag else 1.0], device=device)
    dist.all_reduce(t)
    return bool(t.item() == 0)


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def shutdown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()
