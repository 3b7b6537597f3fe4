"""Features of one dataset item: text -> token ids, wav -> processed audio and its log-mel.

Runs inside pool workers, so everything it needs travels in a picklable :class:`ItemJob`
and every failure comes back as a :class:`BadItem` instead of an exception.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import AudioConfig, DataConfig, TextConfig
from ..errors import WavetronError
from ..io import atomic_save_npy
from .metadata import BadItem, MetadataEntry

AUDIO_DIR = "audio"
MEL_DIR = "mels"


@dataclass(frozen=True)
class ItemJob:
    """Everything a worker needs to process one item."""

    entry: MetadataEntry
    wav_path: Path
    out_dir: Path
    audio: AudioConfig
    text: TextConfig
    data: DataConfig
    resume: bool  # reuse feature files that already exist


@dataclass(frozen=True)
class ItemFeatures:
    """The manifest fields of a processed item (the split and speaker index are added later)."""

    id: str
    text: str
    normalized_text: str
    speaker: str
    samples: int
    frames: int
    tokens: list[int]
    reused: bool  # the feature files were already there


def feature_paths(out_dir: Path, item_id: str) -> tuple[Path, Path]:
    """``(audio/<id>.npy, mels/<id>.npy)`` inside a features folder."""
    return out_dir / AUDIO_DIR / f"{item_id}.npy", out_dir / MEL_DIR / f"{item_id}.npy"


def init_worker() -> None:
    """Pool initializer: one torch thread per process, since the pool already uses every core."""
    import torch

    torch.set_num_threads(1)


def process_item(job: ItemJob) -> ItemFeatures | BadItem:
    """Tokens, processed audio and log-mel of one item; writes ``audio/<id>.npy`` then ``mels/<id>.npy``."""
    entry = job.entry
    try:
        normalized, tokens = _tokens(entry, job.text)
        audio_path, mel_path = feature_paths(job.out_dir, entry.id)
        shape = _existing_shape(audio_path, mel_path, job.audio) if job.resume else None
        if shape is None:
            samples, frames = _compute(job, audio_path, mel_path)
        else:
            samples, frames = shape
            _check_duration(samples, job.audio.sample_rate, job.data)
    except WavetronError as err:
        return BadItem(entry.id, " ".join(str(err).split()))
    except Exception as err:  # one odd file must not stop a run over thousands; it is reported instead
        return BadItem(entry.id, f"unexpected {type(err).__name__}: {' '.join(str(err).split())}")
    return ItemFeatures(entry.id, entry.text, normalized, entry.speaker, samples, frames, tokens,
                        reused=shape is not None)


def _tokens(entry: MetadataEntry, config: TextConfig) -> tuple[str, list[int]]:
    from ..errors import TextError
    from ..text import normalize_text, text_to_ids

    normalized = normalize_text(entry.normalized_text).strip()
    if not normalized:
        raise TextError("text empty after cleaning")
    try:
        tokens = [int(token) for token in text_to_ids(normalized, config)]
    except TextError:
        raise
    except Exception as err:  # a front-end failure on one line must not stop the run
        raise TextError(f"text could not be turned into symbols ({err})") from None
    if not tokens:
        raise TextError("text has no symbols after cleaning")
    return normalized, tokens


def _compute(job: ItemJob, audio_path: Path, mel_path: Path) -> tuple[int, int]:
    """Load, trim, normalise and pad the wav, compute its mel, write both. Returns (samples, frames)."""
    import torch

    from .. import audio as audio_lib

    signal = _load(job.wav_path, job.audio.sample_rate)
    data = job.data
    if data.trim_db is not None:
        signal = audio_lib.trim_silence(signal, data.trim_db)
        if signal.numel() == 0:
            raise _audio_error(f"{job.wav_path.name}: silent (nothing left after trimming at {data.trim_db:g} dB)")
    hop = job.audio.hop_length
    # The contract: samples == frames * hop, so mel frame f lines up with samples [f*hop, (f+1)*hop).
    frames = math.ceil(signal.numel() / hop)
    samples = frames * hop
    _check_duration(samples, job.audio.sample_rate, data)
    if data.normalize == "peak":
        signal = audio_lib.normalize_peak(signal, data.peak)
    elif data.normalize == "loudness":
        signal = audio_lib.normalize_loudness(signal, data.loudness_db)
    # Loudness gain can push peaks past full scale; mu-law and int16 exports need [-1, 1].
    signal = torch.nn.functional.pad(signal.float().clamp(-1.0, 1.0), (0, samples - signal.numel()))
    mel = mel_of_processed(signal, job.audio)
    atomic_save_npy(audio_path, signal.numpy().astype(np.float32))
    atomic_save_npy(mel_path, mel.numpy().astype(np.float32))  # written last: its presence marks a complete item
    return samples, frames


def mel_of_processed(signal, config: AudioConfig):
    """Log-mel ``(n_mels, frames)`` of processed audio ``(frames * hop,)``: frame f starts at sample f*hop.

    With ``center=True`` the STFT yields ``frames + 1`` frames and the last one (centred past the end)
    is dropped; with ``center=False`` the tail is zero-padded so the last window fits.
    """
    import torch

    from ..audio import mel_spectrogram

    frames = signal.numel() // config.hop_length
    if not config.center:
        short = (frames - 1) * config.hop_length + config.n_fft - signal.numel()
        signal = torch.nn.functional.pad(signal, (0, max(short, 0)))
    mel = mel_spectrogram(signal, config, log=True)
    mel = mel.reshape(mel.shape[-2], mel.shape[-1])
    return mel[:, :frames].contiguous()


def _load(path: Path, sample_rate: int):
    """Mono float audio ``(T,)`` at ``sample_rate``, or an AudioError saying what is wrong with the file."""
    import torch

    from ..audio import load

    if not path.exists():
        raise _audio_error(f"missing file {path.parent.name}/{path.name}")
    if path.stat().st_size == 0:
        raise _audio_error(f"{path.name}: empty file (0 bytes)")
    try:
        signal, _ = load(path, sample_rate)
    except WavetronError as err:  # the folder is the same for every item: name the file relative to it
        raise type(err)(str(err).replace(str(path), f"{path.parent.name}/{path.name}")) from None
    except Exception as err:  # libsndfile and friends raise many types for a non-audio file
        raise _audio_error(f"{path.name}: not readable as audio ({' '.join(str(err).split())})") from None
    signal = torch.as_tensor(signal).float().reshape(-1)
    if signal.numel() == 0:
        raise _audio_error(f"{path.name}: no audio samples (zero-length wav)")
    return signal


def _check_duration(samples: int, sample_rate: int, data: DataConfig) -> None:
    seconds = samples / sample_rate
    if seconds < data.min_seconds:
        raise _audio_error(f"too short: {seconds:.2f} s < data.min_seconds {data.min_seconds:g} s")
    if seconds > data.max_seconds:
        raise _audio_error(f"too long: {seconds:.2f} s > data.max_seconds {data.max_seconds:g} s")


def _existing_shape(audio_path: Path, mel_path: Path, config: AudioConfig) -> tuple[int, int] | None:
    """(samples, frames) of complete, consistent feature files, else None (recompute)."""
    if not (audio_path.is_file() and mel_path.is_file()):
        return None
    try:
        audio = np.load(audio_path, mmap_mode="r")
        mel = np.load(mel_path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    if audio.ndim != 1 or mel.ndim != 2 or mel.shape[0] != config.n_mels:
        return None
    if audio.shape[0] != mel.shape[1] * config.hop_length or mel.shape[1] == 0:
        return None
    return int(audio.shape[0]), int(mel.shape[1])


def _audio_error(message: str) -> WavetronError:
    from ..errors import AudioError

    return AudioError(message)
