"""`wavetron train` and the registry: model names, feature settings, one-line errors."""
from __future__ import annotations

import json

import pytest

from tiny_model import tiny_config
from wavetron.cli import main
from wavetron.config import AudioConfig, Config, to_dict
from wavetron.errors import ConfigError
from wavetron.models import get_model, known_models
from wavetron.train import adopt_feature_settings


def test_unknown_model_lists_the_known_ones():
    assert "tiny" in known_models()
    assert get_model("tiny").section == "audio"
    with pytest.raises(ConfigError, match=r"unknown model 'nope' \(known: .*tiny"):
        get_model("nope")


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["train", "nope", "--data", str(tmp_path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wavetron train: error: unknown model 'nope'") and "\n" not in err
    assert main(["train", "tiny", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "run")]) == 2
    assert "features folder not found" in capsys.readouterr().err
    assert main(["train", "tiny", "--data", str(tmp_path), "--out", str(tmp_path / "run"),
                 "--set", "train.optimizer=sgd"]) == 2
    assert "train.optimizer: expected adam or adamw, got 'sgd'" in capsys.readouterr().err


def test_cli_trains_writes_the_run_folder_and_seed_flag(tmp_path, capsys):
    code = main(["train", "tiny", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--seed", "11",
                 "--set", "audio.n_mels=8", "--set", "train.max_steps=4", "--set", "train.batch_size=4"])
    assert code == 0
    assert "finished at step 4" in capsys.readouterr().err
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} >= {"config.yaml", "run.json", "logs", "checkpoints", "model.safetensors"}
    assert "seed: 11" in (run / "config.yaml").read_text()


def write_manifest(folder, audio: AudioConfig) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"version": 1, "audio": to_dict(audio),
                                                      "text": {"phonemes": True, "language": "en-us"}}))


def test_feature_settings_are_adopted_or_a_conflict_is_named(tmp_path):
    made = AudioConfig(sample_rate=16000, hop_length=200, win_length=800, n_fft=800, f_max=7600.0)
    write_manifest(tmp_path / "feats", made)
    adopted = adopt_feature_settings(Config(), tmp_path / "feats")
    assert adopted.audio == made and adopted.text.phonemes
    with pytest.raises(ConfigError, match=r"audio.sample_rate=16000 but the config sets audio.sample_rate=22050"):
        adopt_feature_settings(Config(audio=AudioConfig(n_mels=64)), tmp_path / "feats")
    assert adopt_feature_settings(tiny_config(), tmp_path) == tiny_config()  # no manifest: unchanged


def test_adopting_the_features_sample_rate_is_said_in_one_line(tmp_path, capsys):
    write_manifest(tmp_path / "feats", AudioConfig(sample_rate=16000))
    adopted = adopt_feature_settings(Config(), tmp_path / "feats")  # a config at 22,050 Hz, the default
    assert adopted.audio.sample_rate == 16000
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "audio.sample_rate=16000 (config: 22050)" in err
    assert str(tmp_path / "feats" / "manifest.json") in err
    adopt_feature_settings(Config(audio=AudioConfig(sample_rate=16000)), tmp_path / "feats")
    assert "audio." not in capsys.readouterr().err  # the same audio settings: nothing to say of them
