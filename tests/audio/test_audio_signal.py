"""wavetron.audio.signal: trimming like librosa, peak/loudness normalisation, mu-law round trips."""
from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import torch

from wavetron.audio import (load, mulaw_decode, mulaw_encode, normalize_loudness, normalize_peak,
                            trim_silence)


@pytest.fixture(scope="module")
def speech(speech_wavs) -> torch.Tensor:
    return load(speech_wavs[0])[0]


def test_trim_silence_matches_librosa(speech):
    padded = torch.cat([torch.zeros(5000), speech, 1e-5 * torch.randn(7000, generator=torch.Generator().manual_seed(0))])
    trimmed = trim_silence(padded, top_db=40, frame_length=1024, hop_length=256)
    expected, _ = librosa.effects.trim(padded.numpy(), top_db=40, frame_length=1024, hop_length=256)
    np.testing.assert_array_equal(trimmed.numpy(), expected)
    assert len(trimmed) < len(padded) - 10000


def test_trim_silence_of_silence_is_empty():
    assert trim_silence(torch.zeros(4000), top_db=60).numel() == 0
    with pytest.raises(ValueError):
        trim_silence(torch.zeros(2, 100))


def test_normalize_peak_per_row():
    audio = torch.tensor([[0.1, -0.2, 0.05], [0.0, 0.0, 0.0], [2.0, -4.0, 1.0]])
    out = normalize_peak(audio, peak=0.9)
    assert out[0].abs().max() == pytest.approx(0.9) and out[2].abs().max() == pytest.approx(0.9)
    assert torch.equal(out[1], audio[1])
    np.testing.assert_allclose(out[0].numpy(), audio[0].numpy() * 4.5, rtol=1e-6)
    assert normalize_peak(audio[0]).abs().max() == pytest.approx(0.95)


def test_normalize_loudness_reaches_target_on_speech(speech):
    out = normalize_loudness(speech, target_db=-26.0)
    level = 20 * math.log10(float(out.pow(2).mean().sqrt()))
    assert level == pytest.approx(-26.0, abs=1e-3)
    assert float(out.abs().max()) <= 1.0


def test_normalize_loudness_is_clip_safe():
    audio = torch.tensor([0.9, -0.01, 0.01, 0.0] * 100)  # high crest factor: -6 dBFS needs a clipping gain
    out = normalize_loudness(audio, target_db=-3.0)
    assert float(out.abs().max()) == pytest.approx(1.0)
    assert torch.equal(normalize_loudness(torch.zeros(10)), torch.zeros(10))


def test_mulaw_codes_and_round_trip(speech):
    channels = 256
    mu = channels - 1
    x = torch.linspace(-1.2, 1.2, 10001)
    codes = mulaw_encode(x, channels)
    assert codes.dtype == torch.long and int(codes.min()) == 0 and int(codes.max()) == mu
    assert bool((codes[1:] >= codes[:-1]).all())  # monotonic
    decoded = mulaw_decode(codes, channels)
    assert decoded.dtype == torch.float32
    inside = x.clamp(-1, 1)
    # Half a quantisation step in the companded domain, mapped back through the expansion's slope.
    bound = math.log1p(mu) * (1 + mu * inside.abs()) / mu / mu * 1.01 + 1e-6
    assert bool(((decoded - inside).abs() <= bound).all())
    assert float(mulaw_decode(torch.tensor([0, mu]), channels).abs().max()) == pytest.approx(1.0)
    speech_back = mulaw_decode(mulaw_encode(speech))
    snr = 10 * math.log10(float(speech.pow(2).sum() / (speech - speech_back).pow(2).sum()))
    assert snr > 35.0  # measured 37.8 dB on the espeak test corpus


def test_mulaw_other_channel_counts():
    x = torch.linspace(-1, 1, 1001)
    for channels in (2, 16, 1024):
        codes = mulaw_encode(x, channels)
        assert int(codes.min()) == 0 and int(codes.max()) == channels - 1
        assert mulaw_decode(codes, channels).shape == x.shape
    with pytest.raises(ValueError):
        mulaw_encode(x, 1)
