"""Datasets of a features folder for training Tacotron (the registry's ``datasets`` hook).

Kept apart from the model so that :mod:`wavetron.models.tacotron` imports nothing of data
loading; the registry reaches this module only when a run starts.
"""
from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path
from typing import Callable, Sequence

import torch

from ..config import Config
from ..data import Batch, TextMelDataset, collate_text_mel
from ..errors import ConfigError


class TextMelAudioDataset(TextMelDataset):
    """:class:`TextMelDataset` items plus ``"audio"`` ``(frames * hop_length,)``: Tacotron 1's linear target."""

    def __getitem__(self, index: int) -> dict:
        item = super().__getitem__(index)
        item["audio"] = self.features.load_audio(self.items[index])
        return item


def collate_text_mel_audio(items: Sequence[dict], mel_pad: float, frames_multiple: int) -> Batch:
    """:func:`collate_text_mel` plus the zero-padded audio ``(B, T)`` and its lengths."""
    batch = collate_text_mel(items, mel_pad=mel_pad, frames_multiple=frames_multiple)
    lengths = torch.tensor([item["audio"].shape[-1] for item in items], dtype=torch.long)
    audio = torch.zeros(len(items), int(lengths.max()))
    for row, item in enumerate(items):
        audio[row, : item["audio"].shape[-1]] = item["audio"]
    batch.audio, batch.audio_lengths = audio, lengths
    return batch


def datasets(features_dir: Path, config: Config) -> tuple[TextMelDataset, TextMelDataset, Callable]:
    """Train and validation sets of ``features_dir`` and a collate padding frames to the reduction factor.

    Raises:
        ConfigError: the features hold more speakers than ``tacotron.n_speakers`` allows.
    """
    cls = TextMelAudioDataset if config.tacotron.variant == "tacotron1" else TextMelDataset
    train_set, val_set = cls(features_dir, "train"), cls(features_dir, "val")
    speakers = len(train_set.features.speakers)
    wanted = config.tacotron.n_speakers
    if wanted > 1 and speakers > wanted:
        raise ConfigError(f"tacotron.n_speakers: the features in {features_dir} hold {speakers} speakers, "
                          f"expected at most {wanted}; set tacotron.n_speakers={speakers}")
    if wanted <= 1 and speakers > 1:
        warnings.warn(f"{features_dir} holds {speakers} speakers but tacotron.n_speakers is {wanted}: training "
                      f"one voice for all of them (set tacotron.n_speakers={speakers} for a speaker embedding)",
                      UserWarning, stacklevel=2)
    pad = math.log(config.audio.log_floor)
    if cls is TextMelAudioDataset:
        collate = functools.partial(collate_text_mel_audio, mel_pad=pad,
                                    frames_multiple=config.tacotron.reduction_factor)
    else:
        collate = functools.partial(collate_text_mel, mel_pad=pad, frames_multiple=config.tacotron.reduction_factor)
    return train_set, val_set, collate
