"""wavetron.audio.features: parity with librosa on real speech, batching, shapes, caching.

Relative error is ||a - b|| / ||b|| (Frobenius norm over the whole spectrogram).
"""
from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import pytest
import torch

from wavetron.audio import (frame_count, linear_spectrogram, load, mel_filterbank, mel_spectrogram,
                            mel_spectrograms, stft)
from wavetron.config import AudioConfig
from wavetron.errors import ConfigError

CONFIGS = {
    "default": AudioConfig(),
    "reflect": AudioConfig(pad_mode="reflect"),
    "not-centred": AudioConfig(center=False),
    "power-htk-short-window": AudioConfig(power=2.0, htk=True, mel_norm=None, f_max=None, win_length=800),
    "16k-odd-fft": AudioConfig(sample_rate=16000, n_fft=511, win_length=400, hop_length=160, n_mels=40,
                               f_min=50.0, f_max=7600.0, pad_mode="edge"),
}


def relative_error(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def librosa_mel(y: np.ndarray, c: AudioConfig) -> np.ndarray:
    return librosa.feature.melspectrogram(
        y=y, sr=c.sample_rate, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length, n_mels=c.n_mels,
        fmin=c.f_min, fmax=c.f_max, power=c.power, norm=c.mel_norm, htk=c.htk, center=c.center, pad_mode=c.pad_mode)


@pytest.fixture(scope="module")
def speech(speech_wavs) -> list[torch.Tensor]:
    return [load(path)[0] for path in speech_wavs]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_stft_matches_librosa(speech, name):
    c = CONFIGS[name]
    y = speech[0]
    ours = stft(y, c)
    ref = librosa.stft(y.numpy(), n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                       center=c.center, pad_mode=c.pad_mode)
    assert ours.shape == ref.shape and ours.dtype == torch.complex64
    assert relative_error(ours.numpy(), ref) < 1e-5
    linear = linear_spectrogram(y, c)
    assert relative_error(linear.numpy(), np.abs(ref) ** c.power) < 1e-5


@pytest.mark.parametrize("name", list(CONFIGS))
def test_mel_filterbank_is_librosas(name):
    c = CONFIGS[name]
    ref = librosa.filters.mel(sr=c.sample_rate, n_fft=c.n_fft, n_mels=c.n_mels, fmin=c.f_min, fmax=c.f_max,
                              htk=c.htk, norm=c.mel_norm)
    ours = mel_filterbank(c)
    assert ours.shape == (c.n_mels, c.n_fft // 2 + 1) and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-6, atol=1e-9)


def test_mel_filterbank_is_cached_per_setting_and_dtype():
    c = AudioConfig()
    assert mel_filterbank(c) is mel_filterbank(AudioConfig())
    assert mel_filterbank(c, dtype=torch.float64).dtype == torch.float64
    assert mel_filterbank(dataclasses.replace(c, n_mels=64)).shape[0] == 64


def test_mel_spectrogram_matches_librosa_on_all_speech(speech):
    c = AudioConfig()
    errors = [relative_error(mel_spectrogram(y, c, log=False).numpy(), librosa_mel(y.numpy(), c)) for y in speech]
    assert max(errors) <= 1e-4, errors  # measured about 1e-7 (float32 rounding)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_mel_spectrogram_matches_librosa_in_every_setting(speech, name):
    c = CONFIGS[name]
    y = speech[1]
    ref = librosa_mel(y.numpy(), c)
    assert relative_error(mel_spectrogram(y, c, log=False).numpy(), ref) <= 1e-4
    log_mel = mel_spectrogram(y, c)
    np.testing.assert_allclose(log_mel.numpy(), np.log(np.maximum(ref, c.log_floor)), atol=1e-3)


def test_batched_shapes_equal_single_items(speech):
    c = AudioConfig()
    length = 12345  # odd, not a multiple of the hop
    batch = torch.stack([s[:length] for s in speech[:3]])  # (3, T)
    mels = mel_spectrogram(batch, c)
    frames = frame_count(length, c)
    assert mels.shape == (3, c.n_mels, frames) == (3, 80, 1 + length // c.hop_length)
    assert stft(batch, c).shape == (3, 513, frames) and linear_spectrogram(batch, c).shape == (3, 513, frames)
    for row in range(3):
        torch.testing.assert_close(mels[row], mel_spectrogram(batch[row], c), rtol=1e-5, atol=1e-5)
    one = mel_spectrogram(batch[:1], c)
    assert one.shape == (1, 80, frames) and mel_spectrogram(batch[0], c).shape == (80, frames)


@pytest.mark.parametrize("name", ["default", "reflect", "16k-odd-fft"])
def test_mel_spectrograms_of_varied_lengths(speech, name):
    c = CONFIGS[name]
    clips = [speech[0][:9001], speech[1], speech[2][:30000], speech[3][:4000]]
    # A small batch_samples forces several padded batches; results come back in input order.
    for batch_samples in (2 ** 22, 70000):
        mels = mel_spectrograms(clips, c, log=False, batch_samples=batch_samples)
        for clip, mel in zip(clips, mels):
            assert mel.shape == (c.n_mels, frame_count(len(clip), c))
            assert relative_error(mel.numpy(), librosa_mel(clip.numpy(), c)) <= 1e-4


def test_float64_input_stays_float64(speech):
    c = AudioConfig()
    y = speech[0][:8000].double()
    mel = mel_spectrogram(y, c, log=False)
    assert mel.dtype == torch.float64
    # librosa keeps its filterbank in float32 even for float64 audio, ours is float64 here: ~3e-8 apart.
    assert relative_error(mel.numpy(), librosa_mel(y.numpy(), c)) < 1e-6


def test_bad_settings_and_inputs():
    with pytest.raises(ConfigError, match="audio.pad_mode"):
        mel_spectrogram(torch.zeros(4000), AudioConfig(pad_mode="mirror"))
    with pytest.raises(ValueError, match="shorter than n_fft"):
        mel_spectrogram(torch.zeros(500), AudioConfig(center=False))
    with pytest.raises(ValueError, match=r"\(T,\) or \(B, T\)"):
        stft(torch.zeros(1, 2, 4000), AudioConfig())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_equals_cpu(speech):
    c = AudioConfig()
    clips = [s[:20000] for s in speech[:3]]
    cpu = mel_spectrogram(torch.stack(clips), c)
    gpu = mel_spectrogram(torch.stack(clips).cuda(), c)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-4)
