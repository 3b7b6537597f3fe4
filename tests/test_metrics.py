"""wavetron.metrics against real (espeak) speech: identity, noise, time warps, a second MCD formulation."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from wavetron.errors import AudioError
from wavetron.metrics import (align, dtw_path, f0_rmse, log_spectral_distance, mcd, mcd_world_codec, mel_l1,
                              multi_resolution_stft_distance, pesq_wb, stoi)
from wavetron.metrics.mcd import mcd_from_features, sp2mc, world_envelope, world_features
from wavetron.metrics.pitch import pitch_scores

SNRS = (30, 20, 10, 0)


@pytest.fixture(scope="module")
def speech(speech_wavs):
    """A mid-length sentence of the corpus (about 3 s at 22.05 kHz), as float64."""
    audio, rate = sf.read(speech_wavs[1], dtype="float64")
    return audio, rate


def add_noise(audio: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(audio.size)
    noise *= np.sqrt(np.mean(audio ** 2) / 10 ** (snr_db / 10) / np.mean(noise ** 2))
    return audio + noise


@pytest.fixture(scope="module")
def noise_scores(speech):
    audio, rate = speech
    ref = world_features(audio, rate)
    scores = {}
    for snr in SNRS:
        noisy = add_noise(audio, snr)
        gen = world_features(noisy, rate)
        pitch = pitch_scores(ref.f0, gen.f0, mcd_from_features(ref, gen)[1])
        scores[snr] = {
            "mcd": mcd_from_features(ref, gen)[0], "lsd": log_spectral_distance(audio, noisy),
            "mrstft": multi_resolution_stft_distance(audio, noisy), "mel_l1": mel_l1(audio, noisy, rate),
            "vuv_error": pitch.vuv_error, "f0_rmse_cents": pitch.f0_rmse_cents,
            "pesq": pesq_wb(audio, noisy, rate), "stoi": stoi(audio, noisy, rate),
        }
    return scores


def test_identical_audio_scores_perfectly(speech):
    audio, rate = speech
    copy = audio.copy()
    assert mcd(audio, copy, rate) == pytest.approx(0.0, abs=1e-9)
    assert log_spectral_distance(audio, copy) == pytest.approx(0.0, abs=1e-9)
    assert multi_resolution_stft_distance(audio, copy) == pytest.approx(0.0, abs=1e-9)
    assert mel_l1(audio, copy, rate) == pytest.approx(0.0, abs=1e-9)
    assert pesq_wb(audio, copy, rate) >= 4.4
    assert stoi(audio, copy, rate) > 0.999
    pitch = f0_rmse(audio, copy, rate)
    assert pitch.f0_rmse_cents == pytest.approx(0.0, abs=1e-9) and pitch.vuv_error == 0.0
    assert pitch.voiced_frames > 100


@pytest.mark.parametrize("key", ["mcd", "lsd", "mrstft", "mel_l1", "vuv_error"])
def test_distances_grow_as_noise_rises(noise_scores, key):
    values = [noise_scores[snr][key] for snr in SNRS]
    assert all(a < b for a, b in zip(values, values[1:])), values
    assert values[0] > 0


def test_f0_error_is_larger_in_heavy_noise(noise_scores):
    # DIO's F0 at moderate SNR wobbles by a few cents either way, so only the extremes are ordered.
    assert noise_scores[0]["f0_rmse_cents"] > noise_scores[30]["f0_rmse_cents"] > 0


@pytest.mark.parametrize("key", ["pesq", "stoi"])
def test_perceptual_scores_fall_as_noise_rises(noise_scores, key):
    values = [noise_scores[snr][key] for snr in SNRS]
    assert all(a > b for a, b in zip(values, values[1:])), values


def test_mcd_dtw_forgives_a_time_shift(speech):
    audio, rate = speech
    shifted = np.concatenate([np.zeros(int(0.1 * rate)), audio])
    # 0.1 s is not a whole number of 5 ms frames at 22.05 kHz, so frames sample slightly other instants.
    assert mcd(audio, shifted, rate) < 1.0
    assert mcd(audio, shifted, rate, dtw=False) > 10.0


def test_mcd_dtw_forgives_a_time_stretch(speech):
    import librosa

    audio, rate = speech
    stretched = librosa.effects.time_stretch(audio, rate=0.9)  # 11% longer, same words and pitch
    with_dtw, frame_by_frame = mcd(audio, stretched, rate), mcd(audio, stretched, rate, dtw=False)
    # The phase vocoder leaves some distortion of its own; frame-by-frame compares different sounds.
    assert with_dtw < 8.0
    assert frame_by_frame > 2.0 * with_dtw


def test_mcd_agrees_with_the_world_codec_formulation(speech):
    import librosa

    audio, rate = speech
    gens = [add_noise(audio, snr, seed=1) for snr in SNRS] + [librosa.effects.time_stretch(audio, rate=0.9)]
    for gen in gens:
        first, second = mcd(audio, gen, rate), mcd_world_codec(audio, gen, rate)
        assert abs(second - first) / first < 0.05, (first, second)


def test_sp2mc_matches_pysptk(speech):
    import pysptk

    audio, rate = speech
    _, envelope = world_envelope(audio[: rate // 2], rate)
    assert np.allclose(sp2mc(envelope, 34, 0.455), pysptk.sp2mc(envelope, 34, 0.455), atol=1e-10)


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (9, 4)])
def test_dtw_matches_librosa(shape):
    import librosa

    cost = np.random.default_rng(sum(shape)).random(shape)
    path, total = dtw_path(cost)
    accumulated, _ = librosa.sequence.dtw(C=cost)
    assert total == pytest.approx(accumulated[-1, -1])
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (shape[0] - 1, shape[1] - 1)
    assert np.all(np.diff(path, axis=0) >= 0) and np.all(np.diff(path, axis=0).sum(axis=1) >= 1)
    assert total == pytest.approx(cost[path[:, 0], path[:, 1]].sum())


def test_align_removes_the_lag(speech):
    audio, _ = speech
    ref, gen, lag = align(audio, np.concatenate([np.zeros(321), audio]))
    assert lag == 321 and ref.size == gen.size and np.array_equal(ref, gen)


def test_silence_gives_clear_errors(speech):
    audio, rate = speech
    silence = np.zeros(rate)
    with pytest.raises(AudioError, match="no voiced frames"):
        f0_rmse(silence, audio, rate)
    with pytest.raises(AudioError, match="PESQ"):
        pesq_wb(silence, silence, rate)
    with pytest.raises(AudioError, match="STOI"):
        stoi(silence, audio, rate)
    with pytest.raises(AudioError, match="empty"):
        mcd(np.zeros(0), audio, rate)
    with pytest.raises(AudioError, match="mono"):
        mel_l1(np.zeros((2, 100)), audio, rate)
