"""Tacotron through the real trainer on real speech: losses fall and attention becomes diagonal."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from wavetron.config import Config, from_dict
from wavetron.data import TextMelDataset
from wavetron.models.tacotron import build_tacotron
from wavetron.train import load_model_checkpoint, train

SMALL = dict(embedding_dim=64, encoder_dim=64, attention_dim=32, location_filters=8, location_kernel=15,
             prenet_dims=[64, 64], decoder_dim=96, postnet_dim=32, reduction_factor=4, dropout=0.1,
             decoder_dropout=0.0, guided_attention_weight=10.0, guided_attention_decay_steps=1000)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def features(speech_features) -> Path:
    return speech_features


def train_tiny(features: Path, run: Path, steps: int, lr: float = 0.005, **tacotron) -> tuple[Config, object]:
    config = from_dict(Config, {"tacotron": SMALL | tacotron,
                                "train": {"batch_size": 10, "max_steps": steps, "lr": lr, "seed": 0,
                                          "validate_every": 10_000, "checkpoint_every": 10_000,
                                          "log_every": 10_000, "ema_decay": None}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train("tacotron", features, run, config)
    model, _ = load_model_checkpoint(run)
    return config, model


def training_batch(features: Path):
    data = TextMelDataset(features, "train")
    return data.collate([data[i] for i in range(len(data))], frames_multiple=SMALL["reduction_factor"])


def test_training_lowers_the_loss(features, tmp_path):
    batch = training_batch(features)
    torch.manual_seed(0)
    untrained = build_tacotron(from_dict(Config, {"tacotron": SMALL})).eval()
    with torch.no_grad():
        loss_before = float(untrained.loss(batch)["loss"])
    _, model = train_tiny(features, tmp_path / "run", steps=20)
    with torch.no_grad():
        loss_after = float(model.loss(batch)["loss"])
    assert loss_after < loss_before / 2.5
    assert int(model.updates) == 20  # the guided attention decay counted every update


def test_a_few_sentences_overfit_to_a_diagonal_alignment_that_stops(features, tmp_path):
    """80 steps over the 10 training sentences (at lr 0.015; 300 at 0.005 reached the same)."""
    batch = training_batch(features)
    torch.manual_seed(0)
    before = build_tacotron(from_dict(Config, {"tacotron": SMALL})).eval().validation_metrics(batch)
    assert before["align/diagonality"] < 0.6 and before["infer/focus"] < 0.3
    _, model = train_tiny(features, tmp_path / "run", steps=80, lr=0.015)
    scores = model.validation_metrics(batch)
    # measured: diagonality 0.962, focus 0.601, inference stopped for all 10 (after 40 steps: 0.81 and 0.40)
    assert scores["align/diagonality"] > 0.9, scores
    assert scores["align/focus"] > 0.3, scores
    assert scores["infer/stopped"] >= 0.8, scores


def test_tacotron1_variant_trains_on_linear_targets(features, tmp_path):
    _, model = train_tiny(features, tmp_path / "run", steps=2, variant="tacotron1", cbhg_banks=4, cbhg_highways=1)
    batch = training_batch(features)
    assert batch.audio is None  # the model's own dataset adds the audio its linear target needs
    from wavetron.models.tacotron_data import datasets

    train_set, _, collate = datasets(features, from_dict(Config, {"tacotron": SMALL | {"variant": "tacotron1"}}))
    full = collate([train_set[0], train_set[1]])
    assert full.audio is not None and full.audio.shape[1] >= full.mel_lengths.max() * 256
    assert torch.isfinite(model.loss(full)["linear/l1"])


def test_tensorboard_log_holds_validation_images_and_audio(tiny_tacotron_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tiny_tacotron_run / "logs"), size_guidance={"audio": 0, "images": 0})
    events.Reload()
    tags = events.Tags()
    assert {"val/alignment", "val/mel_inferred"} <= set(tags["images"])
    assert {"val/target", "val/inferred"} <= set(tags["audio"])
    target = events.Audio("val/target")[-1]
    assert target.sample_rate == 22050 and target.length_frames > 1000  # the first validation sentence's length
