"""The engine's ``on_validation`` hook (called at every validation, able to end the run) and time limit."""
from __future__ import annotations

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tiny_model import TinyDataset, TinyModel, collate, tiny_config
from wavetron.train import Trainer, latest_checkpoint


def make_trainer(tmp_path, on_validation, time_limit=None, **settings) -> Trainer:
    config = tiny_config(**settings)
    torch.manual_seed(config.train.seed)
    return Trainer(TinyModel(8), TinyDataset(24, 8, seed=1), TinyDataset(8, 8, seed=2), collate, config,
                   tmp_path / "run", "tiny", "audio", on_validation=on_validation, time_limit=time_limit)


def test_hook_sees_every_validation_with_the_logged_ema_metrics(tmp_path):
    seen = []
    result = make_trainer(tmp_path, lambda step, metrics: seen.append((step, metrics)) and False,
                          max_steps=30, validate_every=10).fit()
    assert [step for step, _ in seen] == [10, 20, 30]
    assert not result.stopped_early and result.step == 30
    events = EventAccumulator(str(tmp_path / "run" / "logs")).Reload()
    logged = [event.value for event in events.Scalars("val_ema/loss")]
    assert [metrics["loss"] for _, metrics in seen] == pytest.approx(logged, rel=1e-6)  # TensorBoard keeps fp32
    assert result.best_loss == min(metrics["loss"] for _, metrics in seen)


def test_returning_true_ends_the_run_at_that_step_with_a_final_checkpoint(tmp_path):
    steps = []
    result = make_trainer(tmp_path, lambda step, metrics: steps.append(step) or step >= 20,
                          max_steps=100, validate_every=10, checkpoint_every=1000).fit()
    assert steps == [10, 20]  # not validated again at the end: step 20 was just validated
    assert result.stopped_early and result.stopped_by is None and result.step == 20
    assert latest_checkpoint(tmp_path / "run" / "checkpoints").step == 20
    assert (tmp_path / "run" / "model.safetensors").is_file()


def test_a_time_limit_ends_the_run_after_the_step_that_reaches_it_and_validates_there(tmp_path):
    steps = []
    result = make_trainer(tmp_path, lambda step, metrics: steps.append(step) and False, time_limit=1e-9,
                          max_steps=100, validate_every=10).fit()
    assert result.step == 1 and result.stopped_early and result.stopped_by is None
    assert steps == [1]  # the final validation, as at max_steps
    assert 0 < result.train_seconds < 5
