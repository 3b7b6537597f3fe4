"""Torch intra-op threads for a block of work, restored afterwards.

Work made of many tiny ops (autoregressive steps, per-item features) runs fastest on one thread:
intra-op threads only add hand-offs, and stall badly when the cores are busy with other programs.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch threads (unchanged when None), then restore the previous count."""
    import torch

    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
