"""Batch samplers for the engine: epoch-seeded order, DDP sharding and resuming mid-epoch.

Models whose datasets expose ``lengths`` get :class:`wavetron.data.LengthBucketSampler`;
others get :class:`RandomBatchSampler`. Either way the order of an epoch is a function of
(seed, epoch), so a resumed run skips the batches it already saw and then sees the same ones
a run without interruption would have seen.
"""
from __future__ import annotations

import itertools
from typing import Iterator, Sequence

import torch


class RandomBatchSampler:
    """Shuffled fixed-size batches, sharded over DDP replicas.

    Args:
        size: number of items in the dataset.
        batch_size: items per batch on each replica.
        shuffle: draw a new permutation each epoch from (seed, epoch).
        num_replicas / rank: this process's share; every rank gets the same number of batches
            (the permutation is padded by wrapping round, as DistributedSampler does).
        drop_last: drop a final short batch.
    """

    def __init__(self, size: int, batch_size: int, shuffle: bool = True, seed: int = 0,
                 num_replicas: int = 1, rank: int = 0, drop_last: bool = False) -> None:
        if size <= 0:
            raise ValueError("an empty dataset has no batches")
        self.size, self.batch_size, self.shuffle, self.seed = size, batch_size, shuffle, seed
        self.num_replicas, self.rank, self.drop_last = num_replicas, rank, drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _per_replica(self) -> int:
        return -(-self.size // self.num_replicas)

    def __len__(self) -> int:
        count = self._per_replica()
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        total = self._per_replica() * self.num_replicas
        order = (order * (-(-total // self.size)))[:total]
        mine = order[self.rank::self.num_replicas]
        for start in range(0, len(mine), self.batch_size):
            batch = mine[start:start + self.batch_size]
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch


class SkipBatches:
    """A batch sampler that leaves out the first ``skip`` batches of ``sampler`` (resuming mid-epoch).

    Skipping happens on index lists, so no skipped item is ever loaded.
    """

    def __init__(self, sampler: Sequence[list[int]], skip: int) -> None:
        self.sampler, self.skip = sampler, skip

    def __len__(self) -> int:
        return max(len(self.sampler) - self.skip, 0)

    def __iter__(self) -> Iterator[list[int]]:
        return itertools.islice(iter(self.sampler), self.skip, None)


def dataset_lengths(dataset) -> list[int] | None:
    """The per-item lengths a dataset exposes as ``lengths`` (attribute or method), or None."""
    lengths = getattr(dataset, "lengths", None)
    if callable(lengths):
        lengths = lengths()
    return list(lengths) if lengths is not None else None


def build_batch_sampler(dataset, batch_size: int, bucket: bool, seed: int, num_replicas: int, rank: int):
    """The training batch sampler: length buckets when asked and possible, else random batches."""
    lengths = dataset_lengths(dataset) if bucket else None
    if lengths is not None:
        from ..data import LengthBucketSampler

        return LengthBucketSampler(lengths, batch_size, shuffle=True, seed=seed, num_replicas=num_replicas,
                                   rank=rank, drop_last=False)
    return RandomBatchSampler(len(dataset), batch_size, shuffle=True, seed=seed, num_replicas=num_replicas,
                              rank=rank)
