"""Audio in and out, and exact, fast spectral features.

- :mod:`.io`: ``load`` (any libsndfile format, mono, soxr resampling) and atomic ``save``.
- :mod:`.signal`: silence trimming, peak / loudness normalisation, mu-law companding.
- :mod:`.features`: torch STFT, linear and mel spectrograms equal to librosa's, batched, CPU or GPU.
- :mod:`.griffin_lim`: mel inversion (pinv / NNLS) and fast Griffin-Lim.
- :mod:`.mel_match`: pull a vocoder's output onto its mel, keeping its phase and fine structure.
- :mod:`.voicing`: how voiced each frame of a log-mel is (harmonic structure below 1.5 kHz), in [0, 1].

Audio is ``(T,)`` or ``(B, T)`` float; spectrograms are channel-first ``(B, n_freq, frames)``.
"""
from .features import (frame_count, hann_window, linear_spectrogram, log_magnitude, mel_filterbank,
                       mel_spectrogram, mel_spectrograms, stft)
from .griffin_lim import griffin_lim, istft, mel_to_audio, mel_to_linear
from .io import load, save
from .mel_match import match_mel
from .signal import mulaw_decode, mulaw_encode, normalize_loudness, normalize_peak, trim_silence
from .voicing import voicing_strength

__all__ = [
    "load", "save", "trim_silence", "normalize_peak", "normalize_loudness", "mulaw_encode", "mulaw_decode",
    "stft", "linear_spectrogram", "log_magnitude", "mel_filterbank", "mel_spectrogram", "mel_spectrograms", "frame_count",
    "hann_window", "istft", "griffin_lim", "mel_to_linear", "mel_to_audio", "match_mel",
    "voicing_strength",
]
