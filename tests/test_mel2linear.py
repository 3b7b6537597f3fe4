"""The mel -> linear network: its target lines up with the mel frames, padding is ignored, training works."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import torch

from wavetron.audio import linear_spectrogram, log_magnitude, mel_filterbank
from wavetron.audio.griffin_lim import mel_to_linear
from wavetron.config import Config, from_dict
from wavetron.data import AudioMelDataset
from wavetron.errors import ConfigError
from wavetron.models.mel2linear import MelToLinear, build_mel2linear
from wavetron.train import load_model_checkpoint, train

TINY = dict(channels=16, banks=3, highways=1, window_frames=24)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def features(speech_features) -> Path:
    return speech_features


def tiny_model(features: Path) -> MelToLinear:
    from wavetron.data import FeatureSet

    audio = FeatureSet(features).audio_config
    torch.manual_seed(0)
    return build_mel2linear(from_dict(Config, {"mel2linear": TINY, "audio": vars(audio)}))


def test_the_log_magnitude_of_a_window_is_the_stft_of_the_whole_utterance_away_from_the_edges(features):
    data = AudioMelDataset(features, "train", window_frames=TINY["window_frames"], seed=3)
    model = tiny_model(features)
    item = data[0]
    start = data.window_start(0)
    frames = item["mel"].shape[-1]
    target = log_magnitude(item["audio"].unsqueeze(0), data.features.audio_config)[0, :, :frames]  # (n_freq, F)
    whole = linear_spectrogram(data.features.load_audio(data.items[0]), data.features.audio_config)
    expected = torch.log(whole[:, start: start + frames].clamp_min(1e-5))
    inner = slice(model.edge, frames - model.edge)
    assert model.edge == 2  # n_fft 1024, hop 256
    torch.testing.assert_close(target[:, inner], expected[:, inner], atol=1e-3, rtol=1e-4)
    assert (target[:, 0] - expected[:, 0]).abs().max() > 0.1  # the edge frame lacks the left context
    # and the window's log-mel is the filterbank applied to that same magnitude
    mel = torch.log((mel_filterbank(data.features.audio_config) @ target.exp()).clamp_min(1e-5))
    torch.testing.assert_close(mel[:, inner], item["mel"][:, inner], atol=2e-3, rtol=1e-3)


def test_padding_does_not_change_an_items_output(features):
    model = tiny_model(features).eval()
    mels = torch.randn(2, 80, 30)
    lengths = torch.tensor([30, 17])
    with torch.no_grad():
        both = model(mels, lengths)
        alone = model(mels[1:, :, :17])
    torch.testing.assert_close(both[1, :, :17], alone[0], atol=1e-5, rtol=1e-5)
    assert bool((both[1, :, 17:] == math.log(1e-5)).all())
    magnitude = model.magnitude(mels[0])
    assert magnitude.shape == (513, 30) and bool((magnitude > 0).all())
    with pytest.raises(ValueError, match=r"\(B, 80, T\)"):
        model(torch.randn(2, 40, 30))


def test_refine_is_the_log_mel_of_the_predicted_magnitude_in_the_features_units(features):
    from wavetron.audio import mel_spectrogram
    from wavetron.data import FeatureSet

    features_set = FeatureSet(features)
    audio_config = features_set.audio_config
    model = tiny_model(features).eval()
    item = features_set.items("train")[0]
    audio = features_set.load_audio(item)
    truth = log_magnitude(audio.unsqueeze(0), audio_config)  # (1, n_freq, F)
    frames = truth.shape[-1]
    # a network that predicts the recording's own magnitude hands back the recording's own mel
    model.forward = lambda mels, lengths=None: truth[..., : mels.shape[-1]]
    recorded = mel_spectrogram(audio, audio_config).unsqueeze(0)  # (1, n_mels, F)
    refined = model.refine(recorded)
    assert refined.shape == recorded.shape == (1, audio_config.n_mels, frames)
    torch.testing.assert_close(refined, recorded, atol=2e-3, rtol=1e-3)
    # padding frames stay at the floor (the log of silence)
    padded = model.refine(recorded, torch.tensor([frames - 5]))
    torch.testing.assert_close(padded[..., : frames - 5], refined[..., : frames - 5])
    assert bool((padded[..., frames - 5:] == math.log(audio_config.log_floor)).all())


def test_training_beats_the_filterbank_pseudo_inverse(features, tmp_path):
    """Through the real trainer: 150 steps on 10 sentences take the L1 of log magnitudes below the
    pseudo-inverse's, and the checkpoint loads back as the same kind of model."""
    config = from_dict(Config, {"mel2linear": TINY,
                                "train": {"batch_size": 8, "max_steps": 150, "lr": 0.005, "seed": 0,
                                          "validate_every": 10_000, "checkpoint_every": 10_000,
                                          "log_every": 10_000, "ema_decay": None}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train("mel2linear", features, tmp_path / "run", config)
    model, loaded = load_model_checkpoint(tmp_path / "run")
    assert isinstance(model, MelToLinear) and loaded.mel2linear.channels == TINY["channels"]
    data = AudioMelDataset(features, "train", window_frames=None)
    batch = data.collate([data[i] for i in range(len(data))])
    with torch.no_grad():
        trained = float(model.loss(batch)["linear/l1"])
    inverse = mel_to_linear(batch.mels, data.features.audio_config).clamp_min(1e-5).log()
    target = log_magnitude(batch.audio, data.features.audio_config)[..., : batch.mels.shape[-1]]
    mask = (torch.arange(batch.mels.shape[-1]).unsqueeze(0) < batch.mel_lengths.unsqueeze(1) - model.edge)
    mask = (mask & (torch.arange(batch.mels.shape[-1]) >= model.edge)).unsqueeze(1).float()
    baseline = float(((inverse - target).abs() * mask).sum() / (mask.sum() * model.n_freq))
    assert trained < 0.8 * baseline, (trained, baseline)


def test_bad_settings_name_their_key():
    with pytest.raises(ConfigError, match="mel2linear.window_frames"):
        from_dict(Config, {"mel2linear": {"window_frames": 4}})
    with pytest.raises(ConfigError, match="mel2linear.channels"):
        from_dict(Config, {"mel2linear": {"channels": 0}})
