"""Frame-by-frame spectral distances: log-spectral distance, multi-resolution STFT, mel L1.

These compare frame t of the reference with frame t of the generated audio, so they suit vocoders
and other outputs that keep the reference's timing; the evaluator first aligns the pair by
cross-correlation and trims it to the common length. Generated speech with its own timing
(Tacotron) is judged by MCD-DTW instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mcd import as_signal

# Power floor before logarithms: silent frames in both signals then compare as equal.
_POWER_FLOOR = 1e-10
# Magnitude floors of the two learned-vocoder losses these follow (Parallel WaveGAN, HiFi-GAN).
_MAG_FLOOR = 1e-7
_MEL_FLOOR = 1e-5


@dataclass(frozen=True)
class SpectralConfig:
    """STFT settings of the spectral distances.

    Attributes:
        n_fft, hop_length: the LSD and mel-L1 STFT.
        n_mels: mel bands of mel L1 (0 Hz to Nyquist).
        resolutions: (n_fft, hop_length, win_length) of each multi-resolution STFT scale; these are
            Parallel WaveGAN's, meant for 22-24 kHz audio.
    """

    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    resolutions: tuple[tuple[int, int, int], ...] = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))


def _common(ref, gen) -> tuple[np.ndarray, np.ndarray]:
    ref, gen = as_signal(ref, "reference"), as_signal(gen, "generated")
    length = min(ref.size, gen.size)
    return ref[:length], gen[:length]


def _magnitude(signal: np.ndarray, n_fft: int, hop_length: int, win_length: int | None = None) -> np.ndarray:
    import librosa

    # (F, T) magnitudes; short signals are zero-padded to one window so every signal has a frame.
    if signal.size < n_fft:
        signal = np.pad(signal, (0, n_fft - signal.size))
    return np.abs(librosa.stft(signal, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                               window="hann", center=True))


def log_spectral_distance(ref, gen, config: SpectralConfig = SpectralConfig()) -> float:
    """Log-spectral distance in dB: per frame the RMS over frequency of 10 log10(P_ref / P_gen), then the mean.

    Args:
        ref, gen: (T,) samples at one rate; the longer is trimmed to the shorter.
    Returns:
        LSD in dB, 0 for identical signals.
    """
    ref, gen = _common(ref, gen)
    ref_power = _magnitude(ref, config.n_fft, config.hop_length) ** 2
    gen_power = _magnitude(gen, config.n_fft, config.hop_length) ** 2
    diff = 10.0 * np.log10((ref_power + _POWER_FLOOR) / (gen_power + _POWER_FLOOR))  # (F, T)
    return float(np.mean(np.sqrt(np.mean(diff * diff, axis=0))))


def multi_resolution_stft_distance(ref, gen, config: SpectralConfig = SpectralConfig()) -> float:
    """Multi-resolution STFT distance: spectral convergence plus mean |log magnitude difference|,
    averaged over the STFT scales (the Parallel WaveGAN loss, as a metric).

    Args:
        ref, gen: (T,) samples at one rate; the longer is trimmed to the shorter.
    Returns:
        A non-negative number, 0 for identical signals.
    """
    ref, gen = _common(ref, gen)
    total = 0.0
    for n_fft, hop_length, win_length in config.resolutions:
        ref_mag = _magnitude(ref, n_fft, hop_length, win_length)
        gen_mag = _magnitude(gen, n_fft, hop_length, win_length)
        convergence = np.linalg.norm(ref_mag - gen_mag) / max(np.linalg.norm(ref_mag), _MAG_FLOOR)
        log_mag = np.mean(np.abs(np.log(np.maximum(ref_mag, _MAG_FLOOR)) - np.log(np.maximum(gen_mag, _MAG_FLOOR))))
        total += convergence + log_mag
    return float(total / len(config.resolutions))


def log_mel(signal, sample_rate: int, config: SpectralConfig = SpectralConfig()) -> np.ndarray:
    """Natural-log mel magnitude spectrogram, (n_mels, T), floored at 1e-5 (HiFi-GAN's mel)."""
    import librosa

    magnitude = _magnitude(as_signal(signal), config.n_fft, config.hop_length)
    basis = librosa.filters.mel(sr=sample_rate, n_fft=config.n_fft, n_mels=config.n_mels)
    return np.log(np.maximum(basis @ magnitude, _MEL_FLOOR))


def mel_l1(ref, gen, sample_rate: int, config: SpectralConfig = SpectralConfig()) -> float:
    """Mean absolute difference of natural-log mel spectrograms, frame by frame.

    Args:
        ref, gen: (T,) samples at ``sample_rate``; the longer is trimmed to the shorter.
    """
    ref, gen = _common(ref, gen)
    return float(np.mean(np.abs(log_mel(ref, sample_rate, config) - log_mel(gen, sample_rate, config))))
