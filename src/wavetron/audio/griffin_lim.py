"""From spectrograms back to audio: mel inversion and (fast) Griffin-Lim phase recovery, in torch.

Griffin & Lim (1984) alternate between the magnitude constraint and STFT consistency;
the fast variant of Perraudin, Balazs & Sondergaard (2013) adds an inertia term
(``momentum``) that reaches a given spectral convergence in far fewer iterations.
All functions are batched and run on the device of their input.
"""
from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from ..config import AudioConfig
from .features import _center_pad, _framed_stft, _magnitude, _mel_basis, _window, mel_filterbank


def _overlap_add(chunks: torch.Tensor, hop: int) -> torch.Tensor:
    """Sum frames ``(B, frames, n)`` placed ``hop`` apart into ``(B, n + hop * (frames - 1))``."""
    batch, frames, n = chunks.shape
    total = n + hop * (frames - 1)
    if n % hop == 0:
        # n = k * hop (the usual case): k shifted slice-adds, much faster than fold on CPU.
        k = n // hop
        pieces = chunks.reshape(batch, frames, k, hop)
        out = chunks.new_zeros(batch, frames + k - 1, hop)
        for j in range(k):
            out[:, j:j + frames] += pieces[:, :, j]
        return out.reshape(batch, total)
    return F.fold(chunks.transpose(1, 2), output_size=(1, total), kernel_size=(1, n),
                  stride=(1, hop)).reshape(batch, total)


