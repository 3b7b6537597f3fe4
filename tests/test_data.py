"""wavetron.data over a real features folder (espeak speech through `preprocess`), and the sampler."""
from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch

from wavetron.audio import mel_spectrogram
from wavetron.config import Config
from wavetron.data import (AudioMelDataset, Batch, FeatureSet, LengthBucketSampler, TextMelDataset, collate_audio_mel,
                           collate_text_mel)
from wavetron.errors import ConfigError, DataError
from wavetron.models.attention import lengths_mask
from wavetron.preprocess import preprocess


@pytest.fixture(scope="module")
def features(tmp_path_factory, speech_corpus):
    out = tmp_path_factory.mktemp("features") / "feats"
    preprocess(speech_corpus, out, Config(), workers=1, progress=False)
    return out


# --- FeatureSet ---------------------------------------------------------------------------------------------

def test_feature_set_reads_the_manifest(features):
    fs = FeatureSet(features)
    assert fs.audio_config == Config().audio and fs.text_config == Config().text
    assert fs.audio_hash == Config().audio.feature_hash()
    assert len(fs.items("train")) == 11 and len(fs.items("val")) == 1 and len(fs.items()) == 12
    assert fs.speakers == ["default"] and {item.speaker for item in fs.items()} == {0}
    item = fs.items()[0]
    assert fs.load_mel(item).shape == (80, item.frames)
    audio = fs.load_audio(item)
    assert audio.dtype == torch.float32 and audio.shape == (item.frames * 256,)
    assert float(audio.abs().max()) <= 1.0
    with pytest.raises(DataError, match="split: expected train or val"):
        fs.items("test")


def _broken_copy(features, tmp_path, edit):
    copy = tmp_path / "copy"
    copy.mkdir()
    manifest = json.loads((features / "manifest.json").read_text())
    text = edit(manifest)
    (copy / "manifest.json").write_text(text if isinstance(text, str) else json.dumps(manifest))
    return copy


@pytest.mark.parametrize("edit, message", [
    (lambda m: "{not json", "not valid JSON"),
    (lambda m: m.pop("audio"), "missing key 'audio'"),
    (lambda m: m.update(version=7), "version"),
    (lambda m: m["audio"].update(n_mel=3), "unknown config key 'audio.n_mel'"),
    (lambda m: m["items"][2].pop("frames"), r"items\[2\]\.frames: expected int"),
    (lambda m: m["items"][0].update(split="test"), r"items\[0\]\.split: expected train or val"),
    (lambda m: m["items"][1].update(samples=5), r"items\[1\]: samples 5 != frames"),
    (lambda m: m["items"][1].update(speaker=3), r"items\[1\]\.speaker: 3 is not an index"),
])
def test_feature_set_names_the_file_and_field(features, tmp_path, edit, message):
    copy = _broken_copy(features, tmp_path, edit)
    with pytest.raises(DataError, match=message) as info:
        FeatureSet(copy)
    assert str(copy / "manifest.json") in str(info.value) and "\n" not in str(info.value)


def test_feature_set_missing_folder_manifest_and_arrays(features, tmp_path):
    with pytest.raises(DataError, match="features folder not found"):
        FeatureSet(tmp_path / "nope")
    with pytest.raises(DataError, match="manifest.json: manifest not found"):
        FeatureSet(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(features, copy)
    fs = FeatureSet(copy)
    item = fs.items()[0]
    fs.mel_path(item.id).unlink()
    with pytest.raises(DataError, match=f"{item.id}.npy: feature file of item"):
        TextMelDataset(fs, split=None)[0]


# --- TextMelDataset ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("indices", [[4], [0, 5, 9]])
def test_text_mel_collate_pads_and_fills_lengths(features, indices):
    dataset = TextMelDataset(features, "train")
    items = [dataset[i] for i in indices]
    batch = dataset.collate(items)
    assert len(batch) == len(indices) and batch.ids == [dataset.items[i].id for i in indices]
    frames = [dataset.items[i].frames for i in indices]
    tokens = [len(dataset.items[i].tokens) for i in indices]
    assert batch.mels.shape == (len(indices), 80, max(frames)) and batch.mels.dtype == torch.float32
    assert batch.tokens.shape == (len(indices), max(tokens)) and batch.tokens.dtype == torch.long
    assert batch.mel_lengths.tolist() == frames and batch.token_lengths.tolist() == tokens
    assert batch.speakers.tolist() == [0] * len(indices) and batch.audio is None
    floor = math.log(1e-5)
    for row, (item, n_frames, n_tokens) in enumerate(zip(items, frames, tokens)):
        assert torch.equal(batch.mels[row, :, :n_frames], item["mel"])
        assert torch.equal(batch.tokens[row, :n_tokens], item["tokens"])
        assert (batch.tokens[row, n_tokens:] == 0).all() and (batch.mels[row, :, n_frames:] == floor).all()
    mask = lengths_mask(batch.mel_lengths)
    assert mask.shape == (len(indices), max(frames)) and mask.sum().item() == sum(frames)


def test_text_mel_frames_multiple_and_odd_lengths(features):
    dataset = TextMelDataset(features, "train")
    items = [dataset[i] for i in range(3)]
    items[1]["mel"] = items[1]["mel"][:, :37]  # an odd length
    batch = collate_text_mel(items, frames_multiple=4)
    assert batch.mels.shape[-1] % 4 == 0 and batch.mels.shape[-1] - max(batch.mel_lengths.tolist()) < 4
    assert batch.mel_lengths[1] == 37
    assert TextMelDataset.collate(items).mels.shape[-1] == int(batch.mel_lengths.max())  # the static form


def test_batch_to_and_dataloader(features):
    dataset = TextMelDataset(features, "train")
    sampler = LengthBucketSampler(dataset.lengths, batch_size=3, seed=1)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=dataset.collate)
    seen = []
    for batch in loader:
        assert isinstance(batch, Batch)
        seen += batch.ids
    assert sorted(seen) == sorted(item.id for item in dataset.items)
    moved = batch.to("meta")
    assert moved is not batch and moved.mels.device.type == "meta" and batch.mels.device.type == "cpu"
    assert moved.ids == batch.ids and moved.audio is None and len(moved) == len(batch)


