"""Videos prepared in worker processes: a ``torch.utils.data`` DataLoader over the videos to extract.

``VideoStream`` is an ``IterableDataset``: each worker takes every ``num_workers``-th video and
sends its messages (``prepare.py``); the backbones stay in the main process, on the device. The
DataLoader pins the uint8 batches for an asynchronous copy to a GPU and keeps ``prefetch``
batches per worker ready, so memory is bounded however long the videos are. Workers start by
``forkserver`` (a fresh process that imported the zoo once), never by forking a process whose
threads (torch, a decoder) may hold locks.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from .prepare import Message, Plan, prepare_video

if TYPE_CHECKING:
    from ..decoders import Decoder


class VideoStream(IterableDataset):
    """The messages of preparing ``videos`` (all of them, or this worker's share)."""

    def __init__(
        self, videos: list[Path], plans: list[Plan], decoder: Decoder, batch_size: int, max_missing: float
    ) -> None:
        super().__init__()
        self.videos, self.plans, self.decoder, self.batch_size = videos, plans, decoder, batch_size
        self.max_missing = max_missing

    def __iter__(self) -> Iterator[Message]:
        info = get_worker_info()
        start, step = (info.id, info.num_workers) if info is not None else (0, 1)
        for index in range(start, len(self.videos), step):
            video = self.videos[index]
            yield from prepare_video(index, video, self.plans, self.decoder, self.batch_size, self.max_missing)


def _init_worker(worker_id: int) -> None:
    """Each worker uses one core: one decoding thread per spare core share, no OpenCV thread pool."""
    import cv2

    cv2.setNumThreads(1)
    info = get_worker_info()
    if info is not None:
        info.dataset.decoder.share_cores((os.cpu_count() or 1) // info.num_workers)


def auto_workers(videos: int, gpu: bool) -> int:
    """``extract.workers: auto``: none for one video; else one per core (but the one feeding a GPU), at most 16.

    On a CPU the backbones and the workers share the cores, and the work is the same whoever does it, so
    every core may prepare; a GPU's feeder process needs its core to itself.
    """
    if videos <= 1:
        return 0
    return max(1, min((os.cpu_count() or 1) - (1 if gpu else 0), 16, videos))


_CONTEXT = None


def _context() -> multiprocessing.context.BaseContext:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["zoo"])  # the server imports the zoo once; workers fork from it
    return _CONTEXT


def messages(stream: VideoStream, workers: int, prefetch: int, pin_memory: bool) -> Iterator[Message]:
    """Every message of ``stream``: in this process (``workers`` 0) or from worker processes."""
    if workers == 0:
        yield from iter(stream)
        return
    loader = DataLoader(
        stream,
        batch_size=None,  # messages pass through as they are
        num_workers=min(workers, len(stream.videos)),
        prefetch_factor=prefetch,
        pin_memory=pin_memory and torch.cuda.is_available(),
        worker_init_fn=_init_worker,
        multiprocessing_context=_context(),
    )
    yield from loader
