"""How voiced a frame sounds, from the log-mel alone: the prominence of harmonic structure in the low bands.

The vocoder sees only the mel, so the voicing that steers its sampling (see ``generate(..., sharpen=)``)
has to come from it. LPCNet sharpens its excitation distribution by its pitch correlation (logits times
``1 + max(0, 1.5 g - 0.5)``, Valin & Skoglund 2019) and FFTNet scales the logits in voiced frames
(Jin et al. 2018); both read a pitch feature the mel does not carry. What the mel does carry, below
about 1.5 kHz, is the harmonics themselves: with the voice's settings (1024-point window at 16 kHz,
80 Slaney bands) the low bands are 37 Hz apart, so a 100-250 Hz voice leaves a ripple of one harmonic
every 3 to 7 bands, which noise (a fricative, breath, silence) does not.

The measure is a matched filter: each frame's low bands, with their smooth envelope removed (a Gaussian
of :data:`ENVELOPE_HZ` along frequency subtracted), are compared by cosine similarity with the same
bands of ideal pulse trains at :data:`F0_CANDIDATES` fundamentals, made with the same filterbank, and
the best match is mapped linearly from [:data:`UNVOICED_SCORE`, :data:`VOICED_SCORE`] to [0, 1].
Spectral tilt or flatness would also separate vowels from fricatives, but not from a low-passed noise
(breath, a voiced-looking envelope without periodicity); the harmonic ripple is the part of the mel that
is specific to periodic excitation, which is what a sharper excitation distribution helps.

Measured on 8 held-out sentences of the shipped voice against librosa's pYIN voicing decision
(1,804 frames, 74% voiced; the settings above were chosen on them): ROC AUC 0.967; median score 0.89 in
voiced frames, 0.38 in unvoiced ones, 0.42 on white noise; mean strength 0.84 in voiced frames and 0.02
in unvoiced ones. Every frame is scored on its own (no look-ahead or smoothing in time), so a folded
segment gets the values the whole utterance would.

Shapes: log-mel ``(B, n_mels, F)`` or ``(n_mels, F)`` -> strength ``(B, F)`` or ``(F,)`` in [0, 1].
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..config import AudioConfig
from .features import mel_spectrogram

MAX_HZ = 1500.0  # bands whose centre lies below this are read: where harmonics are resolved
ENVELOPE_HZ = 110.0  # standard deviation of the Gaussian that estimates the envelope along frequency
F0_CANDIDATES = 70.0 * (400.0 / 70.0) ** np.linspace(0.0, 1.0, 90)  # 70-400 Hz, 2% apart
UNVOICED_SCORE = 0.5  # best cosine similarity at or below which a frame counts as unvoiced
VOICED_SCORE = 0.8  # ... and at or above which as fully voiced
_EPS = 1e-3  # in log units: a flat frame (silence at the floor) scores 0 instead of 0 / 0


def _key(config: AudioConfig) -> tuple:
    return (config.sample_rate, config.n_fft, config.hop_length, config.win_length, config.n_mels,
            float(config.f_min), None if config.f_max is None else float(config.f_max), config.power,
            config.mel_norm, config.htk, config.center, config.pad_mode, config.log_floor)


def _hz_to_mel(hz: np.ndarray, htk: bool) -> np.ndarray:
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    # Slaney's scale (librosa's default): linear below 1 kHz, logarithmic above
    log_part = 15.0 + np.log(np.maximum(hz, 1000.0) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz < 1000.0, hz * 3.0 / 200.0, log_part)


def _mel_to_hz(mel: np.ndarray, htk: bool) -> np.ndarray:
    if htk:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    return np.where(mel < 15.0, mel * 200.0 / 3.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)))


def band_centres(config: AudioConfig) -> np.ndarray:
    """Centre frequency in Hz of every mel band ``(n_mels,)``, as ``librosa.mel_frequencies`` places them."""
    f_max = config.f_max if config.f_max is not None else config.sample_rate / 2
    low, high = (_hz_to_mel(np.float64(f), config.htk) for f in (config.f_min, f_max))
    edges = np.linspace(low, high, config.n_mels + 2)
    return _mel_to_hz(edges, config.htk)[1:-1]


_FILTERS: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def _filters(config: AudioConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """``(detrend (n, n), templates (n_f0, n))``: the envelope remover and the unit-norm detrended pulse trains.

    Built once per audio setting (90 frames of pulse trains, a few milliseconds).
    """
    key = _key(config)
    if key not in _FILTERS:
        _FILTERS[key] = _build_filters(config)
    return _FILTERS[key]


def _build_filters(config: AudioConfig) -> tuple[torch.Tensor, torch.Tensor]:
    centres = band_centres(config)
    n = int((centres < MAX_HZ).sum())
    if n < 6:
        raise ValueError(f"only {n} mel bands lie below {MAX_HZ:.0f} Hz: too few to see harmonics "
                         f"({config.describe()})")
    c = torch.from_numpy(centres[:n])
    smooth = torch.exp(-0.5 * ((c[:, None] - c[None, :]) / ENVELOPE_HZ) ** 2)
    detrend = torch.eye(n, dtype=torch.float64) - smooth / smooth.sum(dim=1, keepdim=True)
    # one analysis frame of a band-limited pulse train per candidate (every harmonic below Nyquist, equal
    # amplitude), through the same window and filterbank as the mels: uncentred, so each row is one frame
    rate = config.sample_rate
    t = torch.arange(config.n_fft, dtype=torch.float64) / rate
    waves = []
    for f0 in F0_CANDIDATES:
        k = torch.arange(1, int(rate / 2 / f0) + 1, dtype=torch.float64)
        wave = torch.cos(2 * np.pi * f0 * t[:, None] * k[None, :]).sum(dim=1)
        waves.append(wave / wave.abs().max())
    one_frame = dataclasses.replace(config, center=False)
    rows = mel_spectrogram(torch.stack(waves).float(), one_frame)[:, :n, 0].double()  # (n_f0, n)
    templates = rows @ detrend.T  # (n_f0, n)
    templates = templates / templates.norm(dim=1, keepdim=True)
    return detrend.float(), templates.float()


def harmonic_score(log_mel: torch.Tensor, config: AudioConfig) -> torch.Tensor:
    """The best cosine similarity of each frame's detrended low bands with a pulse train's: ``(B, F)`` in [-1, 1].

    Args: log_mel ``(B, n_mels, F)`` or ``(n_mels, F)``, made with ``config`` (natural log).
    """
    if log_mel.shape[-2] != config.n_mels:
        raise ValueError(f"log-mel has {log_mel.shape[-2]} bands, the audio settings {config.n_mels}")
    detrend, templates = _filters(config)
    n = detrend.shape[0]
    low = log_mel[..., :n, :].float().transpose(-1, -2) @ detrend.T.to(log_mel.device)  # (B, F, n)
    cosine = (low @ templates.T.to(log_mel.device)) / (low.norm(dim=-1, keepdim=True) + _EPS)
    return cosine.max(dim=-1).values


def voicing_strength(log_mel: torch.Tensor, config: AudioConfig) -> torch.Tensor:
    """How voiced each frame is, 0 (noise, silence) to 1 (clear harmonics): ``(B, F)`` float32.

    Args: log_mel ``(B, n_mels, F)`` or ``(n_mels, F)`` made with ``config``.
    """
    score = harmonic_score(log_mel, config)
    return ((score - UNVOICED_SCORE) / (VOICED_SCORE - UNVOICED_SCORE)).clamp(0.0, 1.0)
