"""Batch order: epoch-seeded, sharded over ranks, and skipped exactly on resume."""
from __future__ import annotations

from wavetron.data import LengthBucketSampler
from wavetron.train.sampling import RandomBatchSampler, SkipBatches, build_batch_sampler


class WithLengths:
    def __init__(self, lengths):
        self.lengths = lengths

    def __len__(self):
        return len(self.lengths)


def test_random_batches_are_seeded_per_epoch_and_sharded_evenly():
    sampler = RandomBatchSampler(10, 3, seed=1, num_replicas=2, rank=0)
    other = RandomBatchSampler(10, 3, seed=1, num_replicas=2, rank=1)
    first = list(sampler)
    assert first == list(RandomBatchSampler(10, 3, seed=1, num_replicas=2, rank=0))
    assert len(first) == len(list(other)) == len(sampler) == 2
    assert sorted(i for batch in first + list(other) for i in batch) == list(range(10))
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_skip_batches_resumes_mid_epoch_with_the_same_order():
    sampler = RandomBatchSampler(20, 4, seed=3)
    sampler.set_epoch(2)
    full = list(sampler)
    assert list(SkipBatches(sampler, 2)) == full[2:] and len(SkipBatches(sampler, 2)) == len(full) - 2


def test_datasets_with_lengths_get_length_buckets():
    dataset = WithLengths([5, 50, 6, 51, 7, 52, 8, 53])
    sampler = build_batch_sampler(dataset, 2, bucket=True, seed=0, num_replicas=1, rank=0)
    assert isinstance(sampler, LengthBucketSampler)
    for batch in sampler:
        assert max(dataset.lengths[i] for i in batch) - min(dataset.lengths[i] for i in batch) < 10
    assert isinstance(build_batch_sampler(dataset, 2, bucket=False, seed=0, num_replicas=1, rank=0),
                      RandomBatchSampler)
