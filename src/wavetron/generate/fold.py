"""Batched generation of several utterances, and folded generation of one long utterance.

Folding (as in WaveRNN's batched inference) cuts one mel into overlapping segments, generates them
as one batch, one stream each, then cross-fades the overlaps. Each segment starts from silence; the
overlap gives it ``overlap_frames`` of audio to settle before its output is heard.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from . import generate


def _pad_frames(mel: torch.Tensor, frames: int) -> torch.Tensor:
    """Right-pad ``(n_mels, F)`` to ``frames`` by repeating the last frame (no step into silence)."""
    if mel.shape[-1] >= frames:
        return mel[:, :frames]
    return torch.cat([mel, mel[:, -1:].expand(-1, frames - mel.shape[-1])], dim=1)


def generate_batch(model, mels: Sequence[torch.Tensor], speakers: Sequence[int] | torch.Tensor | None = None,
                   method: str = "auto", temperature: float = 1.0, seed: int = 0,
                   threads: int | None = None, precision: str = "auto", sharpen: float = 0.0) -> list[torch.Tensor]:
    """Vocode several utterances at once, one stream each (arguments as :func:`generate`).

    Args:
        mels: ``(n_mels, F_i)`` per utterance (any lengths). speakers: one id per utterance.
    Returns: one waveform ``(F_i * hop,)`` per utterance.
    """
    if not mels:
        return []
    hop = model.dims.hop_length
    longest = max(m.shape[-1] for m in mels)
    batch = torch.stack([_pad_frames(m, longest) for m in mels])  # (B, n_mels, F_max)
    ids = torch.as_tensor(speakers) if speakers is not None else None
    out = generate(model, batch, ids, method=method, temperature=temperature, seed=seed, threads=threads,
                   precision=precision, sharpen=sharpen).audio
    return [out[i, :m.shape[-1] * hop] for i, m in enumerate(mels)]


def fold_plan(frames: int, segment_frames: int, overlap_frames: int) -> list[int]:
    """First frame of every segment so that segments of ``segment_frames`` cover ``frames``."""
    if overlap_frames < 0 or segment_frames <= overlap_frames:
        raise ValueError(f"segment_frames ({segment_frames}) must exceed overlap_frames ({overlap_frames})")
    step = segment_frames - overlap_frames
    count = max(1, math.ceil(max(0, frames - overlap_frames) / step))
    return [i * step for i in range(count)]


def generate_folded(model, mel: torch.Tensor, speaker: int | None = None, segment_frames: int = 64,
                    overlap_frames: int = 8, method: str = "auto", temperature: float = 1.0, seed: int = 0,
                    threads: int | None = None, precision: str = "auto", sharpen: float = 0.0) -> torch.Tensor:
    """Vocode one long utterance as a batch of overlapping segments, cross-faded.

    Args:
        mel: ``(n_mels, F)``.
        segment_frames: frames per segment (including the overlap).
        overlap_frames: frames shared by neighbouring segments; a linear cross-fade spans them.
    Returns: ``(F * hop,)`` waveform.
    """
    return generate_folded_batch(model, [mel], None if speaker is None else [speaker], segment_frames,
                                 overlap_frames, method, temperature, seed, threads, precision, sharpen)[0]


def generate_folded_batch(model, mels: Sequence[torch.Tensor], speakers: Sequence[int] | None = None,
                          segment_frames: int = 64, overlap_frames: int = 8, method: str = "auto",
                          temperature: float = 1.0, seed: int = 0, threads: int | None = None,
                          precision: str = "auto", sharpen: float = 0.0) -> list[torch.Tensor]:
    """Fold several utterances at once: the segments of all of them are generated as one batch.

    Args:
        mels: ``(n_mels, F_i)`` per utterance. speakers: one id per utterance (speaker-conditioned models).
    Returns: one waveform ``(F_i * hop,)`` per utterance.
    """
    if not mels:
        return []
    hop = model.dims.hop_length
    plans = [fold_plan(mel.shape[-1], segment_frames, overlap_frames) for mel in mels]
    segments = torch.stack([_pad_frames(mel[:, s:s + segment_frames], segment_frames)
                            for mel, starts in zip(mels, plans) for s in starts])
    ids = None
    if speakers is not None:
        ids = torch.tensor([int(spk) for spk, starts in zip(speakers, plans) for _ in starts])
    # the voicing of a frame is read off that frame alone: a segment's temperatures are the utterance's
    audio = generate(model, segments, ids, method=method, temperature=temperature, seed=seed, threads=threads,
                     precision=precision, sharpen=sharpen).audio.cpu()  # (segments, segment_frames * hop)
    fade = overlap_frames * hop
    ramp = torch.linspace(0.0, 1.0, fade + 2)[1:-1] if fade else torch.zeros(0)
    waves, row = [], 0
    for mel, starts in zip(mels, plans):
        out = torch.zeros((starts[-1] + segment_frames) * hop)
        for i, s in enumerate(starts):
            piece = audio[row + i].clone()
            if i > 0 and fade:
                piece[:fade] *= ramp
            if i < len(starts) - 1 and fade:
                piece[-fade:] *= 1.0 - ramp
            out[s * hop:s * hop + piece.shape[0]] += piece
        waves.append(out[:mel.shape[-1] * hop])
        row += len(starts)
    return waves
