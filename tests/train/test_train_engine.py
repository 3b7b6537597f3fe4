"""The training loop in-process: overfitting, precision, NaN guard, validation hooks, logging, seeds."""
from __future__ import annotations

import math

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import tiny_model
from tiny_model import TinyDataset, TinyModel, collate, tiny_config
from wavetron.errors import ConfigError
from wavetron.train import Trainer, TrainingError, latest_checkpoint, list_checkpoints, train


def make_trainer(tmp_path, model=None, train_set=None, **settings) -> Trainer:
    config = tiny_config(**settings)
    torch.manual_seed(config.train.seed)
    model = model or TinyModel(8)
    train_set = train_set if train_set is not None else TinyDataset(24, 8, seed=1)
    return Trainer(model, train_set, TinyDataset(8, 8, seed=2), collate, config, tmp_path / "run", "tiny", "audio")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_tiny_model_overfits_one_batch(tmp_path, precision):
    batch = collate([TinyDataset(4, 8, seed=3)[i] for i in range(4)])
    model = TinyModel(8, hidden=64, dropout=0.0)
    with torch.no_grad():
        before = model.loss(batch)["loss"].item()
    trainer = make_trainer(tmp_path, model, TinyDataset(4, 8, seed=3), max_steps=300, lr=1e-2, precision=precision,
                           validate_every=1000, checkpoint_every=1000, ema_decay=None)
    result = trainer.fit()
    with torch.no_grad():
        after = model.loss(batch)["loss"].item()
    assert result.step == 300
    assert after < before / 10, (precision, before, after)


def test_bf16_autocast_runs_matmuls_in_bf16(tmp_path):
    trainer = make_trainer(tmp_path, precision="bf16")
    seen = []
    hook = trainer.model.out.register_forward_hook(lambda module, args, output: seen.append(output.dtype))
    trainer.cfg.max_steps = 2
    trainer.fit()
    hook.remove()
    assert torch.bfloat16 in seen
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())  # master weights stay fp32


def test_run_directory_logs_every_loss_key_and_validation_media(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=10, log_every=5, validate_every=5)
    result = trainer.fit()
    run = tmp_path / "run"
    assert (run / "model.safetensors").is_file() and result.best_step in (5, 10)
    events = EventAccumulator(str(run / "logs"), size_guidance={"audio": 0, "images": 0}).Reload()
    scalars = set(events.Tags()["scalars"])
    for tag in ("train/loss", "train/wave/mse", "train/wave/l1", "train/lr", "train/grad_norm",
                "train/step_time", "train/samples_per_s", "val/loss", "val_ema/loss", "val_ema/wave/max_error"):
        assert tag in scalars, tag
    assert [e.step for e in events.Scalars("train/loss")] == [5, 10]
    assert "val_ema/pred" in events.Tags()["audio"] and "val_ema/mel" in events.Tags()["images"]


def test_nan_guard_skips_isolated_non_finite_steps(tmp_path, capsys):
    model = TinyModel(8)
    model.poison = {3, 4, 9}  # loss() calls 3, 4 and 9 return NaN
    trainer = make_trainer(tmp_path, model, max_steps=12, nan_patience=3, validate_every=1000)
    result = trainer.fit()
    # 12 applied + 3 skipped training batches, then 2 validation batches on raw and on EMA weights
    assert result.step == 12 and model.calls == 15 + 4
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert "non-finite loss or gradient" in capsys.readouterr().err


def test_nan_guard_reloads_last_checkpoint_with_lower_lr_then_stops(tmp_path, capsys):
    model = TinyModel(8)
    trainer = make_trainer(tmp_path, model, max_steps=40, checkpoint_every=5, nan_patience=2, nan_max_reloads=2,
                           nan_lr_factor=0.5)
    saved = []
    original = trainer.restore
    trainer.restore = lambda ckpt: (saved.append(ckpt.step), original(ckpt))[1]
    poison_from = 7 + 1  # every loss() after step 7 is NaN: steps 8.. never happen
    model.poison = set(range(poison_from, 10_000))
    with pytest.raises(TrainingError, match="2 reloads with a lower learning rate did not help"):
        trainer.fit()
    assert saved == [5, 5]  # went back to the newest checkpoint twice
    assert trainer.state.lr_scale == pytest.approx(0.25) and trainer.state.nan_reloads == 2
    assert "reloaded step-00000005 with learning-rate scale 0.5" in capsys.readouterr().err
    assert [p.name for p in list_checkpoints(tmp_path / "run" / "checkpoints")][-1] == "step-00000005"


def test_nan_guard_without_checkpoint_stops_with_a_clear_message(tmp_path):
    model = TinyModel(8)
    model.poison_all = True
    trainer = make_trainer(tmp_path, model, nan_patience=3)
    with pytest.raises(TrainingError, match="non-finite for 3 steps in a row at step 0 and there is no checkpoint"):
        trainer.fit()


def test_same_seed_same_losses_and_different_seed_differs(tmp_path):
    def final_weights(name, seed):
        train("tiny", tmp_path, tmp_path / name, tiny_config(max_steps=6, seed=seed, validate_every=100))
        return tiny_model.LAST_MODEL[-1].out.weight.detach().clone()

    first, second, other = final_weights("a", 3), final_weights("b", 3), final_weights("c", 4)
    assert torch.equal(first, second)
    assert not torch.allclose(first, other)


def test_gradient_accumulation_matches_a_larger_batch(tmp_path):
    def run(name, batch_size, accumulate):
        model = TinyModel(8, dropout=0.0)
        torch.manual_seed(0)
        model.load_state_dict(TinyModel(8, dropout=0.0).state_dict())
        trainer = make_trainer(tmp_path / name, model, TinyDataset(8, 8), batch_size=batch_size,
                               accumulate=accumulate, max_steps=3, grad_clip=None, validate_every=100, ema_decay=None)
        trainer.sampler.shuffle = False  # the same items in the same order in both runs
        trainer.fit()
        return model.inp.weight.detach()

    assert torch.allclose(run("big", 4, 1), run("accumulated", 2, 2), atol=1e-6)


def test_refuses_to_overwrite_a_run_and_a_changed_model_structure(tmp_path):
    train("tiny", tmp_path, tmp_path / "run", tiny_config(max_steps=10))
    with pytest.raises(ConfigError, match="already holds checkpoints; pass --resume"):
        train("tiny", tmp_path, tmp_path / "run", tiny_config(max_steps=20))
    changed = tiny_config(max_steps=20)
    changed.audio.n_mels = 6
    with pytest.raises(ConfigError, match=r"audio.n_mels is 8 in the checkpoint but 6 in the config"):
        train("tiny", tmp_path, tmp_path / "run", changed, resume=True)
    result = train("tiny", tmp_path, tmp_path / "run", tiny_config(max_steps=15), resume=True)
    assert result.step == 15 and latest_checkpoint(tmp_path / "run" / "checkpoints").step == 15


def test_fp16_on_cpu_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        make_trainer(tmp_path, precision="fp16")


def test_epochs_limit_stops_before_max_steps(tmp_path):
    result = make_trainer(tmp_path, max_steps=1000, epochs=2, validate_every=1000).fit()
    assert result.step == 12 and result.epoch == 2  # 24 items / batch 4 = 6 steps per epoch
    assert math.isfinite(result.best_loss)
