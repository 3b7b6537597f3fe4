"""Reading and writing audio files: any format libsndfile reads, mono float32, soxr resampling.

``load`` returns a 1-D float32 tensor in [-1, 1] and its sample rate; ``save`` writes
16-bit PCM (by default) atomically, so a crash never leaves half a wav file behind.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

from ..errors import AudioError
from ..io import atomic_path

# Suffixes whose libsndfile format name is not simply the upper-cased suffix.
_SUFFIX_FORMATS = {"aif": "AIFF", "aifc": "AIFF", "snd": "AU", "oga": "OGG", "opus": "OGG"}
# The suffixes named when a file cannot be written, most common first.
_COMMON_SUFFIXES = ("wav", "flac", "ogg", "mp3", "aiff", "au", "caf", "w64", "rf64")
DEFAULT_SUBTYPE = "PCM_16"


def load(path: str | Path, sample_rate: int | None = None) -> tuple[torch.Tensor, int]:
    """Read an audio file as mono float32, resampled with soxr when ``sample_rate`` differs.

    Args:
        path: any file libsndfile reads (wav, flac, ogg/vorbis, mp3, aiff, ...).
        sample_rate: the rate wanted in Hz; ``None`` keeps the file's own rate.

    Returns:
        ``(audio, rate)``: audio ``(T,)`` float32, channels averaged to mono, and its rate in Hz.

    Raises:
        AudioError: the file is missing, is not readable audio, is empty or holds NaN/inf samples.
    """
    path = Path(path)
    if sample_rate is not None and (isinstance(sample_rate, bool) or not isinstance(sample_rate, int)
                                    or sample_rate <= 0):
        raise AudioError(f"{path}: sample_rate must be a positive integer, got {sample_rate!r}")
    if not path.exists():
        raise AudioError(f"{path}: audio file not found")
    if path.is_dir():
        raise AudioError(f"{path}: expected an audio file, found a folder")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)  # (T, C)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as err:
        reason = getattr(err, "error_string", None) or str(err).splitlines()[0]
        raise AudioError(f"{path}: not a readable audio file ({reason})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: empty audio file (0 samples)")
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(mono).all():
        raise AudioError(f"{path}: audio holds NaN or infinite samples")
    if sample_rate is not None and sample_rate != rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ")
        rate = sample_rate
        if mono.shape[0] == 0:
            raise AudioError(f"{path}: too short to resample to {sample_rate} Hz")
    return torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32)), int(rate)


def save(path: str | Path, audio: torch.Tensor | np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> None:
    """Write audio atomically, clipped to [-1, 1]; the format follows the suffix of ``path``.

    Args:
        path: target file; ``.wav`` (default subtype 16-bit PCM), ``.flac``, ... A format that cannot
            hold 16-bit PCM (``.mp3``, ``.ogg``) is written in its own coding when ``subtype`` is the default.
        audio: ``(T,)`` mono or ``(C, T)`` channel-first, float.
        sample_rate: in Hz.
        subtype: libsndfile subtype, e.g. ``PCM_16``, ``PCM_24``, ``FLOAT``.

    Raises:
        AudioError: unknown suffix, a subtype the format cannot hold, bad shape or NaN/inf samples.
    """
    path = Path(path)
    fmt = _format_for(path)
    if not sf.check_format(fmt, subtype):
        own = sf.default_subtype(fmt)
        if subtype == DEFAULT_SUBTYPE and own and sf.check_format(fmt, own):
            subtype = own  # a compressed format (.mp3, .ogg) in its own coding, not 16-bit PCM
        else:
            raise AudioError(f"{path}: cannot write {subtype} audio to {fmt} files; formats that hold it: "
                             f"{', '.join(writable_suffixes(subtype))}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise AudioError(f"{path}: sample_rate must be a positive integer, got {sample_rate!r}")
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().to("cpu", torch.float32).numpy()
    data = np.asarray(audio, dtype=np.float32)
    if data.ndim not in (1, 2):
        raise AudioError(f"{path}: expected audio shaped (T,) or (C, T), got shape {tuple(data.shape)}")
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: audio holds NaN or infinite samples")
    data = np.clip(data, -1.0, 1.0)
    if data.ndim == 2:
        data = data.T  # soundfile wants (T, C)
    with atomic_path(path) as tmp:
        # The temporary name ends in ".tmp.wav" etc., but pass the format anyway: it must not be guessed.
        sf.write(str(tmp), data, int(sample_rate), subtype=subtype, format=fmt)


def _format_for(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    fmt = _SUFFIX_FORMATS.get(suffix, suffix.upper())
    if not suffix or fmt not in sf.available_formats():
        raise AudioError(f"{path}: cannot tell the audio format from the suffix; wavetron writes "
                         f"{', '.join(writable_suffixes())}")
    return fmt


def writable_suffixes(subtype: str | None = None) -> list[str]:
    """The common suffixes this libsndfile writes (holding ``subtype``, when given), e.g. ``['.wav', '.flac']``."""
    formats = sf.available_formats()
    out = []
    for suffix in _COMMON_SUFFIXES:
        fmt = _SUFFIX_FORMATS.get(suffix, suffix.upper())
        if fmt in formats and (subtype is None or sf.check_format(fmt, subtype)):
            out.append(f".{suffix}")
    return out
