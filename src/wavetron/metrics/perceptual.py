"""PESQ (wide band) and STOI on time-aligned pairs, from the ``pesq`` and ``pystoi`` packages.

Both compare sample-synchronous signals, so the pair is first aligned: the lag that maximises the
cross-correlation is removed and both signals are trimmed to their overlap (:func:`align`).
"""
from __future__ import annotations

import numpy as np

from ..errors import AudioError
from .mcd import as_signal

PESQ_RATE = 16000  # ITU-T P.862.2 wide band is defined at 16 kHz


def best_lag(ref, gen) -> int:
    """The lag L (samples) at which ``gen[t + L]`` best matches ``ref[t]``, by FFT cross-correlation."""
    from scipy.signal import correlate, correlation_lags

    ref, gen = as_signal(ref, "reference"), as_signal(gen, "generated")
    corr = correlate(gen, ref, mode="full", method="fft")
    return int(correlation_lags(gen.size, ref.size, mode="full")[int(np.argmax(corr))])


def align(ref, gen) -> tuple[np.ndarray, np.ndarray, int]:
    """Remove the cross-correlation lag and trim both signals to their overlap.

    Returns:
        ``(ref, gen, lag)``: two (T,) signals of equal length and the lag that was removed.
    Raises:
        AudioError: the signals do not overlap at the best lag.
    """
    ref, gen = as_signal(ref, "reference"), as_signal(gen, "generated")
    lag = best_lag(ref, gen)
    if lag >= 0:
        gen = gen[lag:]
    else:
        ref = ref[-lag:]
    length = min(ref.size, gen.size)
    if length == 0:
        raise AudioError("reference and generated audio do not overlap after alignment")
    return ref[:length], gen[:length], lag


def _at_16k(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate == PESQ_RATE:
        return signal
    import soxr

    return soxr.resample(signal, sample_rate, PESQ_RATE)


def pesq_wb(ref, gen, sample_rate: int, aligned: bool = False) -> float:
    """Wide-band PESQ (MOS-LQO, about 1.0 to 4.64) of ``gen`` against ``ref``.

    Args:
        ref, gen: (T,) samples at ``sample_rate`` (resampled to 16 kHz here).
        aligned: the pair is already aligned and trimmed; otherwise :func:`align` runs first.
    Raises:
        AudioError: PESQ found no speech (silence) or the audio is too short.
    """
    from pesq import PesqError, pesq

    ref, gen = as_signal(ref, "reference"), as_signal(gen, "generated")
    if not aligned:
        ref, gen, _ = align(ref, gen)
    if not np.any(ref) or not np.any(gen):
        raise AudioError("PESQ needs speech: the reference or the generated audio is digital silence")
    try:
        return float(pesq(PESQ_RATE, _at_16k(ref, sample_rate), _at_16k(gen, sample_rate), "wb"))
    except PesqError as err:
        raise AudioError(f"PESQ failed: {type(err).__name__} (silence, or shorter than about 0.25 s?)") from None


def stoi(ref, gen, sample_rate: int, aligned: bool = False, extended: bool = False) -> float:
    """Short-time objective intelligibility of ``gen`` against ``ref``, in [0, 1] (about 1 for identical speech).

    Args:
        ref, gen: (T,) samples at ``sample_rate`` (pystoi resamples to 10 kHz itself).
        aligned: the pair is already aligned and trimmed; otherwise :func:`align` runs first.
        extended: ESTOI instead of STOI.
    Raises:
        AudioError: the reference holds no speech frame (pystoi removes silent frames first).
    """
    import warnings

    from pystoi import stoi as pystoi_stoi

    ref, gen = as_signal(ref, "reference"), as_signal(gen, "generated")
    if not aligned:
        ref, gen, _ = align(ref, gen)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            value = float(pystoi_stoi(ref, gen, sample_rate, extended=extended))
        except (RuntimeWarning, ValueError) as err:
            raise AudioError(f"STOI failed: the reference is silent or too short ({type(err).__name__})") from None
    if not np.isfinite(value):
        raise AudioError("STOI is undefined: the reference is silent or too short")
    return value
