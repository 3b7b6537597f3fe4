"""Linear prediction from the mel (wavetron.audio.lpc): Levinson against scipy, a known all-pole filter
recovered from the mel of its output, stability on real speech, and the excitation rebuilding the signal."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import torch

from wavetron.audio import load, mel_spectrogram
from wavetron.audio.lpc import (closed_loop_excitation, expansion_table, interpolate_frames, levinson, lpc_predict,
                                lpc_synthesize, mel_autocorrelation, mel_lpc, prediction_gain)
from wavetron.config import AudioConfig
from wavetron.models.wavenet import preemphasize

AUDIO = AudioConfig(sample_rate=16000)


def autocorrelation(x: np.ndarray, order: int) -> np.ndarray:
    return np.array([np.dot(x[:len(x) - k], x[k:]) for k in range(order + 1)])


def test_levinson_equals_scipy_solve_toeplitz():
    rng = np.random.default_rng(0)
    rows = np.stack([autocorrelation(rng.standard_normal(300) * rng.uniform(0.1, 3), 16) for _ in range(6)])
    a, error = levinson(torch.from_numpy(rows))
    for row, coefficients, err in zip(rows, a.numpy(), error.numpy()):
        expected = scipy.linalg.solve_toeplitz(row[:16], -row[1:])
        np.testing.assert_allclose(coefficients, expected, rtol=1e-9, atol=1e-11)
        assert err == pytest.approx(row[0] + np.dot(expected, row[1:]), rel=1e-9)  # the residual energy


def resonator(frequencies, bandwidths, rate=16000) -> np.ndarray:
    """A(z) of cascaded two-pole resonances: ``(1, a_1, ..., a_2n)``."""
    a = np.array([1.0])
    for f, b in zip(frequencies, bandwidths):
        r = np.exp(-np.pi * b / rate)
        a = np.convolve(a, [1.0, -2 * r * np.cos(2 * np.pi * f / rate), r * r])
    return a


def test_lpc_from_the_mel_recovers_an_all_pole_filter():
    a_true = resonator([500, 1500, 2500], [80, 120, 160])
    rng = np.random.default_rng(1)
    signal = scipy.signal.lfilter([1.0], a_true, rng.standard_normal(16000 * 2))
    signal = torch.from_numpy(0.5 * signal / np.abs(signal).max()).float()
    mel = mel_spectrogram(signal, AUDIO)[None]
    coefficients = mel_lpc(mel, AUDIO, order=16, length=signal.shape[0])  # (1, T, 16)
    # the envelope of the estimated filter follows the true one where the speech-like energy is
    w, h_true = scipy.signal.freqz([1.0], a_true, worN=512, fs=16000)
    a_mid = np.concatenate([[1.0], coefficients[0, 16000].double().numpy()])
    _, h_est = scipy.signal.freqz([1.0], a_mid, worN=512, fs=16000)
    db_true, db_est = 20 * np.log10(np.abs(h_true)), 20 * np.log10(np.abs(h_est))
    band = (w > 200) & (w < 3500)  # below 4 kHz: the -40 dB noise floor limits the dynamic range above
    db_est += np.mean((db_true - db_est)[band])  # gain is not part of the prediction filter
    assert np.sqrt(np.mean((db_true - db_est)[band] ** 2)) < 3.0
    for f in (500, 1500, 2500):  # each formant is a peak of the estimate, within a mel band or so
        near = (w > f - 250) & (w < f + 250)
        assert w[near][np.argmax(db_est[near])] == pytest.approx(f, abs=120)
    # it predicts most of what the true filter predicts (the -40 dB white-noise floor caps the gain near 40 dB)
    s = signal[None]
    gain_true = prediction_gain(s, torch.from_numpy(np.tile(a_true[1:], (1, s.shape[1], 1))).float())
    assert gain_true > 35
    assert prediction_gain(s, coefficients) > 25


def stable(a: np.ndarray) -> bool:
    return bool(np.all(np.abs(np.roots(np.concatenate([[1.0], a]))) < 1.0))


@pytest.mark.parametrize("preemphasis", [0.0, 0.85])
def test_every_filter_of_real_speech_is_stable_and_predicts(speech_wavs, preemphasis):
    audio, _ = load(speech_wavs[0], 16000)
    mel = mel_spectrogram(audio, AUDIO)[None]
    r = mel_autocorrelation(mel, AUDIO, 16, preemphasis)
    a_frames, _ = levinson(r)
    assert all(stable(a) for a in a_frames[0].numpy())
    s = preemphasize(audio[None], preemphasis)
    coefficients = mel_lpc(mel, AUDIO, 16, preemphasis, s.shape[1])
    assert all(stable(a) for a in coefficients[0, ::97].double().numpy())  # interpolated ones too
    assert prediction_gain(s, coefficients) > (8.0 if preemphasis else 15.0)


def test_interpolation_is_linear_between_frame_centres():
    r = torch.tensor([[[0.0], [4.0], [8.0]]], dtype=torch.float64)  # (B=1, F=3, K=1)
    out = interpolate_frames(r, hop_length=4, length=12)[0, :, 0]
    assert out.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 8]


def test_excitation_through_the_synthesis_filter_rebuilds_the_recording(speech_wavs):
    audio, _ = load(speech_wavs[1], 16000)
    s = preemphasize(audio[None], 0.85).double()
    coefficients = mel_lpc(mel_spectrogram(audio, AUDIO)[None], AUDIO, 16, 0.85, s.shape[1])
    excitation = s - lpc_predict(s, coefficients.double())
    assert excitation.pow(2).sum() < 0.2 * s.pow(2).sum()  # the envelope is gone from it
    rebuilt = lpc_synthesize(excitation.numpy(), coefficients.numpy())
    np.testing.assert_allclose(rebuilt, s.numpy(), atol=1e-6)


def test_closed_loop_coding_rebuilds_the_signal_and_noise_changes_only_the_coded_past(speech_wavs):
    audio, _ = load(speech_wavs[2], 16000)
    s = preemphasize(audio[None], 0.85).clamp(-1, 1)
    coefficients = mel_lpc(mel_spectrogram(audio, AUDIO)[None], AUDIO, 16, 0.85, s.shape[1])
    clean = closed_loop_excitation(s, coefficients)
    table = torch.from_numpy(expansion_table(256))
    # prediction + the target excitation is the clean sample, to the mu-law step at that level
    rebuilt = clean["prediction"] + table[clean["target"]]
    step = (table[1:] - table[:-1]).abs()
    assert (rebuilt - s.double()).abs().max() <= step.max()
    assert torch.equal(clean["sent"], clean["target"])
    g = torch.Generator().manual_seed(0)
    offsets = torch.round(torch.randn(s.shape, generator=g) * 2).long()
    noisy = closed_loop_excitation(s, coefficients, offsets=offsets)
    assert not torch.equal(noisy["signal"], clean["signal"])  # the past the network reads has errors
    assert not torch.equal(noisy["previous_class"], clean["previous_class"])
    # ... while the targets still lead back to the clean signal
    rebuilt = noisy["prediction"] + table[noisy["target"]]
    assert (rebuilt - s.double()).abs().max() <= step.max()
    # and the coded signal of the clean loop is the mu-law-coded excitation through the synthesis filter
    assert float((clean["signal"] - s.double()).pow(2).mean()) < 1e-3 * float(s.double().pow(2).mean()) + 1e-7
