"""Datasets over a features folder (see :mod:`wavetron.preprocess`), a Batch, collate and a sampler.

- :class:`FeatureSet` reads and checks ``manifest.json``.
- :class:`TextMelDataset` (Tacotron): token ids and the whole log-mel of each item.
- :class:`AudioMelDataset` (WaveNet): random windows of ``window_frames`` mel frames and the
  ``window_frames * hop_length`` audio samples they describe, or whole utterances.
- ``collate_text_mel`` / ``collate_audio_mel`` pad items into a :class:`Batch` with lengths.
- :class:`LengthBucketSampler` batches items of similar length, deterministically per epoch,
  with the same number of batches on every DDP rank.

Tensors are channel-first: mels ``(B, n_mels, frames)``, audio ``(B, T)``.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from .config import AudioConfig, TextConfig, from_dict
from .errors import ConfigError, DataError

TOKEN_PAD = 0  # wavetron.text.PAD_ID
SPLITS = ("train", "val")
_ITEM_FIELDS = {"id": str, "text": str, "normalized_text": str, "speaker": int, "split": str,
                "samples": int, "frames": int, "tokens": list}


@dataclass
class Batch:
    """A padded batch; fields a dataset does not produce stay None.

    Attributes:
        ids: item ids, ``len(ids) == B``.
        tokens: ``(B, L)`` long, padded with 0; token_lengths ``(B,)`` long.
        mels: ``(B, n_mels, frames)`` float log-mels; mel_lengths ``(B,)`` long.
        audio: ``(B, T)`` float in [-1, 1], padded with 0; audio_lengths ``(B,)`` long.
        speakers: ``(B,)`` long indices into the manifest's speaker names.
        mel_context: mel frames before the audio's first frame (and after its last): frame
            ``mel_context + f`` of ``mels`` is the frame of samples ``[f * hop, (f + 1) * hop)``.
    """

    ids: list[str]
    tokens: Tensor | None = None
    token_lengths: Tensor | None = None
    mels: Tensor | None = None
    mel_lengths: Tensor | None = None
    audio: Tensor | None = None
    audio_lengths: Tensor | None = None
    speakers: Tensor | None = None
    mel_context: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """A new Batch with every tensor on ``device``."""
        return self._map(lambda tensor: tensor.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> Batch:
        """Page-locked copies, so ``DataLoader(pin_memory=True)`` works with this type."""
        return self._map(lambda tensor: tensor.pin_memory())

    def _map(self, fn) -> Batch:
        changes = {f.name: fn(value) for f in dataclasses.fields(self)
                   if isinstance(value := getattr(self, f.name), Tensor)}
        return dataclasses.replace(self, ids=list(self.ids), **changes)


@dataclass(frozen=True)
class FeatureItem:
    """One manifest item."""

    id: str
    text: str
    normalized_text: str
    speaker: int
    split: str
    samples: int
    frames: int
    tokens: tuple[int, ...]


class FeatureSet:
    """A features folder: its checked manifest and the paths of each item's arrays.

    Raises:
        DataError: the folder or ``manifest.json`` is missing or malformed (the message names the file).
    """

    def __init__(self, features_dir: str | Path):
        self.root = Path(features_dir)
        self.manifest_path = self.root / "manifest.json"
        if not self.root.is_dir():
            raise DataError(f"{self.root}: features folder not found (make one with 'wavetron preprocess')")
        if not self.manifest_path.is_file():
            raise DataError(f"{self.manifest_path}: manifest not found; is this a folder made by "
                            "'wavetron preprocess' (an interrupted run can be finished with --resume)?")
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise DataError(f"{self.manifest_path}: not valid JSON ({err})") from None
        self._parse(manifest)

    def _parse(self, manifest: Any) -> None:
        if not isinstance(manifest, dict) or manifest.get("version") != 1:
            raise self._error("expected a mapping with \"version\": 1")
        for key in ("audio", "audio_hash", "text", "speakers", "items"):
            if key not in manifest:
                raise self._error(f"missing key {key!r}")
        try:
            self.audio_config: AudioConfig = from_dict(AudioConfig, manifest["audio"], "audio")
            self.text_config: TextConfig = from_dict(TextConfig, manifest["text"], "text")
        except ConfigError as err:
            raise self._error(str(err)) from None
        self.audio_hash: str = str(manifest["audio_hash"])
        speakers = manifest["speakers"]
        if not isinstance(speakers, list) or not all(isinstance(name, str) for name in speakers):
            raise self._error("\"speakers\" must be a list of names")
        self.speakers: list[str] = speakers
        if not isinstance(manifest["items"], list):
            raise self._error("\"items\" must be a list")
        self._items = [self._parse_item(n, raw) for n, raw in enumerate(manifest["items"])]
        self.audio_dtype: str = str(manifest.get("audio_dtype", "float32"))

    def _parse_item(self, index: int, raw: Any) -> FeatureItem:
        if not isinstance(raw, dict):
            raise self._error(f"items[{index}] must be a mapping")
        for key, kind in _ITEM_FIELDS.items():
            if not isinstance(raw.get(key), kind) or (kind is int and isinstance(raw[key], bool)):
                raise self._error(f"items[{index}].{key}: expected {kind.__name__}, got {raw.get(key)!r}")
        item = FeatureItem(**{key: raw[key] for key in _ITEM_FIELDS} | {"tokens": tuple(raw["tokens"])})
        if item.split not in SPLITS:
            raise self._error(f"items[{index}].split: expected train or val, got {item.split!r}")
        if not 0 <= item.speaker < max(len(self.speakers), 1):
            raise self._error(f"items[{index}].speaker: {item.speaker} is not an index into speakers")
        if item.samples != item.frames * self.audio_config.hop_length:
            raise self._error(f"items[{index}]: samples {item.samples} != frames {item.frames} "
                              f"* hop_length {self.audio_config.hop_length}")
        return item

    def _error(self, what: str) -> DataError:
        return DataError(f"{self.manifest_path}: {what}")

    def items(self, split: str | None = None) -> list[FeatureItem]:
        """The items of ``split`` ("train" or "val"), or all of them when None, in manifest order."""
        if split is not None and split not in SPLITS:
            raise DataError(f"split: expected train or val, got {split!r}")
        return [item for item in self._items if split is None or item.split == split]

    @property
    def n_speakers(self) -> int:
        return len(self.speakers)

    def mel_path(self, item_id: str) -> Path:
        return self.root / "mels" / f"{item_id}.npy"

    def audio_path(self, item_id: str) -> Path:
        return self.root / "audio" / f"{item_id}.npy"

    def load_mel(self, item: FeatureItem, start: int = 0, stop: int | None = None) -> Tensor:
        """Log-mel frames ``[start, stop)`` of ``item``: float32 ``(n_mels, frames)``."""
        mel = self._load(self.mel_path(item.id), item)
        expected = (self.audio_config.n_mels, item.frames)
        if mel.shape != expected:
            raise DataError(f"{self.mel_path(item.id)}: expected shape {expected}, got {mel.shape}")
        return torch.from_numpy(np.array(mel[:, start:stop], dtype=np.float32))

    def load_audio(self, item: FeatureItem, start: int = 0, stop: int | None = None) -> Tensor:
        """Processed audio samples ``[start, stop)`` of ``item``: float32 ``(T,)`` in [-1, 1]."""
        audio = self._load(self.audio_path(item.id), item)
        if audio.shape != (item.samples,):
            raise DataError(f"{self.audio_path(item.id)}: expected shape ({item.samples},), got {audio.shape}")
        part = np.asarray(audio[start:stop])
        if part.dtype == np.int16:  # int16 features are full-scale PCM
            return torch.from_numpy(part.astype(np.float32) / 32768.0)
        return torch.from_numpy(np.array(part, dtype=np.float32))

    @staticmethod
    def _load(path: Path, item: FeatureItem) -> np.ndarray:
        # Memory-mapped, so a window reads only its own bytes from a long utterance.
        try:
            return np.load(path, mmap_mode="r")
        except FileNotFoundError:
            raise DataError(f"{path}: feature file of item {item.id!r} not found") from None
        except (OSError, ValueError) as err:
            raise DataError(f"{path}: not a readable .npy file ({err})") from None


def _pad_stack(tensors: Sequence[Tensor], value: float) -> tuple[Tensor, Tensor]:
    """Right-pad tensors along their last dim and stack: ``(B, ..., max_len)`` and lengths ``(B,)``."""
    lengths = torch.tensor([t.shape[-1] for t in tensors], dtype=torch.long)
    width = int(lengths.max()) if len(tensors) else 0
    out = tensors[0].new_full((len(tensors), *tensors[0].shape[:-1], width), value)
    for row, tensor in enumerate(tensors):
        out[row, ..., : tensor.shape[-1]] = tensor
    return out, lengths


def collate_text_mel(items: Sequence[dict], mel_pad: float = math.log(1e-5), frames_multiple: int = 1) -> Batch:
    """Pad TextMelDataset items into a Batch of tokens, mels and speakers.

    Args:
        items: dicts with "id", "tokens" (L,), "mel" (n_mels, frames), "speaker".
        mel_pad: value of padded mel frames (log-mel silence by default).
        frames_multiple: pad the frame axis up to a multiple of this (Tacotron's reduction factor).
    Returns:
        Batch with tokens (B, L_max), token_lengths, mels (B, n_mels, F), mel_lengths, speakers (B,).
    """
    if not items:
        raise ValueError("collate_text_mel: no items")
    tokens, token_lengths = _pad_stack([item["tokens"] for item in items], TOKEN_PAD)
    mels, mel_lengths = _pad_stack([item["mel"] for item in items], mel_pad)
    extra = -mels.shape[-1] % frames_multiple
    if extra:
        mels = torch.nn.functional.pad(mels, (0, extra), value=mel_pad)
    return Batch(ids=[item["id"] for item in items], tokens=tokens, token_lengths=token_lengths, mels=mels,
                 mel_lengths=mel_lengths, speakers=torch.tensor([item["speaker"] for item in items]))


def collate_audio_mel(items: Sequence[dict], mel_pad: float = math.log(1e-5)) -> Batch:
    """Pad AudioMelDataset items into a Batch: audio (B, T) padded with 0, mels (B, n_mels, F), speakers (B,).

    Items may carry ``"mel_context"`` (the same for all of them; see :class:`AudioMelDataset`).
    """
    if not items:
        raise ValueError("collate_audio_mel: no items")
    contexts = {item.get("mel_context", 0) for item in items}
    if len(contexts) > 1:
        raise ValueError(f"collate_audio_mel: items with different mel context ({sorted(contexts)})")
    audio, audio_lengths = _pad_stack([item["audio"] for item in items], 0.0)
    mels, mel_lengths = _pad_stack([item["mel"] for item in items], mel_pad)
    return Batch(ids=[item["id"] for item in items], mels=mels, mel_lengths=mel_lengths, audio=audio,
                 audio_lengths=audio_lengths, speakers=torch.tensor([item["speaker"] for item in items]),
                 mel_context=contexts.pop())


def _features(features: str | Path | FeatureSet) -> FeatureSet:
    return features if isinstance(features, FeatureSet) else FeatureSet(features)


class TextMelDataset(torch.utils.data.Dataset):
    """Tacotron data: each item is ``{"id", "tokens" (L,) long, "mel" (n_mels, frames), "speaker"}``.

    ``lengths`` (mel frames per item) feeds :class:`LengthBucketSampler`; ``collate`` builds a Batch.
    """

    collate = staticmethod(collate_text_mel)

    def __init__(self, features_dir: str | Path | FeatureSet, split: str | None = "train"):
        self.features = _features(features_dir)
        self.items = self.features.items(split)
        self.lengths = [item.frames for item in self.items]
        # Pad mels with log(log_floor), the value silence has, rather than 0 (a loud frame).
        self.collate = functools.partial(collate_text_mel, mel_pad=math.log(self.features.audio_config.log_floor))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        item = self.items[index]
        return {"id": item.id, "tokens": torch.tensor(item.tokens, dtype=torch.long),
                "mel": self.features.load_mel(item), "speaker": item.speaker}


class AudioMelDataset(torch.utils.data.Dataset):
    """WaveNet data: aligned audio and mel windows, ``{"id", "audio" (T,), "mel" (n_mels, F), "speaker"}``.

    With ``window_frames`` set, each item is a window of ``F = window_frames`` mel frames starting at a
    random frame s, and the audio samples ``[s * hop, (s + window_frames) * hop)`` (``T = F * hop``).
    The offset comes from a generator seeded by ``(seed, epoch, index)``, so after ``set_epoch`` a
    resumed run sees exactly the windows it would have seen. Utterances shorter than the window are
    returned whole (collate pads them and records their lengths). ``window_frames=None`` returns
    whole utterances, e.g. for validation.

    ``context_frames = c`` adds the c mel frames before and after the window (zeros beyond the
    utterance, as a generator pads): a model whose conditioning reaches c frames then sees the same
    conditioning for the window's samples as for the whole utterance. Items carry ``"mel_context": c``.
    """

    collate = staticmethod(collate_audio_mel)

    def __init__(self, features_dir: str | Path | FeatureSet, split: str | None = "train",
                 window_frames: int | None = None, seed: int = 0, context_frames: int = 0):
        if window_frames is not None and window_frames < 1:
            raise ConfigError(f"window_frames: expected a positive integer or None, got {window_frames}")
        if context_frames < 0:
            raise ConfigError(f"context_frames: expected an integer >= 0, got {context_frames}")
        self.context_frames = context_frames
        self.features = _features(features_dir)
        self.items = self.features.items(split)
        self.window_frames = window_frames
        self.seed = seed
        self.epoch = 0
        self.hop_length = self.features.audio_config.hop_length
        self.lengths = [item.frames if window_frames is None else min(item.frames, window_frames)
                        for item in self.items]
        self.collate = functools.partial(collate_audio_mel, mel_pad=math.log(self.features.audio_config.log_floor))

    def set_epoch(self, epoch: int) -> None:
        """Draw the windows of ``epoch`` (call before iterating, as with DistributedSampler)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def window_start(self, index: int) -> int:
        """First mel frame of item ``index``'s window this epoch."""
        item = self.items[index]
        if self.window_frames is None or item.frames <= self.window_frames:
            return 0
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return int(rng.integers(0, item.frames - self.window_frames + 1))

    def __getitem__(self, index: int) -> dict:
        item = self.items[index]
        start = self.window_start(index)
        stop = item.frames if self.window_frames is None else min(item.frames, start + self.window_frames)
        c = self.context_frames
        mel = self.features.load_mel(item, max(0, start - c), stop + c)  # (n_mels, F + up to 2c)
        if c:
            mel = torch.nn.functional.pad(mel, (max(0, c - start), max(0, stop + c - item.frames)))
        audio = self.features.load_audio(item, start * self.hop_length, stop * self.hop_length)  # (F * hop,)
        return {"id": item.id, "audio": audio, "mel": mel, "speaker": item.speaker, "mel_context": c}


def window_datasets(features_dir: str | Path, config, window_frames: int, context_frames: int = 0
                    ) -> tuple[AudioMelDataset, AudioMelDataset, Any]:
    """Train and validation :class:`AudioMelDataset` of ``window_frames``-frame windows, and their collate.

    Training draws new windows every epoch; validation always sees the same ones (epoch 0).
    ``context_frames``: mel frames added on each side of a window (see :class:`AudioMelDataset`).

    Raises:
        ConfigError: the features were made with other audio settings than ``config.audio``.
    """
    train = AudioMelDataset(features_dir, "train", window_frames, config.train.seed, context_frames)
    val = AudioMelDataset(features_dir, "val", window_frames, config.train.seed + 1, context_frames)
    stored = train.features.audio_config
    if stored.feature_hash() != config.audio.feature_hash():
        raise ConfigError(f"{features_dir}: features were made with {stored.describe()}, the config asks for "
                          f"{config.audio.describe()}; preprocess again or use the features' audio settings")
    return train, val, train.collate


class LengthBucketSampler(torch.utils.data.Sampler[list[int]]):
    """Batch sampler: batches of similar lengths, reshuffled per epoch, split evenly across DDP ranks.

    Each epoch, indices are shuffled from ``(seed, epoch)``, cut into chunks of ``bucket_batches``
    batches, sorted by length within a chunk (so padding stays small but batches still vary), cut
    into batches, and the batch order is shuffled. Rank r takes batches r, r + R, ...; batches left
    over when their count is not a multiple of R are pooled and split into R smaller batches, so
    every rank gets the same number of batches and no index is seen twice (unless fewer items than
    ranks are left, when some repeat). ``drop_last`` drops the short batch and the left-over ones.
    Without ``shuffle``, batches follow ascending length, the same every epoch.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True, seed: int = 0,
                 num_replicas: int = 1, rank: int = 0, drop_last: bool = False, bucket_batches: int = 32):
        if batch_size < 1:
            raise ConfigError(f"batch_size: expected a positive integer, got {batch_size}")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ConfigError(f"rank {rank} / num_replicas {num_replicas}: expected 0 <= rank < num_replicas")
        if bucket_batches < 1:
            raise ConfigError(f"bucket_batches: expected a positive integer, got {bucket_batches}")
        self.lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.num_replicas, self.rank, self.drop_last = num_replicas, rank, drop_last
        self.bucket_batches = bucket_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _counts(self) -> tuple[int, int]:
        """(full rounds of R batches, extra batches per rank from the pooled left-overs)."""
        count = len(self.lengths)
        batches = count // self.batch_size if self.drop_last else math.ceil(count / self.batch_size)
        rounds = batches // self.num_replicas
        leftover = batches - rounds * self.num_replicas
        return rounds, int(leftover > 0 and not self.drop_last)

    def __len__(self) -> int:
        rounds, extra = self._counts()
        return rounds + extra

    def _all_batches(self) -> list[np.ndarray]:
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch])
            order = rng.permutation(len(self.lengths))
        else:
            rng, order = None, np.arange(len(self.lengths))
        chunk = self.batch_size * self.bucket_batches
        batches = []
        for begin in range(0, len(order), chunk):
            part = order[begin: begin + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches += [part[i: i + self.batch_size] for i in range(0, len(part), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._all_batches()
        rounds, extra = self._counts()
        replicas = self.num_replicas
        mine = batches[self.rank: rounds * replicas: replicas]
        if extra:
            pool = np.concatenate(batches[rounds * replicas:])
            if len(pool) < replicas:  # too few items left for every rank: repeat some
                pool = np.resize(pool, replicas)
            mine.append(np.array_split(pool, replicas)[self.rank])
        for batch in mine:
            yield [int(index) for index in batch]
