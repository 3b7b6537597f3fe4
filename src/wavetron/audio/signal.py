"""Waveform edits: silence trimming, peak and loudness normalisation, mu-law companding.

All functions take ``(T,)`` or ``(B, T)`` float tensors and keep their device and dtype.
"""
from __future__ import annotations

import math

import librosa
import numpy as np
import torch


def trim_silence(audio: torch.Tensor, top_db: float = 60.0, frame_length: int = 2048,
                 hop_length: int = 512) -> torch.Tensor:
    """Cut leading and trailing silence, as ``librosa.effects.trim``.

    A frame is silent when its RMS is more than ``top_db`` below the loudest frame.

    Args:
        audio: ``(T,)`` waveform.
        top_db: threshold in dB below the peak frame.
        frame_length, hop_length: analysis frames in samples.

    Returns:
        ``(T',)`` a view of ``audio`` from the first to the last non-silent frame; empty when
        every frame is silent (all zeros), so callers can skip the item.
    """
    if audio.ndim != 1:
        raise ValueError(f"trim_silence expects audio shaped (T,), got {tuple(audio.shape)}")
    if audio.numel() == 0:
        return audio
    samples = audio.detach().to("cpu", torch.float32).numpy()
    if not np.any(samples):
        return audio[:0]
    _, (start, end) = librosa.effects.trim(samples, top_db=top_db, frame_length=frame_length,
                                           hop_length=hop_length)
    return audio[int(start):int(end)]


def normalize_peak(audio: torch.Tensor, peak: float = 0.95) -> torch.Tensor:
    """Scale so that ``max |audio| == peak`` (each row of a batch on its own); silence is returned as is.

    Args:
        audio: ``(T,)`` or ``(B, T)``.
        peak: target absolute peak in (0, 1].
    """
    if not 0 < peak <= 1:
        raise ValueError(f"peak must be in (0, 1], got {peak}")
    top = audio.abs().amax(dim=-1, keepdim=True)
    gain = torch.where(top > 0, peak / top.clamp_min(torch.finfo(audio.dtype).tiny), torch.ones_like(top))
    return audio * gain


def normalize_loudness(audio: torch.Tensor, target_db: float = -23.0) -> torch.Tensor:
    """Scale to an RMS level of ``target_db`` dBFS, limited so that the peak never passes 1.0.

    A full-scale sine has an RMS of -3 dBFS under this definition (RMS relative to 1.0).
    When the target gain would clip, the gain is reduced to bring the peak to exactly 1.0,
    so the result is then quieter than asked; silence is returned as is.

    Args:
        audio: ``(T,)`` or ``(B, T)``.
        target_db: RMS level in dB relative to full scale, e.g. -23.
    """
    rms = audio.pow(2).mean(dim=-1, keepdim=True).sqrt()
    top = audio.abs().amax(dim=-1, keepdim=True)
    tiny = torch.finfo(audio.dtype).tiny
    gain = (10.0 ** (target_db / 20.0)) / rms.clamp_min(tiny)
    gain = torch.minimum(gain, 1.0 / top.clamp_min(tiny))  # clip-safe
    return audio * torch.where(rms > 0, gain, torch.ones_like(gain))


def mulaw_encode(audio: torch.Tensor, channels: int = 256) -> torch.Tensor:
    """Mu-law compand and quantise audio in [-1, 1] to integers in ``[0, channels - 1]``.

    ``y = sign(x) ln(1 + mu |x|) / ln(1 + mu)`` with ``mu = channels - 1`` (ITU-T G.711,
    as WaveNet uses it), then ``y`` in [-1, 1] is mapped to the nearest of ``channels`` levels.
    Inputs outside [-1, 1] are clipped.

    Returns:
        LongTensor of the input's shape.
    """
    if channels < 2:
        raise ValueError(f"channels must be >= 2, got {channels}")
    mu = channels - 1
    x = audio.clamp(-1.0, 1.0)
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return torch.round((y + 1.0) * 0.5 * mu).long().clamp_(0, mu)


def mulaw_decode(codes: torch.Tensor, channels: int = 256) -> torch.Tensor:
    """Inverse of :func:`mulaw_encode`: integers in ``[0, channels - 1]`` to float audio in [-1, 1].

    Returns:
        float32 tensor of the input's shape (float64 input codes give float64).
    """
    if channels < 2:
        raise ValueError(f"channels must be >= 2, got {channels}")
    mu = channels - 1
    dtype = codes.dtype if codes.is_floating_point() else torch.float32
    y = 2.0 * codes.to(dtype) / mu - 1.0
    # expm1 keeps precision for the many codes near zero, where (1 + mu)^|y| - 1 is tiny.
    return torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu
