"""Linear prediction from a log-mel spectrogram, and the excitation it leaves (LPCNet's split).

A mel keeps the spectral envelope: mapped back to a power spectrum (pseudo-inverse of the filterbank),
its inverse FFT is an autocorrelation, and Levinson-Durbin turns that into the all-pole filter
``1 / A(z)``, ``A(z) = 1 + sum_k a_k z^-k``, that a WaveNet no longer has to learn (Valin & Skoglund 2019).
The predictor of sample ``t`` is ``p_t = -sum_k a_k(t) s_{t-k}`` and the excitation ``e_t = s_t - p_t``.

Everything lives in the domain of the signal that is modelled: with pre-emphasis ``coef`` the power
spectrum is multiplied by ``|1 - coef e^{-jw}|^2`` before the autocorrelation. Filters are interpolated
between frames in the (normalised) autocorrelation domain and solved per sample, so they do not jump at
each hop and stay stable: a convex combination of positive-definite autocorrelations is positive definite,
and Levinson-Durbin on one gives a minimum-phase ``A(z)``.

Shapes: log-mel ``(B, n_mels, F)``; autocorrelation ``(B, F, order + 1)``; coefficients ``(B, T, order)``.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from ..config import AudioConfig

# -40 dB white-noise floor and a 40 Hz Gaussian lag window: the usual conditioning of speech LPC
# (bandwidth expansion), measured not to cost prediction gain at order 16 (../docs/choosing.md)
NOISE_FLOOR = 1e-4
LAG_WINDOW_HZ = 40.0
POWER_FLOOR = 1e-10
SUBFRAME = 16  # samples between two solved filters


@functools.lru_cache(maxsize=16)
def _inverse_basis(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float | None, htk: bool,
                   norm: str | None) -> torch.Tensor:
    import librosa

    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max, htk=htk,
                                norm=norm, dtype=np.float64)
    return torch.from_numpy(np.linalg.pinv(basis)).float()  # (n_freq, n_mels)


def mel_to_power(log_mel: torch.Tensor, config: AudioConfig) -> torch.Tensor:
    """Log-mel ``(B, n_mels, F)`` -> power spectrum ``(B, n_freq, F)`` by the filterbank's pseudo-inverse, floored."""
    inverse = _inverse_basis(config.sample_rate, config.n_fft, config.n_mels, float(config.f_min),
                             None if config.f_max is None else float(config.f_max), config.htk, config.mel_norm)
    spectrum = torch.matmul(inverse.to(log_mel.device), log_mel.float().exp())  # (B, n_freq, F)
    if config.power == 1.0:
        spectrum = spectrum.clamp(min=math.sqrt(POWER_FLOOR)) ** 2
    return spectrum.clamp(min=POWER_FLOOR)


def mel_autocorrelation(log_mel: torch.Tensor, config: AudioConfig, order: int = 16,
                        preemphasis: float = 0.0) -> torch.Tensor:
    """Normalised, conditioned autocorrelation of each frame: ``(B, n_mels, F)`` -> ``(B, F, order + 1)``.

    ``r[..., 0] == 1 + NOISE_FLOOR``; lags are shaped by a Gaussian lag window of ``LAG_WINDOW_HZ``.
    """
    power = mel_to_power(log_mel, config)  # (B, n_freq, F)
    if preemphasis:
        w = torch.linspace(0, math.pi, power.shape[1], device=power.device)
        power = power * (1 + preemphasis ** 2 - 2 * preemphasis * torch.cos(w)).unsqueeze(-1)
    r = torch.fft.irfft(power.transpose(1, 2).double(), n=config.n_fft, dim=-1)[..., :order + 1]
    r = r / r[..., :1].clamp(min=1e-30)
    lags = torch.arange(order + 1, device=r.device, dtype=r.dtype)
    window = torch.exp(-0.5 * (2 * math.pi * LAG_WINDOW_HZ * lags / config.sample_rate) ** 2)
    r = r * window
    r[..., 0] = r[..., 0] * (1 + NOISE_FLOOR)
    return r


