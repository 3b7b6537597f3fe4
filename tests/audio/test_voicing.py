"""The voicing strength read off a log-mel: high on harmonic signals, low on noise and silence, frame by frame."""
from __future__ import annotations

import pytest
import torch

from wavetron.audio import mel_spectrogram
from wavetron.audio.voicing import harmonic_score, voicing_strength
from wavetron.config import AudioConfig

# the shipped voice's features (configs/voice-features.yaml)
VOICE = AudioConfig(sample_rate=16000, n_fft=1024, hop_length=256, win_length=1024, n_mels=80, f_min=0.0,
                    f_max=8000.0)


def pulse_train(f0: float, seconds: float = 1.0, rate: int = 16000) -> torch.Tensor:
    """Unit pulses every ``rate / f0`` samples (rounded per pulse, so any f0), at 0.5 amplitude."""
    wave = torch.zeros(int(seconds * rate))
    wave[(torch.arange(0, seconds * f0) * rate / f0).round().long().clamp(max=wave.numel() - 1)] = 0.5
    return wave


@pytest.mark.parametrize("f0", [95.0, 160.0, 245.0])
def test_pulse_trains_are_voiced_and_noise_is_not(f0):
    g = torch.Generator().manual_seed(int(f0))
    voiced = voicing_strength(mel_spectrogram(pulse_train(f0), VOICE), VOICE)[2:-2]  # away from the edges
    noise = voicing_strength(mel_spectrogram(0.1 * torch.randn(16000, generator=g), VOICE), VOICE)[2:-2]
    assert voiced.min() > 0.9
    assert noise.mean() < 0.1 and (noise > 0.5).float().mean() < 0.05
    # the harmonics make the score, not the level or the tilt: a pulse train buried in loud noise loses it
    buried = pulse_train(f0) + 2.0 * torch.randn(16000, generator=g)
    assert voicing_strength(mel_spectrogram(buried, VOICE), VOICE)[2:-2].mean() < 0.2


def test_silence_scores_zero_and_values_stay_in_range():
    silence = voicing_strength(mel_spectrogram(torch.zeros(8000), VOICE), VOICE)
    assert torch.equal(silence, torch.zeros_like(silence))
    g = torch.Generator().manual_seed(0)
    mel = torch.randn(3, 80, 25, generator=g) * 3 - 5
    strength = voicing_strength(mel, VOICE)
    assert strength.shape == (3, 25) and strength.min() >= 0 and strength.max() <= 1
    score = harmonic_score(mel, VOICE)
    assert score.min() >= -1 - 1e-5 and score.max() <= 1 + 1e-5


def test_each_frame_is_scored_on_its_own():
    g = torch.Generator().manual_seed(1)
    wave = torch.cat([pulse_train(180.0, 0.5), 0.1 * torch.randn(8000, generator=g)])
    mel = mel_spectrogram(wave, VOICE)  # (80, 63): voiced, then noise
    whole = voicing_strength(mel, VOICE)
    assert whole[3:25].min() > 0.9 and whole[36:60].mean() < 0.1
    # a segment of the mel (a folded piece) scores its frames as the whole does, and a batch as its rows
    assert torch.equal(voicing_strength(mel[:, 20:40], VOICE), whole[20:40])
    batch = voicing_strength(torch.stack([mel, mel.flip(-1)]), VOICE)
    assert torch.allclose(batch[0], whole, atol=1e-6) and torch.allclose(batch[1], whole.flip(-1), atol=1e-6)


@pytest.mark.parametrize("htk", [False, True])
def test_band_centres_are_librosas(htk):
    import librosa

    from wavetron.audio.voicing import band_centres

    config = AudioConfig(sample_rate=22050, n_fft=1024, hop_length=256, win_length=1024, n_mels=80, f_min=40.0,
                         f_max=None, htk=htk)
    expected = librosa.mel_frequencies(82, fmin=40.0, fmax=11025.0, htk=htk)[1:-1]
    assert abs(band_centres(config) - expected).max() < 1e-6 * expected.max()


def test_settings_without_low_bands_are_refused():
    coarse = AudioConfig(sample_rate=16000, n_fft=64, hop_length=4, win_length=64, n_mels=8, f_max=8000.0)
    with pytest.raises(ValueError, match="too few to see harmonics"):
        voicing_strength(torch.zeros(8, 5), coarse)
    with pytest.raises(ValueError, match="bands"):
        voicing_strength(torch.zeros(40, 5), VOICE)
