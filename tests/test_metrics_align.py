"""Alignment of sample-level metrics: known lags are found, and a phase-free vocoder's output is aligned at
its true lag of about 0 rather than at a false waveform-correlation peak."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from wavetron.config import AudioConfig
from wavetron.metrics import align, best_lag, stoi

RATE, HOP = 16000, 256
SENTENCES = ["Meet me at one forty five in the evening by their wild kitchen.",
             "How many feathers did Ruby cook gather?"]


@pytest.fixture(scope="module")
def recordings() -> list[np.ndarray]:
    """Festival's slt voice speaking SENTENCES, at 16 kHz."""
    import soxr

    from wavetron.corpus import festival

    spoken = []
    for text in SENTENCES:
        samples, rate = festival.synthesize(text)
        spoken.append(soxr.resample(samples.astype(np.float64) / 32768.0, rate, RATE))
    return spoken


def test_known_lags_are_found_within_one_sample(recordings):
    audio = recordings[0]
    noise = 0.01 * np.random.default_rng(0).standard_normal(audio.size + 100)
    delayed = np.concatenate([np.zeros(100), audio]) + noise
    assert abs(best_lag(audio, delayed) - 100) <= 1
    assert abs(best_lag(delayed, audio) + 100) <= 1
    ref, gen, lag = align(audio, delayed)
    assert abs(lag - 100) <= 1 and ref.size == gen.size
    assert np.corrcoef(ref, gen)[0, 1] > 0.99


def test_max_lag_bounds_the_search(recordings):
    audio = recordings[1]
    delayed = np.concatenate([np.zeros(600), audio])
    assert best_lag(audio, delayed) == 600
    assert abs(best_lag(audio, delayed, max_lag=HOP)) <= HOP
    with pytest.raises(ValueError, match="max_lag"):
        best_lag(audio, delayed, max_lag=-1)


def test_griffin_lim_output_is_aligned_near_zero_and_keeps_its_stoi(recordings):
    from wavetron.audio import mel_spectrogram, mel_to_audio

    config = AudioConfig(sample_rate=RATE, n_fft=1024, hop_length=HOP, win_length=1024, n_mels=80, f_min=0.0,
                         f_max=8000.0)
    for audio in recordings:
        mel = mel_spectrogram(torch.from_numpy(audio.astype(np.float32)), config)
        rebuilt = mel_to_audio(mel, config).numpy().astype(np.float64)  # phase from 60 Griffin-Lim iterations
        ref, gen, lag = align(audio, rebuilt)
        assert abs(lag) <= HOP, lag
        assert stoi(ref, gen, RATE, aligned=True) > 0.9