# --- AudioMelDataset ---------------------------------------------------------------------------------------

def test_audio_mel_windows_are_aligned(features):
    config = FeatureSet(features).audio_config
    window = 24
    dataset = AudioMelDataset(features, "train", window_frames=window, seed=3)
    dataset.set_epoch(2)
    starts = [dataset.window_start(i) for i in range(len(dataset))]
    assert any(start > 0 for start in starts)
    for index in range(3):
        item = dataset[index]
        assert item["mel"].shape == (80, window) and item["audio"].shape == (window * 256,)
        full = dataset.features.load_audio(dataset.items[index])
        start = starts[index] * 256
        assert torch.equal(item["audio"], full[start: start + window * 256])
        # The window's own mel equals the stored frames, except near its edges where the STFT
        # of the cut-out window sees zeros instead of the neighbouring samples.
        edge = config.n_fft // (2 * config.hop_length)
        remade = mel_spectrogram(item["audio"], config)[:, :window]
        assert torch.allclose(remade[:, edge:-edge], item["mel"][:, edge:-edge], atol=1e-4)


def test_audio_mel_windows_reproducible_after_set_epoch(features):
    dataset = AudioMelDataset(features, "train", window_frames=16, seed=0)
    dataset.set_epoch(5)
    first = [dataset[i] for i in range(len(dataset))]
    dataset.set_epoch(6)
    other = [dataset.window_start(i) for i in range(len(dataset))]
    resumed = AudioMelDataset(features, "train", window_frames=16, seed=0)
    resumed.set_epoch(5)
    again = [resumed[i] for i in range(len(resumed))]
    assert all(torch.equal(a["audio"], b["audio"]) and torch.equal(a["mel"], b["mel"]) for a, b in zip(first, again))
    assert other != [resumed.window_start(i) for i in range(len(resumed))]
    reseeded = AudioMelDataset(features, "train", window_frames=16, seed=1)
    reseeded.set_epoch(5)
    assert [reseeded.window_start(i) for i in range(len(reseeded))] != [resumed.window_start(i)
                                                                        for i in range(len(resumed))]


@pytest.mark.parametrize("indices", [[2], [1, 6, 10]])
def test_audio_mel_whole_utterances_collate(features, indices):
    dataset = AudioMelDataset(features, "train", window_frames=None)
    items = [dataset[i] for i in indices]
    batch = dataset.collate(items)
    frames = [dataset.items[i].frames for i in indices]
    assert batch.audio.shape == (len(indices), max(frames) * 256)
    assert batch.mels.shape == (len(indices), 80, max(frames))
    assert batch.audio_lengths.tolist() == [f * 256 for f in frames] and batch.mel_lengths.tolist() == frames
    assert batch.tokens is None and batch.speakers.tolist() == [0] * len(indices)
    for row, n in enumerate(frames):
        assert (batch.audio[row, n * 256:] == 0).all()
        assert torch.equal(batch.audio[row, : n * 256], items[row]["audio"])


def test_audio_mel_short_items_and_bad_window(features):
    fs = FeatureSet(features)
    shortest = min(item.frames for item in fs.items("train"))
    dataset = AudioMelDataset(fs, "train", window_frames=shortest + 50)
    batch = collate_audio_mel([dataset[i] for i in range(len(dataset))])
    assert batch.mels.shape[-1] == shortest + 50 and min(batch.mel_lengths.tolist()) == shortest
    assert (batch.audio_lengths == batch.mel_lengths * 256).all()
    with pytest.raises(ConfigError, match="window_frames"):
        AudioMelDataset(fs, "train", window_frames=0)