def levinson(r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Levinson-Durbin on autocorrelations ``(..., order + 1)``, batched over the leading axes.

    Returns: ``a (..., order)`` with ``A(z) = 1 + sum_k a_k z^-k`` (solves the Toeplitz normal equations
    ``R a = -r[1:]``), and the prediction error power ``(...,)``.
    """
    order = r.shape[-1] - 1
    a = torch.zeros(*r.shape[:-1], order, dtype=r.dtype, device=r.device)
    error = r[..., 0].clone()
    for i in range(order):
        acc = r[..., i + 1] + (a[..., :i] * r[..., 1:i + 1].flip(-1)).sum(-1)
        k = -acc / error
        if i:
            a[..., :i] = a[..., :i] + k.unsqueeze(-1) * a[..., :i].flip(-1)
        a[..., i] = k
        error = error * (1 - k * k)
    return a, error


def interpolate_frames(r: torch.Tensor, hop_length: int, length: int, step: int = 1) -> torch.Tensor:
    """Frame values ``(B, F, K)`` -> values at samples ``0, step, 2 step, ...`` below ``length``
    (``(B, ceil(length / step), K)``), linear between frame centres.

    Frame ``f`` is centred on sample ``f * hop_length`` (centred STFT); past the last frame it holds.
    """
    F = r.shape[1]
    position = torch.arange(0, length, step, device=r.device, dtype=torch.float64) / hop_length
    left = position.floor().long().clamp(max=F - 1)
    right = (left + 1).clamp(max=F - 1)
    w = (position - left).clamp(0, 1).to(r.dtype).view(1, -1, 1)
    return r[:, left] * (1 - w) + r[:, right] * w


def mel_lpc(log_mel: torch.Tensor, config: AudioConfig, order: int = 16, preemphasis: float = 0.0,
            length: int | None = None, step: int = SUBFRAME) -> torch.Tensor:
    """Per-sample predictor coefficients ``(B, length, order)`` float32 from a log-mel ``(B, n_mels, F)``.

    ``length`` defaults to ``F * hop_length``. The filter is solved every ``step`` samples (1 ms at
    16 kHz: a sixteenth of the per-sample cost, and closer than the envelope moves) and held between.
    Every sample gets a stable filter (see the module doc).
    """
    r = mel_autocorrelation(log_mel, config, order, preemphasis)
    length = r.shape[1] * config.hop_length if length is None else length
    a, _ = levinson(interpolate_frames(r, config.hop_length, length, step))
    return a.float().repeat_interleave(step, dim=1)[:, :length].contiguous()


def lpc_predict(signal: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """The prediction ``p_t = -sum_k a_k(t) s_{t-k}`` (zeros before the start).

    Args: signal ``(B, T)``; coefficients ``(B, T, order)``. Returns ``(B, T)``.
    """
    order = coefficients.shape[-1]
    past = torch.nn.functional.pad(signal, (order, 0)).unfold(-1, order, 1)[:, :-1]  # (B, T, order): s_{t-order..t-1}
    return -(past.flip(-1) * coefficients).sum(-1)


def lpc_synthesize(excitation: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """The all-pole synthesis filter: ``s_t = e_t - sum_k a_k(t) s_{t-k}``, inverse of ``e = s - lpc_predict(s)``.

    Args: excitation ``(B, T)``; coefficients ``(B, T, order)``. Returns ``(B, T)`` float64.
    """
    return _synthesize(np.ascontiguousarray(excitation, dtype=np.float64),
                       np.ascontiguousarray(coefficients, dtype=np.float64))


@functools.lru_cache(maxsize=1)
def _numba_kernels():
    import numba

    @numba.njit(cache=True)
    def synthesize(e, a):
        B, T = e.shape
        order = a.shape[2]
        s = np.zeros((B, T))
        for b in range(B):
            for t in range(T):
                acc = e[b, t]
                for k in range(1, min(order, t) + 1):
                    acc -= a[b, t, k - 1] * s[b, t - k]
                s[b, t] = acc
        return s

    @numba.njit(cache=True)
    def quantize(x, mu):
        y = math.log1p(mu * abs(x)) / math.log1p(mu)
        return int(math.floor((math.copysign(y, x) + 1) / 2 * mu + 0.5))

    @numba.njit(cache=True)
    def closed_loop(s, a, offsets, table):
        # s (B, T) clean signal in [-1, 1]; offsets (B, T) int: class errors added to the coded excitation
        B, T = s.shape
        order = a.shape[2]
        mu = table.shape[0] - 1
        noisy = np.zeros((B, T))
        pred = np.zeros((B, T))
        out = np.zeros((5, B, T), dtype=np.int64)  # target, sent, previous-sample class, prediction class
        for b in range(B):
            for t in range(T):
                p = 0.0
                for k in range(1, min(order, t) + 1):
                    p -= a[b, t, k - 1] * noisy[b, t - k]
                pred[b, t] = p
                c = quantize(min(1.0, max(-1.0, s[b, t] - p)), mu)
                c2 = min(mu, max(0, c + offsets[b, t]))
                out[0, b, t] = c
                out[1, b, t] = c2
                out[2, b, t] = quantize(noisy[b, t - 1], mu) if t else quantize(0.0, mu)
                out[3, b, t] = quantize(min(1.0, max(-1.0, p)), mu)
                noisy[b, t] = min(1.0, max(-1.0, p + table[c2]))
        return noisy, pred, out

    return synthesize, closed_loop


def _synthesize(e, a):
    return _numba_kernels()[0](e, a)


@functools.lru_cache(maxsize=4)
def expansion_table(classes: int = 256) -> np.ndarray:
    """The value of each mu-law class ``(classes,)`` float64: the one table every excitation path reads,
    so that training's closed loop and each generator add exactly the same excitation."""
    mu = classes - 1
    y = 2 * np.arange(classes, dtype=np.float64) / mu - 1
    return np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu


def closed_loop_excitation(signal: torch.Tensor, coefficients: torch.Tensor, classes: int = 256,
                           offsets: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Code ``signal`` as mu-law excitation in a closed loop, as generation produces it (float64 inside).

    Each sample is predicted from the already coded past: ``p_t = -sum_k a_k(t) s~_{t-k}``; the target
    class is the mu-law of ``s_t - p_t`` (the excitation that gives back the clean sample); the coded
    sample is ``s~_t = p_t + expand(target_t + offset_t)``, clipped to [-1, 1]. ``offsets`` (class errors,
    LPCNet's noise injection in the excitation domain) perturb only the coded past that later samples read.

    Args: signal ``(B, T)`` in [-1, 1]; coefficients ``(B, T, order)``; offsets ``(B, T)`` int or None.
    Returns: ``signal`` (coded) and ``prediction`` ``(B, T)`` float64; long ``(B, T)``: ``target``,
    ``sent`` (the class actually coded), ``previous_class`` (of ``s~_{t-1}``; silence first) and
    ``prediction_class`` (of ``p_t``).
    """
    B, T = signal.shape
    off = np.zeros((B, T), dtype=np.int64) if offsets is None else offsets.cpu().numpy().astype(np.int64)
    noisy, pred, classes_out = _numba_kernels()[1](
        signal.detach().cpu().double().numpy(), coefficients.detach().cpu().double().numpy(), off,
        expansion_table(classes))
    device = signal.device
    out = {"signal": torch.from_numpy(noisy).to(device), "prediction": torch.from_numpy(pred).to(device)}
    for i, key in enumerate(("target", "sent", "previous_class", "prediction_class")):
        out[key] = torch.from_numpy(classes_out[i]).to(device)
    return out


def prediction_gain(signal: torch.Tensor, coefficients: torch.Tensor) -> float:
    """``10 log10(energy of s / energy of e)`` in dB for ``e = s - lpc_predict(s)``."""
    e = signal - lpc_predict(signal, coefficients)
    return float(10 * torch.log10(signal.double().pow(2).sum() / e.double().pow(2).sum().clamp(min=1e-30)))


__all__ = ["closed_loop_excitation", "expansion_table", "interpolate_frames", "levinson", "lpc_predict", "lpc_synthesize",
           "mel_autocorrelation", "mel_lpc", "mel_to_power", "prediction_gain"]
