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


def test_with_recordings_holds_each_item_twice_predicted_and_recorded(speech_features, tacotron_run, tmp_path):
    out = tmp_path / "mixed"
    assert main(["gta", str(tacotron_run), str(speech_features), str(out), "--with-recordings", "--quiet"]) == 0
    source, mixed = FeatureSet(speech_features), FeatureSet(out)
    originals = {item.id: item for item in source.items()}
    assert [item.id for item in mixed.items()] == [i for item in source.items() for i in (item.id, item.id + "-rec")]
    for item in mixed.items():
        original = originals[item.id.removesuffix("-rec")]
        assert (item.split, item.frames, item.text) == (original.split, original.frames, original.text)
        np.testing.assert_array_equal(mixed.load_audio(item).numpy(), source.load_audio(original).numpy())
        recorded = float((mixed.load_mel(item) - source.load_mel(original)).abs().max())
        assert (recorded == 0.0) == item.id.endswith("-rec")
    train_ids = {item.id for item in AudioMelDataset(out, "train", window_frames=8).items}
    assert any(i.endswith("-rec") for i in train_ids) and any(not i.endswith("-rec") for i in train_ids)
    assert write_gta_features(tacotron_run, speech_features, out, progress=False, with_recordings=True) == 0
    assert len(FeatureSet(out).items()) == 2 * len(source.items())  # a rerun adds no third copy
    with pytest.raises(DataError, match="with the recordings"):
        write_gta_features(tacotron_run, speech_features, out, progress=False)


def deterministic_copy(tacotron_run: Path, out: Path) -> Path:
    """``tacotron_run``'s weights as an export whose prenet keeps no dropout, so its output has no random draw."""
    from safetensors.torch import save_file

    from wavetron.train.export import read_model_weights

    name, config, weights = read_model_weights(tacotron_run)
    config["tacotron"]["prenet_dropout"] = 0.0
    metadata = {"format": "wavetron-model", "model_name": name, "config": json.dumps(config), "step": "2",
                "weights": "model"}
    save_file({k: v.contiguous() for k, v in weights.items()}, str(out), metadata=metadata)
    return out


def test_aligned_mels_are_the_tacotrons_teacher_forced_output(speech_features, tacotron_run, tmp_path):
    """Each GTA mel is the post-net output of the Tacotron fed the real mels of the same batch."""
    import torch

    from wavetron.data import TextMelDataset
    from wavetron.train import load_model_checkpoint

    tacotron = deterministic_copy(tacotron_run, tmp_path / "tacotron.safetensors")
    model, config = load_model_checkpoint(tacotron)
    data = TextMelDataset(speech_features, split=None)
    batch = data.collate([data[i] for i in range(len(data))], frames_multiple=model.r)  # all 12, file order
    with torch.no_grad():
        teacher_forced = model(batch.tokens, batch.token_lengths, batch.mels, batch.mel_lengths,
                               batch.speakers).postnet
    expected = {item_id: teacher_forced[row, :, : int(batch.mel_lengths[row])].numpy()
                for row, item_id in enumerate(batch.ids)}
    write_gta_features(tacotron, speech_features, tmp_path / "one", batch_size=12, progress=False)
    write_gta_features(tacotron, speech_features, tmp_path / "three", batch_size=5, progress=False)
    # The post-net's convolutions see the decoder's frames past an item's end, which depend on the longer
    # items padded into its batch: only the last `reach` frames may differ between batchings.
    reach = config.tacotron.postnet_convs * (config.tacotron.postnet_kernel // 2)
    for item_id, want in expected.items():
        mel = np.load(tmp_path / "one" / "mels" / f"{item_id}.npy")
        assert mel.shape == want.shape
        np.testing.assert_allclose(mel, want, rtol=0, atol=1e-5, err_msg=item_id)  # the same batch: equal
        other = np.load(tmp_path / "three" / "mels" / f"{item_id}.npy")
        np.testing.assert_allclose(other[:, :-reach], want[:, :-reach], rtol=0, atol=1e-5, err_msg=item_id)
    # with its dropout on, the Tacotron's mels are not these: the prenet's draws change them
    free = tmp_path / "free"
    write_gta_features(tacotron_run, speech_features, free, batch_size=12, progress=False)
    first = batch.ids[0]
    assert np.abs(np.load(free / "mels" / f"{first}.npy") - expected[first]).max() > 1e-3


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


def test_refine_writes_the_mel_to_linear_networks_refined_mel_of_each_aligned_mel(speech_features, tacotron_run,
                                                                                   tmp_path, capsys):
    import torch

    from wavetron.models.mel2linear import MelToLinear  # noqa: F401  (registers the model)
    from wavetron.train import load_model_checkpoint, train

    config = from_dict(Config, {"mel2linear": {"channels": 8, "banks": 2, "highways": 1, "window_frames": 16},
                                "train": {"batch_size": 4, "max_steps": 2, "ema_decay": None}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train("mel2linear", speech_features, tmp_path / "m2l", config)
    tacotron = deterministic_copy(tacotron_run, tmp_path / "tacotron.safetensors")
    write_gta_features(tacotron, speech_features, tmp_path / "plain", batch_size=12, progress=False)
    assert main(["gta", str(tacotron), str(speech_features), str(tmp_path / "refined"), "--refine",
                 str(tmp_path / "m2l"), "--batch-size", "12", "--quiet"]) == 0
    refiner, _ = load_model_checkpoint(tmp_path / "m2l")
    plain, refined = FeatureSet(tmp_path / "plain"), FeatureSet(tmp_path / "refined")
    assert json.loads((tmp_path / "refined" / "manifest.json").read_text())["gta"]["refine"] == \
        str((tmp_path / "m2l").resolve())
    for item in refined.items():
        mel = plain.load_mel(item).unsqueeze(0)
        with torch.no_grad():
            want = refiner.refine(mel, torch.tensor([mel.shape[-1]]))[0]
        got = refined.load_mel(item)
        assert got.shape == want.shape
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=1e-4, err_msg=item.id)
        assert float((got - plain.load_mel(item)).abs().mean()) > 0.01  # refined, not the Tacotron's mel
    with pytest.raises(DataError, match="other Tacotron weights"):  # one folder, one refiner
        write_gta_features(tacotron, speech_features, tmp_path / "plain", progress=False, refine=tmp_path / "m2l")
    assert main(["gta", str(tacotron), str(speech_features), str(tmp_path / "bad"), "--refine", str(tacotron)]) != 0
    assert "not a mel -> linear network" in capsys.readouterr().err