def test_audio_mel_context_frames_surround_the_window(features):
    c, window = 5, 12
    plain = AudioMelDataset(features, "train", window_frames=window, seed=4)
    dataset = AudioMelDataset(features, "train", window_frames=window, seed=4, context_frames=c)
    fs = dataset.features
    seen_edge = False
    for index in range(len(dataset)):
        item, base = dataset[index], plain[index]
        start, frames = dataset.window_start(index), dataset.items[index].frames
        assert torch.equal(item["audio"], base["audio"]) and item["mel_context"] == c
        assert item["mel"].shape == (80, window + 2 * c)
        assert torch.equal(item["mel"][:, c:c + window], base["mel"])
        full = torch.nn.functional.pad(fs.load_mel(dataset.items[index]), (c, c))  # zeros beyond the utterance
        assert torch.equal(item["mel"], full[:, start:start + window + 2 * c])
        seen_edge |= start < c or start + window + c > frames
    assert seen_edge  # a window near an utterance edge was padded
    batch = dataset.collate([dataset[0], dataset[1]])
    assert batch.mel_context == c and batch.mels.shape == (2, 80, window + 2 * c)
    assert plain.collate([plain[0]]).mel_context == 0
    with pytest.raises(ValueError, match="different mel context"):
        collate_audio_mel([dataset[0], plain[1]])
    with pytest.raises(ConfigError, match="context_frames"):
        AudioMelDataset(features, "train", window_frames=window, context_frames=-1)


# --- LengthBucketSampler -----------------------------------------------------------------------------------

LENGTHS = np.random.default_rng(0).integers(20, 900, size=103).tolist()


def _epoch(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


def test_sampler_covers_every_index_once_and_is_deterministic():
    sampler = LengthBucketSampler(LENGTHS, batch_size=8, seed=4, bucket_batches=4)
    for epoch in range(3):
        batches = _epoch(sampler, epoch)
        assert len(batches) == len(sampler) == 13
        flat = [i for batch in batches for i in batch]
        assert sorted(flat) == list(range(103)) and all(isinstance(i, int) for i in flat)
        assert batches == _epoch(LengthBucketSampler(LENGTHS, batch_size=8, seed=4, bucket_batches=4), epoch)
    assert _epoch(sampler, 0) != _epoch(sampler, 1)
    assert _epoch(sampler, 0) != _epoch(LengthBucketSampler(LENGTHS, batch_size=8, seed=5, bucket_batches=4), 0)


def test_sampler_groups_similar_lengths():
    lengths = np.asarray(LENGTHS)
    bucketed = _epoch(LengthBucketSampler(LENGTHS, batch_size=8, seed=0, bucket_batches=4), 0)
    rng = np.random.default_rng(0)
    shuffled = np.array_split(rng.permutation(103), 13)
    spread = lambda batches: np.mean([np.ptp(lengths[np.asarray(b)]) for b in batches])  # noqa: E731
    assert spread(bucketed) < 0.5 * spread(shuffled)
    ordered = _epoch(LengthBucketSampler(LENGTHS, batch_size=8, shuffle=False), 7)
    flat = [i for batch in ordered for i in batch]
    assert lengths[flat].tolist() == sorted(LENGTHS)


@pytest.mark.parametrize("replicas, drop_last", [(2, False), (3, False), (4, False), (3, True), (4, True)])
def test_sampler_replicas_are_disjoint_and_even(replicas, drop_last):
    samplers = [LengthBucketSampler(LENGTHS, batch_size=8, seed=2, num_replicas=replicas, rank=rank,
                                    drop_last=drop_last) for rank in range(replicas)]
    per_rank = [_epoch(sampler, 3) for sampler in samplers]
    counts = {len(batches) for batches in per_rank}
    assert counts == {len(samplers[0])}
    sets = [{i for batch in batches for i in batch} for batches in per_rank]
    flat = [i for batches in per_rank for batch in batches for i in batch]
    assert len(flat) == len(set(flat))  # disjoint, and no index twice on one rank
    if drop_last:
        assert all(len(batch) == 8 for batches in per_rank for batch in batches)
        assert len(samplers[0]) == (103 // 8) // replicas
    else:
        assert set().union(*sets) == set(range(103))


def test_sampler_more_ranks_than_items_and_bad_arguments():
    per_rank = [list(LengthBucketSampler([5, 3, 9], batch_size=2, num_replicas=4, rank=r)) for r in range(4)]
    assert [len(batches) for batches in per_rank] == [1, 1, 1, 1]
    assert {i for batches in per_rank for batch in batches for i in batch} == {0, 1, 2}
    assert list(LengthBucketSampler([], batch_size=4)) == [] and len(LengthBucketSampler([], batch_size=4)) == 0
    with pytest.raises(ConfigError, match="batch_size"):
        LengthBucketSampler(LENGTHS, batch_size=0)
    with pytest.raises(ConfigError, match="rank 2 / num_replicas 2"):
        LengthBucketSampler(LENGTHS, batch_size=4, num_replicas=2, rank=2)
