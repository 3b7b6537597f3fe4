"""Checkpoint files: round trips, damaged folders, pruning, exports and rebuilding a model."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from tiny_model import TinyDataset, TinyModel, collate, tiny_config
from wavetron.errors import ConfigError, DataError
from wavetron.train import (export_model, latest_checkpoint, list_checkpoints, load_checkpoint,
                            load_model_checkpoint, save_checkpoint, train)
from wavetron.train.checkpoint import prune_checkpoints
from wavetron.train.optim import build_optimizer
from wavetron.train.state import load_optimizer_state, optimizer_state, rng_state, set_rng_state


def save(root, step, value=1.0):
    return save_checkpoint(root, step, {"model": {"w": torch.full((3,), value)}}, {"note": "x"})


def test_round_trip_and_state_written_last(tmp_path):
    folder = save(tmp_path, 7, 2.5)
    assert folder.name == "step-00000007" and sorted(p.name for p in folder.iterdir()) == [
        "model.safetensors", "state.json"]
    checkpoint = load_checkpoint(folder)
    assert checkpoint.step == 7 and checkpoint.state["note"] == "x"
    assert torch.equal(checkpoint.tensors["model"]["w"], torch.full((3,), 2.5))
    assert not list(tmp_path.glob(".tmp-*"))


def test_damaged_checkpoints_are_passed_over(tmp_path):
    save(tmp_path, 1)
    save(tmp_path, 2)
    newest = save(tmp_path, 3)
    (tmp_path / "step-00000004").mkdir()  # a folder without state.json is no checkpoint
    data = bytearray((newest / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF  # same size, different bytes: only the checksum notices
    (newest / "model.safetensors").write_bytes(bytes(data))
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000001", "step-00000002", "step-00000003"]
    with pytest.raises(DataError, match="do not match the checksum"):
        load_checkpoint(newest)
    assert latest_checkpoint(tmp_path).step == 2
    (tmp_path / "step-00000002" / "model.safetensors").write_bytes(b"short")  # truncated
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000001", "step-00000003"]
    assert latest_checkpoint(tmp_path).step == 1


def test_prune_keeps_the_last_k_and_the_best(tmp_path):
    for step in range(1, 7):
        save(tmp_path, step)
    prune_checkpoints(tmp_path, keep_last=2, keep_steps={2})
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000002", "step-00000005", "step-00000006"]


def test_tied_weights_are_saved(tmp_path):
    shared = torch.ones(4)
    folder = save_checkpoint(tmp_path, 1, {"model": {"a": shared, "b": shared}}, {})
    tensors = load_checkpoint(folder).tensors["model"]
    assert torch.equal(tensors["a"], tensors["b"])


def test_optimizer_and_rng_state_round_trip_exactly(tmp_path):
    config = tiny_config(optimizer="adamw", weight_decay=0.01)
    batch = collate([TinyDataset(4, 8)[i] for i in range(4)])

    def step(model, optimizer):
        optimizer.zero_grad()
        model.loss(batch)["loss"].backward()
        optimizer.step()

    torch.manual_seed(0)
    model = TinyModel(8)
    optimizer = build_optimizer(model, config.train)
    step(model, optimizer)
    tensors, meta = optimizer_state(optimizer)
    folder = save_checkpoint(tmp_path, 1, {"model": model.state_dict(), "optimizer": tensors},
                             {"optimizer": meta, "rng": rng_state()})
    step(model, optimizer)  # the reference continues...

    checkpoint = load_checkpoint(folder)
    clone = TinyModel(8)
    clone.load_state_dict(checkpoint.tensors["model"])
    clone_optimizer = build_optimizer(clone, config.train)
    load_optimizer_state(clone_optimizer, checkpoint.tensors["optimizer"], json.loads(json.dumps(
        checkpoint.state["optimizer"])))
    set_rng_state(checkpoint.state["rng"])  # ...and the clone replays the same dropout masks
    step(clone, clone_optimizer)
    for name, value in model.state_dict().items():
        assert torch.equal(value, clone.state_dict()[name]), name
    assert isinstance(clone_optimizer.param_groups[0]["betas"], tuple)


def test_load_model_checkpoint_from_run_folder_and_export(tmp_path):
    train("tiny", tmp_path, tmp_path / "run", tiny_config(max_steps=5, ema_decay=0.9))
    run = tmp_path / "run"
    newest = latest_checkpoint(run / "checkpoints")
    model, config = load_model_checkpoint(run)  # EMA weights by default
    assert config.audio.n_mels == 8 and not model.training
    assert torch.equal(model.out.weight, newest.tensors["ema"]["out.weight"])
    raw, _ = load_model_checkpoint(newest.path, use_ema=False)
    assert torch.equal(raw.out.weight, newest.tensors["model"]["out.weight"])
    assert not torch.equal(raw.out.weight, model.out.weight)

    exported, config2 = load_model_checkpoint(run / "model.safetensors")  # written at the end of training
    assert torch.equal(exported.out.weight, model.out.weight) and config2 == config
    export_model(newest.path, tmp_path / "raw.safetensors", use_ema=False)
    assert torch.equal(load_model_checkpoint(tmp_path / "raw.safetensors")[0].out.weight, raw.out.weight)

    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(DataError, match="junk.safetensors"):
        load_model_checkpoint(tmp_path / "junk.safetensors")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no intact checkpoint"):
        load_model_checkpoint(tmp_path / "empty")


def test_export_in_half_precision_and_damaged_files(tmp_path):
    train("tiny", tmp_path, tmp_path / "run", tiny_config(max_steps=3, ema_decay=None))
    full, _ = load_model_checkpoint(tmp_path / "run")
    half_path = export_model(tmp_path / "run", tmp_path / "half.safetensors", dtype="float16")
    half, _ = load_model_checkpoint(half_path)
    assert half.out.weight.dtype == torch.float32  # stored as float16, loaded back into float32
    assert torch.equal(half.out.weight, full.out.weight.half().float())
    stored = load_file(str(half_path))
    assert {t.dtype for t in stored.values() if t.is_floating_point()} == {torch.float16}
    with pytest.raises(DataError, match="dtype"):
        export_model(tmp_path / "run", tmp_path / "x.safetensors", dtype="int8")

    blob = half_path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(blob[: len(blob) * 3 // 4])
    with pytest.raises(DataError, match="cut.safetensors: not a readable safetensors file"):
        load_model_checkpoint(tmp_path / "cut.safetensors")
    header = int.from_bytes(blob[:8], "little")
    (tmp_path / "garbled.safetensors").write_bytes(blob[:8] + b"#" * header + blob[8 + header:])
    with pytest.raises(DataError, match="garbled.safetensors"):
        load_model_checkpoint(tmp_path / "garbled.safetensors")


def test_init_starts_training_from_given_weights(tmp_path):
    train("tiny", tmp_path, tmp_path / "first", tiny_config(max_steps=3, ema_decay=None))
    source, _ = load_model_checkpoint(tmp_path / "first")
    # one step at a vanishing warm-up learning rate: the weights stay those it was initialised from
    quiet = dict(max_steps=1, ema_decay=None, warmup_steps=10**7)
    train("tiny", tmp_path, tmp_path / "second", tiny_config(**quiet), init=tmp_path / "first" / "model.safetensors")
    second, _ = load_model_checkpoint(tmp_path / "second")
    assert torch.allclose(second.out.weight, source.out.weight, atol=1e-6)
    train("tiny", tmp_path, tmp_path / "fresh", tiny_config(**quiet))
    fresh, _ = load_model_checkpoint(tmp_path / "fresh")
    assert not torch.allclose(fresh.out.weight, source.out.weight, atol=1e-3)
    with pytest.raises(ConfigError, match="--init .*: a tiny model, expected tacotron"):
        train("tacotron", tmp_path, tmp_path / "third", tiny_config(max_steps=1), init=tmp_path / "first")
