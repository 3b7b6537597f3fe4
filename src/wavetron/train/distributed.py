"""PyTorch DDP under ``torchrun``: process-group set-up and the few collectives the loop needs.

``torchrun --nproc_per_node N -m wavetron train ...`` sets RANK, WORLD_SIZE and LOCAL_RANK;
without them the run is a single process and every helper here is a no-op.
Backends: nccl with CUDA, gloo on CPU.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from ..errors import ConfigError


@dataclass
class Distributed:
    """This process's place in the job and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 logs and writes checkpoints."""
        return self.rank == 0


def setup(device: str = "auto") -> Distributed:
    """Join the process group started by torchrun (if any) and pick this process's device.

    Args:
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
    """
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device: cuda was asked for, but no CUDA device is available")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", rank=rank, world_size=world_size,
                                device_id=chosen if use_cuda else None)
    return Distributed(rank, world_size, local_rank, chosen)


def cleanup(info: Distributed) -> None:
    """Leave the process group."""
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def any_flags(info: Distributed, flags: list[bool]) -> list[bool]:
    """Element-wise OR of boolean flags over all ranks (every rank gets the same answer)."""
    if not info.enabled:
        return flags
    values = torch.tensor([float(f) for f in flags], device=info.device)
    dist.all_reduce(values, op=dist.ReduceOp.MAX)
    return [bool(v) for v in values.tolist()]


def broadcast(info: Distributed, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (a picklable value sent between our own processes)."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(info: Distributed, obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(info: Distributed) -> None:
    """Wait for every rank."""
    if info.enabled:
        dist.barrier()
