"""WaveNet through the real trainer on real speech, and `wavetron vocode` end to end."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from wavetron.config import Config, from_dict, to_dict


@pytest.fixture(scope="module")
def features(speech_corpus, tmp_path_factory) -> Path:
    from wavetron.preprocess.run import preprocess

    out = tmp_path_factory.mktemp("features")
    preprocess(speech_corpus, out, Config(), workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def one_clip(features, tmp_path_factory) -> Path:
    """The features folder cut down to its shortest utterance, used for training and validation."""
    out = tmp_path_factory.mktemp("one_clip")
    manifest = json.loads((features / "manifest.json").read_text())
    item = min(manifest["items"], key=lambda it: it["frames"])
    for sub in ("mels", "audio"):
        (out / sub).mkdir()
        shutil.copy(features / sub / f"{item['id']}.npy", out / sub)
    manifest["items"] = [dict(item, split="train"), dict(item, id=item["id"], split="val")]
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def tiny_config(steps: int) -> Config:
    return from_dict(Config, {
        "wavenet": {"layers": 8, "stacks": 2, "residual_channels": 24, "gate_channels": 48, "skip_channels": 24,
                    "window_frames": 12, "validation_seconds": 0.05},
        "train": {"batch_size": 8, "max_steps": steps, "lr": 3e-3, "ema_decay": None, "validate_every": steps,
                  "checkpoint_every": steps, "log_every": steps, "validation_batches": 1, "device": "cpu",
                  "schedule": "constant", "seed": 0},
    })


def train_tiny(features: Path, run: Path, steps: int, lr: float) -> None:
    import dataclasses

    from wavetron.train import train

    config = tiny_config(steps)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, lr=lr))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train("wavenet", features, run, config)
    finally:
        torch.set_num_threads(threads)


def clip_batch(one_clip: Path):
    from wavetron.data import AudioMelDataset

    data = AudioMelDataset(one_clip, "train", window_frames=None)
    return data.collate([data[0]])


def loss_before_after(one_clip: Path, run: Path) -> tuple[float, float, torch.nn.Module]:
    from wavetron.models.wavenet import build_wavenet
    from wavetron.train import load_model_checkpoint

    batch = clip_batch(one_clip)
    torch.manual_seed(0)  # the trainer seeds train.seed (0) before building: the same initial weights
    untrained = build_wavenet(tiny_config(1)).eval()
    model, _ = load_model_checkpoint(run)
    with torch.no_grad():
        return float(untrained.loss(batch)["loss"]), float(model.loss(batch)["loss"]), model


@pytest.fixture(scope="module")
def trained(one_clip, tmp_path_factory) -> Path:
    """A tiny vocoder after a few steps: enough for the loss to move and for the CLI to load it."""
    run = tmp_path_factory.mktemp("run")
    train_tiny(one_clip, run, steps=40, lr=1e-2)
    return run


def test_training_lowers_the_loss(one_clip, trained):
    before, after, _ = loss_before_after(one_clip, trained)
    assert after < 0.96 * before, (before, after)  # measured 5.57 -> 5.21 nats after 40 steps


def test_overfits_a_real_clip_and_predicts_its_samples(one_clip, tmp_path):
    """240 steps on one clip: the loss falls and, fed the clip's past, the model predicts its next samples."""
    train_tiny(one_clip, tmp_path / "run", steps=240, lr=1e-2)
    before, after, model = loss_before_after(one_clip, tmp_path / "run")
    assert after < 0.7 * before, (before, after)  # nats; measured 5.57 -> 3.27
    batch = clip_batch(one_clip)
    with torch.no_grad():
        target = model.encode_audio(batch.audio)
        predicted = model(model.shift(target), batch.mels, mel_context=batch.mel_context).argmax(1)  # (B, T) classes
    close = float(((predicted - target).abs() <= 4).float().mean())
    assert close > 0.35, close  # within 4 of 256 classes: measured 0.53 (the untrained model: 0.05)
    wave = model.generate(batch.mels, seed=0)[0]
    assert wave.shape == batch.audio[0].shape and bool(wave.isfinite().all())


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wavetron", *args], capture_output=True, text=True, timeout=300)