@functools.lru_cache(maxsize=64)
def _synthesis(n_fft: int, hop: int, win_length: int, frames: int, device: torch.device,
               dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The window padded to ``n_fft`` and the reciprocal of the summed squared windows (0 where it vanishes)."""
    offset = (n_fft - win_length) // 2  # the window sits in the middle of the frame
    window = F.pad(_window(win_length, device, dtype), (offset, n_fft - win_length - offset))
    envelope = _overlap_add((window * window).expand(1, frames, n_fft), hop)[0]
    # Where no window reaches (the edges with center=False) leave samples unscaled, as librosa does.
    tiny = torch.finfo(dtype).tiny
    scale = torch.where(envelope > tiny, 1.0 / envelope.clamp_min(tiny), torch.ones_like(envelope))
    return window, scale


def istft(spec: torch.Tensor, config: AudioConfig, length: int | None = None) -> torch.Tensor:
    """Inverse STFT by weighted overlap-add, the inverse of :func:`wavetron.audio.stft` (like ``librosa.istft``).

    Args:
        spec: complex ``(B, n_fft // 2 + 1, frames)``.
        length: output length in samples; default ``(frames - 1) * hop`` when centred.
    Returns:
        ``(B, T)`` real audio.
    """
    n_fft, hop = config.n_fft, config.hop_length
    frames = spec.shape[-1]
    window, scale = _synthesis(n_fft, hop, config.win_length, frames, spec.device, spec.real.dtype)
    chunks = torch.fft.irfft(spec.transpose(1, 2), n=n_fft) * window  # (B, frames, n_fft)
    signal = _overlap_add(chunks, hop) * scale  # (B, n_fft + hop * (frames - 1))
    total = signal.shape[-1]
    start = n_fft // 2 if config.center else 0
    end = total - n_fft // 2 if config.center else total
    if length is not None:
        end = start + length
    signal = signal[:, start:end]
    if length is not None and signal.shape[-1] < length:
        signal = F.pad(signal, (0, length - signal.shape[-1]))
    return signal


def _consistent(spec: torch.Tensor, config: AudioConfig) -> torch.Tensor:
    """STFT(ISTFT(spec)): the nearest consistent spectrogram, same shape ``(B, F, frames)``."""
    audio = istft(spec, config)
    padded = _center_pad(audio, config) if config.center else audio
    return _framed_stft(padded, config).transpose(1, 2)


def griffin_lim(magnitude: torch.Tensor, config: AudioConfig, n_iter: int = 60, momentum: float = 0.99,
                length: int | None = None, seed: int = 0) -> torch.Tensor:
    """Recover audio from an STFT magnitude by (fast) Griffin-Lim.

    Args:
        magnitude: ``|STFT|`` ``(B, n_fft // 2 + 1, frames)`` or ``(F, frames)``; with
            ``config.power == 2`` take the square root of :func:`linear_spectrogram` first.
        n_iter: iterations; 60 is usually enough with momentum.
        momentum: 0 gives plain Griffin-Lim; 0.99 the fast variant (Perraudin et al. 2013).
        length: output length in samples (default: as many as the frames cover).
        seed: seeds the random initial phase, so results are reproducible.
    Returns:
        ``(B, T)`` audio (``(T,)`` for unbatched input).
    """
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    batched = magnitude.ndim == 3
    mag = magnitude if batched else magnitude.unsqueeze(0)
    if mag.ndim != 3 or mag.shape[1] != config.n_fft // 2 + 1:
        raise ValueError(f"expected a magnitude shaped (B, {config.n_fft // 2 + 1}, frames), "
                         f"got {tuple(magnitude.shape)}")
    if not mag.is_floating_point():
        mag = mag.float()
    generator = torch.Generator().manual_seed(seed)
    phase = torch.rand(mag.shape, generator=generator, dtype=torch.float64).to(mag.device, mag.dtype)
    angles = torch.polar(torch.ones_like(mag), 2 * math.pi * phase)  # unit complex numbers
    inertia = momentum / (1 + momentum)
    eps = torch.finfo(mag.dtype).eps
    previous = torch.zeros_like(angles)
    for _ in range(n_iter):
        rebuilt = _consistent(mag * angles, config)
        angles = rebuilt - inertia * previous if momentum > 0 else rebuilt
        angles = angles / (_magnitude(angles, 1.0) + eps)
        previous = rebuilt
    audio = istft(mag * angles, config, length=length)
    return audio if batched else audio.squeeze(0)


@functools.lru_cache(maxsize=16)
def _pinv_cached(key: tuple, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    basis = _mel_basis(*key, torch.device("cpu"), torch.float64)  # pseudo-inverse in float64
    return torch.linalg.pinv(basis).to(device, dtype)  # (F, n_mels)


def _pinv(config: AudioConfig, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The cached pseudo-inverse ``(n_fft // 2 + 1, n_mels)`` of the mel filterbank."""
    key = (config.sample_rate, config.n_fft, config.n_mels, float(config.f_min),
           None if config.f_max is None else float(config.f_max), config.htk, config.mel_norm)
    return _pinv_cached(key, device, dtype)


def _nnls(basis: torch.Tensor, target: torch.Tensor, start: torch.Tensor, n_iter: int) -> torch.Tensor:
    """Accelerated projected gradient (FISTA, Beck & Teboulle 2009) for min ||basis x - target||, x >= 0.

    basis ``(M, F)``; target ``(B, M, frames)``; start ``(B, F, frames)``: every frame of every item is an
    independent problem, so the whole batch moves in two matrix products per iteration.
    """
    # Bins no filter touches (above f_max) have zero gradient: solve only for the others.
    used = int(torch.nonzero(basis.abs().sum(0)).max()) + 1 if basis.any() else basis.shape[1]
    basis = basis[:, :used]
    step = 1.0 / torch.linalg.matrix_norm(basis.double(), ord=2).item() ** 2  # 1 / Lipschitz constant
    x = start[:, :used]
    y = x
    t = 1.0
    for _ in range(n_iter):
        gradient = basis.T @ (basis @ y - target)  # (B, used, frames)
        x_next = (y - step * gradient).clamp_min_(0)
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        y = x_next + ((t - 1) / t_next) * (x_next - x)
        x, t = x_next, t_next
    out = start.clone()
    out[:, :used] = x
    return out


def mel_to_linear(log_mel: torch.Tensor, config: AudioConfig, method: str = "pinv",
                  n_iter: int = 100) -> torch.Tensor:
    """Turn a log-mel from :func:`mel_spectrogram` back into a linear magnitude spectrogram.

    ``pinv`` applies the filterbank's pseudo-inverse and clamps at 0 (fast, may over-smooth);
    ``nnls`` starts there and solves the non-negative least squares problem with ``n_iter``
    accelerated projected-gradient steps (closer fit to the mel). Bins above ``f_max`` come back as 0.

    Args:
        log_mel: ``(B, n_mels, frames)`` or ``(n_mels, frames)``, natural log as ``mel_spectrogram`` makes.
    Returns:
        ``|STFT|`` ``(B, n_fft // 2 + 1, frames)`` (no batch dim for unbatched input), power 1
        whatever ``config.power`` is, ready for :func:`griffin_lim`.
    """
    if method not in ("pinv", "nnls"):
        raise ValueError(f"method must be 'pinv' or 'nnls', got {method!r}")
    batched = log_mel.ndim == 3
    mel = (log_mel if batched else log_mel.unsqueeze(0)).exp()
    if mel.ndim != 3 or mel.shape[1] != config.n_mels:
        raise ValueError(f"expected a log-mel shaped (B, {config.n_mels}, frames), got {tuple(log_mel.shape)}")
    spec = (_pinv(config, mel.device, mel.dtype) @ mel).clamp_min_(0)  # (B, F, frames)
    if method == "nnls":
        spec = _nnls(mel_filterbank(config, mel.device, mel.dtype), mel, spec, n_iter)
    if config.power != 1.0:
        spec = spec.pow(1.0 / config.power)
    return spec if batched else spec.squeeze(0)


def mel_to_audio(log_mel: torch.Tensor, config: AudioConfig, n_iter: int = 60, method: str = "pinv",
                 momentum: float = 0.99, length: int | None = None, seed: int = 0) -> torch.Tensor:
    """Log-mel ``(B, n_mels, frames)`` to audio ``(B, T)`` by :func:`mel_to_linear` then :func:`griffin_lim`."""
    magnitude = mel_to_linear(log_mel, config, method=method)
    return griffin_lim(magnitude, config, n_iter=n_iter, momentum=momentum, length=length, seed=seed)
