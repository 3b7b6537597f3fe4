"""DDP under torchrun: two CPU processes (gloo) train in lockstep and the checkpoint resumes in one process."""
from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from tiny_model import tiny_config
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
