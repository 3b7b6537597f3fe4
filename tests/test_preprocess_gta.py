"""Ground-truth-aligned features: a Tacotron's teacher-forced mels in a features folder of their own."""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from wavetron.cli import main
from wavetron.config import Config, from_dict, load_config
from wavetron.data import AudioMelDataset, FeatureSet
from wavetron.errors import DataError
from wavetron.preprocess.gta import write_gta_features

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tacotron_run(tiny_tacotron_run) -> Path:
    return tiny_tacotron_run


def test_every_item_gets_an_aligned_mel_and_a_rerun_resumes(speech_features, tacotron_run, tmp_path):
    out = tmp_path / "gta"
    assert write_gta_features(tacotron_run, speech_features, out, batch_size=5, progress=False) == 12
    source, gta = FeatureSet(speech_features), FeatureSet(out)
    assert [item.id for item in gta.items()] == [item.id for item in source.items()]
    assert json.loads((out / "manifest.json").read_text())["gta"]["tacotron"] == str(tacotron_run.resolve())
    for item in gta.items():
        mel, real = gta.load_mel(item), source.load_mel(item)
        assert mel.shape == real.shape and bool(mel.isfinite().all())
        assert float((mel - real).abs().mean()) > 0.01  # predicted, not copied
        np.testing.assert_array_equal(gta.load_audio(item).numpy(), source.load_audio(item).numpy())
    windows = AudioMelDataset(out, "train", window_frames=8)  # what a vocoder trains on
    assert windows[0]["audio"].shape[-1] == 8 * gta.audio_config.hop_length
    assert write_gta_features(tacotron_run, speech_features, out, progress=False) == 0
    (out / "mels" / f"{gta.items()[0].id}.npy").unlink()  # as if interrupted before the last file
    assert write_gta_features(tacotron_run, speech_features, out, progress=False) == 1
    # seeded: another folder gets the same mels
    assert main(["gta", str(tacotron_run), str(speech_features), str(tmp_path / "again"), "--batch-size", "5",
                 "--quiet"]) == 0
    again = FeatureSet(tmp_path / "again")
    for item in gta.items()[1:4]:  # (the first was rewritten alone, with another dropout draw)
        np.testing.assert_array_equal(again.load_mel(item).numpy(), gta.load_mel(item).numpy())


def test_a_folder_of_other_weights_is_refused_not_mixed(speech_features, tacotron_run, tmp_path):
    from wavetron.train import train

    out = tmp_path / "gta"
    write_gta_features(tacotron_run, speech_features, out, batch_size=12, progress=False)
    retrained = tmp_path / "retrained"
    shutil.copytree(tacotron_run, retrained)
    config = load_config(retrained / "config.yaml", ["train.max_steps=3"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train("tacotron", speech_features, retrained, config, resume=True)
    with pytest.raises(DataError, match="other Tacotron weights"):
        write_gta_features(retrained, speech_features, out, progress=False)
    with pytest.raises(DataError, match="not empty"):
        write_gta_features(tacotron_run, speech_features, speech_features, progress=False)
    assert write_gta_features(retrained, speech_features, tmp_path / "new", progress=False) == 12


def test_features_of_other_audio_settings_are_refused(speech_features, tacotron_run, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    manifest = json.loads((speech_features / "manifest.json").read_text())
    manifest["audio"]["n_mels"] = 40
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="holds .*40 mels"):
        write_gta_features(tacotron_run, other, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_a_vocoder_is_not_a_tacotron(speech_features, tmp_path, capsys):
    from wavetron.models.mel2linear import MelToLinear  # noqa: F401  (registers the model)
    from wavetron.train import train

    config = from_dict(Config, {"mel2linear": {"channels": 8, "banks": 2, "highways": 1, "window_frames": 16},
                                "train": {"batch_size": 4, "max_steps": 1, "ema_decay": None}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train("mel2linear", speech_features, tmp_path / "m2l", config)
    assert main(["gta", str(tmp_path / "m2l"), str(speech_features), str(tmp_path / "out")]) != 0
    assert "not a Tacotron" in capsys.readouterr().err
