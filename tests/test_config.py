import pytest

from wavetron.config import AudioConfig, Config, load_config, save_config
from wavetron.errors import ConfigError


def test_defaults_are_ljspeech_settings():
    audio = Config().audio
    assert (audio.sample_rate, audio.n_fft, audio.hop_length, audio.win_length) == (22050, 1024, 256, 1024)
    assert (audio.n_mels, audio.f_min, audio.f_max, audio.log_floor) == (80, 0.0, 8000.0, 1e-5)


def test_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("audio:\n  n_mels: 64\n  f_max: 7600\n")
    config = load_config(path, ["audio.hop_length=200", "text.phonemes=true"])
    assert config.audio.n_mels == 64
    assert config.audio.f_max == 7600.0 and isinstance(config.audio.f_max, float)
    assert config.audio.hop_length == 200
    assert config.text.phonemes is True
    config = load_config(None, ["train.lr=3e-4", "train.min_lr=1E-6"])  # YAML 1.1 reads these as strings
    assert (config.train.lr, config.train.min_lr) == (3e-4, 1e-6)
    with pytest.raises(ConfigError, match="train.lr: expected float"):
        load_config(None, ["train.lr=3e"])


def test_round_trip(tmp_path):
    config = load_config(None, ["audio.n_mels=100", "data.normalize=null"])
    save_config(config, tmp_path / "out.yaml")
    assert load_config(tmp_path / "out.yaml") == config


@pytest.mark.parametrize("override, message", [
    ("audio.n_mel=100", "unknown config key 'audio.n_mel'"),
    ("audoi.n_mels=100", "unknown config key 'audoi'"),
    ("audio.n_mels=many", "audio.n_mels: expected int"),
    ("audio.win_length=2048", "audio.win_length: expected in 1..n_fft"),
    ("audio.f_max=20000", "audio.f_max"),
    ("text.phonemes=3", "text.phonemes: expected true or false"),
    ("audio", "expected section.key=value"),
])
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("'", "'")):
        load_config(None, [override])


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("audio: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(scalar)


def test_feature_hash_tracks_feature_settings():
    assert AudioConfig().feature_hash() == AudioConfig().feature_hash()
    assert AudioConfig().feature_hash() != AudioConfig(n_mels=64).feature_hash()