def test_vocode_wav_and_mel_end_to_end(trained, one_clip, speech_wavs, tmp_path):
    """The command's plumbing with a 40-step vocoder; what a trained one makes of a recording is
    test_voice.py's copy synthesis through the shipped WaveNet (PESQ, STOI, WER and mel bounds)."""
    import soundfile as sf

    out = tmp_path / "copy.wav"
    result = run_cli("vocode", str(speech_wavs[0]), "--vocoder", str(trained), "--out", str(out))
    assert result.returncode == 0, result.stderr
    wave, rate = sf.read(out)
    original, original_rate = sf.read(speech_wavs[0])
    assert rate == 22050 and abs(len(wave) - len(original) * 22050 / original_rate) <= 256
    assert np.abs(wave).max() > 0.01
    mel = next((one_clip / "mels").glob("*.npy"))
    out2 = tmp_path / "mel.wav"
    result = run_cli("vocode", str(mel), "--vocoder", str(trained), "--out", str(out2), "--fold", "20")
    assert result.returncode == 0, result.stderr
    assert sf.info(out2).frames == np.load(mel).shape[1] * 256


def test_vocode_refuses_mel_of_other_settings(trained, one_clip, tmp_path):
    mel = next((one_clip / "mels").glob("*.npy"))
    result = run_cli("vocode", str(mel), "--vocoder", str(trained), "--out", str(tmp_path / "x.wav"),
                     "--set", "audio.hop_length=200", "--set", "audio.win_length=800")
    assert result.returncode == 2
    message = result.stderr.strip()
    assert "\n" not in message and "hop 200" in message and "hop 256" in message
    wrong = tmp_path / "mels" / "m.npy"
    wrong.parent.mkdir()
    np.save(wrong, np.zeros((64, 10), np.float32))
    result = run_cli("vocode", str(wrong), "--vocoder", str(trained), "--out", str(tmp_path / "y.wav"))
    assert result.returncode == 2 and "64 mel bins" in result.stderr and "expects 80" in result.stderr
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "y.wav").exists()


def test_init_grows_a_trained_vocoder_by_a_mel_encoder(trained, one_clip, tmp_path, capsys):
    """--init from a vocoder without a mel encoder: its weights load, the new encoder starts as the identity."""
    from wavetron.train import load_model_checkpoint, train

    config = from_dict(Config, {**to_dict(tiny_config(1)),
                                "wavenet": {**to_dict(tiny_config(1))["wavenet"], "encoder_blocks": 1}})
    config = from_dict(Config, {**to_dict(config), "train": {**to_dict(config)["train"], "warmup_steps": 10**7}})
    torch.set_num_threads(1)
    train("wavenet", one_clip, tmp_path / "grown", config, init=trained)
    assert "tensors not in it keep their initial values (encoder.blocks.0" in capsys.readouterr().err
    source, _ = load_model_checkpoint(trained)
    grown, _ = load_model_checkpoint(tmp_path / "grown")
    assert grown.encoder is not None and source.encoder is None
    batch = clip_batch(one_clip)
    with torch.no_grad():  # one step at a vanishing learning rate: the same function as the source
        assert abs(float(grown.loss(batch)["loss"]) - float(source.loss(batch)["loss"])) < 1e-3
    # the other way round is refused: the encoder's weights have no place in a plain vocoder
    with pytest.raises(Exception, match="do not fit the configured wavenet"):
        train("wavenet", one_clip, tmp_path / "shrunk", tiny_config(1), init=tmp_path / "grown")


def test_training_windows_carry_the_conditioning_reach(one_clip):
    from wavetron.models.wavenet import dims_from_config, mel_reach, wavenet_datasets

    config = tiny_config(1)
    train_set, val_set, collate = wavenet_datasets(one_clip, config)
    reach = mel_reach(dims_from_config(config))
    assert train_set.context_frames == val_set.context_frames == reach == 3  # upsampling 4*4*4*4 reaches 3 frames
    batch = collate([train_set[0]])
    assert batch.mel_context == reach and batch.mels.shape[-1] == 12 + 2 * reach
