"""Resuming and crash safety with real processes and real signals (SIGKILL, SIGTERM)."""
from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tiny_model import tiny_config
from train_helpers import popen, tiny_args, wait_for
from wavetron.train import latest_checkpoint, list_checkpoints, load_checkpoint, train


def weights(run_dir: Path, step: int) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "checkpoints" / f"step-{step:08d}" / "model.safetensors"))


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, runner, capsys):
    # 24 items in batches of 4: step 10 stops in the middle of the second epoch.
    settings = dict(max_steps=20, checkpoint_every=10, validate_every=5)
    train("tiny", tmp_path, tmp_path / "straight", tiny_config(**settings))  # same settings as tiny_args

    interrupted = tmp_path / "interrupted"
    process = popen(runner, tiny_args(tmp_path, interrupted, **settings), TINY_STEP_SLEEP="0.15")
    wait_for(lambda: (interrupted / "checkpoints" / "step-00000010").exists(), process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert latest_checkpoint(interrupted / "checkpoints").step == 10

    result = train("tiny", tmp_path, interrupted, tiny_config(**settings), resume=True)
    assert result.step == 20
    assert "resuming from" in capsys.readouterr().err
    expected, got = weights(tmp_path / "straight", 20), weights(interrupted, 20)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=0, atol=1e-6)
    ema_expected = load_file(str(tmp_path / "straight" / "checkpoints" / "step-00000020" / "ema.safetensors"))
    ema_got = load_file(str(interrupted / "checkpoints" / "step-00000020" / "ema.safetensors"))
    for name in ema_expected:
        torch.testing.assert_close(ema_got[name], ema_expected[name], rtol=0, atol=1e-6)


def test_sigkill_while_a_checkpoint_is_written_leaves_the_previous_one(tmp_path, runner):
    out = tmp_path / "run"
    checkpoints = out / "checkpoints"
    # Each checkpoint file is followed by a 0.5 s pause, so the kill lands inside the writer.
    process = popen(runner, tiny_args(tmp_path, out, max_steps=50, checkpoint_every=2, validate_every=1000),
                    WAVETRON_CHECKPOINT_WRITE_DELAY="0.5")
    wait_for(lambda: any(p.name.startswith(".tmp-step-00000004") and any(p.iterdir())
                         for p in checkpoints.glob(".tmp-*")), process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert [p.name for p in list_checkpoints(checkpoints)] == ["step-00000002"]
    partial = next(checkpoints.glob(".tmp-step-00000004*"))
    assert not (partial / "state.json").exists()
    checkpoint = load_checkpoint(checkpoints / "step-00000002")  # checksums verified
    assert checkpoint.step == 2 and set(checkpoint.tensors) == {"model", "optimizer", "ema"}

    train("tiny", tmp_path, out, tiny_config(max_steps=6, checkpoint_every=2, validate_every=1000), resume=True)
    assert not list(checkpoints.glob(".tmp-*"))  # the half-written folder was cleared
    assert latest_checkpoint(checkpoints).step == 6


def test_sigterm_saves_and_exits_cleanly(tmp_path, runner):
    out = tmp_path / "run"
    process = popen(runner, tiny_args(tmp_path, out, max_steps=1000, checkpoint_every=2, validate_every=1000),
                    TINY_STEP_SLEEP="0.05")
    wait_for(lambda: (out / "checkpoints" / "step-00000002").exists(), process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert "stopped by SIGTERM" in stderr and "--resume" in stderr
    checkpoint = latest_checkpoint(out / "checkpoints")
    assert 2 <= checkpoint.step < 1000 and checkpoint.state["training"]["step"] == checkpoint.step
    assert not (out / "model.safetensors").exists()  # exported only when training finishes


@pytest.mark.slow
def test_sigkill_at_random_moments_always_leaves_a_loadable_checkpoint(tmp_path, runner):
    out = tmp_path / "run"
    generator = torch.Generator().manual_seed(0)
    reached = 0
    for attempt in range(6):
        args = tiny_args(tmp_path, out, max_steps=10_000, checkpoint_every=3, validate_every=7, keep_last=2)
        process = popen(runner, args + (["--resume"] if attempt else []), TINY_STEP_SLEEP="0.01",
                        WAVETRON_CHECKPOINT_WRITE_DELAY="0.05")

        def progressed():
            newest = list_checkpoints(out / "checkpoints")
            return bool(newest) and int(newest[-1].name.split("-")[1]) > reached

        wait_for(progressed, process)
        time.sleep(1.5 * torch.rand(1, generator=generator).item())  # somewhere in the steps or the writer
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        checkpoint = latest_checkpoint(out / "checkpoints")
        assert checkpoint is not None and checkpoint.step > reached
        assert load_checkpoint(checkpoint.path).step == checkpoint.step
        reached = checkpoint.step
