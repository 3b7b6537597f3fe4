"""DDP under torchrun: two CPU processes (gloo) train in lockstep and the checkpoint resumes in one process."""
from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from tiny_model import LAST_MODEL, tiny_config
from train_helpers import tiny_args, torchrun
from wavetron.train import latest_checkpoint, train


def test_two_processes_keep_identical_weights_and_resume_in_one(tmp_path, runner, capsys):
    out = tmp_path / "run"
    dump = tmp_path / "dump"
    dump.mkdir()
    settings = dict(max_steps=6, checkpoint_every=3, validate_every=3)
    done = torchrun(runner, tiny_args(tmp_path, out, **settings), TINY_DUMP=str(dump))
    assert done.returncode == 0, done.stderr[-3000:]

    rank0, rank1 = load_file(str(dump / "rank0.safetensors")), load_file(str(dump / "rank1.safetensors"))
    saved = load_file(str(out / "checkpoints" / "step-00000006" / "model.safetensors"))
    earlier = load_file(str(out / "checkpoints" / "step-00000003" / "model.safetensors"))
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
        assert torch.equal(rank0[name], saved[name]), name
    assert not torch.equal(rank0["out.weight"], earlier["out.weight"])  # training moved the weights

    checkpoint = latest_checkpoint(out / "checkpoints")
    assert checkpoint.state["world_size"] == 2 and len(checkpoint.state["rng"]) == 2
    # 24 items over 2 ranks in batches of 4: 3 steps per epoch, so step 6 has used all of epoch 1.
    assert checkpoint.state["training"]["epoch"] == 1 and checkpoint.state["training"]["batch_in_epoch"] == 3
    assert json.loads((out / "run.json").read_text())["world_size"] == 2
    assert done.stderr.count("step 3: validation loss") == 1  # only rank 0 reports
    assert done.stderr.count("finished at step 6") == 1

    result = train("tiny", tmp_path, out, tiny_config(**dict(settings, max_steps=9)), resume=True)
    assert result.step == 9 and "resuming from" in capsys.readouterr().err
    assert latest_checkpoint(out / "checkpoints").step == 9


def test_two_processes_step_like_one_process_with_their_combined_batch(tmp_path, runner, monkeypatch):
    """DDP averages the replicas' gradients: 2 x 4 items per step trains as one process with those 8 items."""
    settings = dict(max_steps=6, checkpoint_every=100, validate_every=100, warmup_steps=0)
    dump = tmp_path / "dump"
    dump.mkdir()
    # 24 items, one permutation per epoch on every rank: rank r takes items r, r+2, ... of it, so each
    # step's two batches of 4 are the 8 consecutive items one process takes with a batch of 8
    done = torchrun(runner, tiny_args(tmp_path, tmp_path / "two", batch_size=4, ema_decay="null", **settings),
                    TINY_DUMP=str(dump), TINY_DROPOUT="0")
    assert done.returncode == 0, done.stderr[-3000:]
    replica = load_file(str(dump / "rank0.safetensors"))
    monkeypatch.setenv("TINY_DROPOUT", "0")  # no random draw in the forward pass: the runs can agree exactly

    def alone(batch_size: int) -> dict[str, torch.Tensor]:
        train("tiny", tmp_path, tmp_path / f"one-{batch_size}", tiny_config(batch_size=batch_size, ema_decay=None,
                                                                             **settings))
        return {name: value.detach().clone() for name, value in LAST_MODEL[-1].state_dict().items()}

    single = alone(8)
    for name in single:
        assert torch.allclose(replica[name], single[name], rtol=0, atol=1e-6), name
    # one process with a batch of 4 ends elsewhere: the agreement is the combined batch's, not a fixed point
    half = alone(4)
    assert max(float((half[name] - single[name]).abs().max()) for name in single) > 1e-3
