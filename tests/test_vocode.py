"""`wavetron vocode` on bad and odd inputs: malformed mels, an empty wav, silence, ten minutes of it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import save_file

from wavetron.cli import main
from wavetron.config import Config, from_dict, to_dict

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def vocoder(tmp_path_factory) -> Path:
    """A tiny untrained WaveNet export with the default audio settings (80 mel bins, hop 256)."""
    from wavetron.models import get_model

    config = from_dict(Config, {"wavenet": {"layers": 2, "stacks": 1, "residual_channels": 4, "gate_channels": 8,
                                            "skip_channels": 4}})
    torch.manual_seed(0)
    model = get_model("wavenet").build(config)
    path = tmp_path_factory.mktemp("vocoder") / "wavenet.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={"format": "wavetron-model", "model_name": "wavenet", "config": json.dumps(to_dict(config)),
                        "step": "0", "weights": "model"})
    return path


@pytest.mark.parametrize("array, message", [
    (np.full((80, 4), np.nan, dtype=np.float32), "mel holds NaN or infinite values"),
    (np.zeros((40, 4), dtype=np.float32), "has 40 mel bins, vocoder"),
    (np.zeros((80, 4), dtype=np.int16), "expected a float mel array shaped (n_mels, frames), got int16 (80, 4)"),
    (np.zeros(80, dtype=np.float32), "got float32 (80,)"),
    (np.zeros((2, 80, 4), dtype=np.float32), "got float32 (2, 80, 4)"),
    (np.zeros((80, 0), dtype=np.float32), "got float32 (80, 0)"),
])
def test_malformed_mels_are_refused_in_one_line(vocoder, tmp_path, capsys, array, message):
    mel, out = tmp_path / "mel.npy", tmp_path / "out.wav"
    np.save(mel, array)
    assert main(["vocode", str(mel), "--vocoder", str(vocoder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(mel) in err and message in err
    assert not out.exists()


def test_an_empty_wav_is_called_empty_as_in_preprocess(vocoder, tmp_path, capsys):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert main(["vocode", str(empty), "--vocoder", str(vocoder), "--out", str(tmp_path / "out.wav")]) == 2
    assert f"{empty}: empty file (0 bytes)" in capsys.readouterr().err


def test_silence_is_vocoded_to_near_silence_with_a_note(vocoder, tmp_path, capsys):
    silent, out = tmp_path / "silent.wav", tmp_path / "out.wav"
    sf.write(silent, np.zeros(22050 // 4, dtype=np.float32), 22050)
    assert main(["vocode", str(silent), "--vocoder", str(vocoder), "--out", str(out)]) == 0
    assert "note: " + str(silent) + ": the mel is constant (silence)" in capsys.readouterr().err
    audio, rate = sf.read(out)
    assert rate == 22050 and audio.shape == (21 * 256,) and np.isfinite(audio).all()


def test_ten_minutes_of_input_say_it_takes_minutes_and_how_to_fold():
    from wavetron.commands.vocode import input_notes

    mel = torch.full((80, 10 * 60 * 22050 // 256), -4.0)  # ten minutes of silence's mel
    notes = input_notes(mel, 256, 22050, fold=None)
    assert notes[0].startswith("the mel is constant (silence)")
    assert notes[1].startswith("600 s of audio (13,229,824 samples)") and "--fold 64" in notes[1]
    assert "--fold" not in input_notes(mel, 256, 22050, fold=64)[1]
    speech = torch.linspace(-4, 2, 80 * 100).view(80, 100)
    assert input_notes(speech, 256, 22050, fold=None) == []


def test_mel_match_pulls_the_vocoded_audio_onto_the_input_mel(vocoder, tmp_path, speech_wavs, capsys):
    from wavetron.audio import load, mel_spectrogram
    from wavetron.config import AudioConfig

    config = AudioConfig()
    plain, matched = tmp_path / "plain.wav", tmp_path / "matched.wav"
    wav = str(speech_wavs[0])
    assert main(["vocode", wav, "--vocoder", str(vocoder), "--out", str(plain), "--mel-match", "0"]) == 0
    assert main(["vocode", wav, "--vocoder", str(vocoder), "--out", str(matched), "--mel-match", "8"]) == 0
    target = mel_spectrogram(load(wav, config.sample_rate)[0], config)

    def distance(path: Path) -> float:
        heard = mel_spectrogram(load(path, config.sample_rate)[0], config)
        frames = min(heard.shape[-1], target.shape[-1])
        return float((heard[:, :frames] - target[:, :frames]).abs().mean())

    # an untrained WaveNet makes noise far from the mel; eight steps bring it most of the way
    assert distance(matched) < 0.5 * distance(plain)
    assert main(["vocode", wav, "--vocoder", str(vocoder), "--out", str(tmp_path / "x.wav"), "--mel-match", "-1"]) == 2
    assert "--mel-match -1: expected a whole number >= 0" in capsys.readouterr().err


def test_precision_refused_where_it_cannot_run(vocoder, tmp_path, speech_wavs, capsys):
    from wavetron.generate.fast import bfloat16_available

    wav, out = str(speech_wavs[0]), str(tmp_path / "x.wav")
    assert main(["vocode", wav, "--vocoder", str(vocoder), "--out", out, "--precision", "float16",
                 "--method", "cached"]) == 2
    assert "--precision float16: the weights of the compiled loop" in capsys.readouterr().err
    code = main(["vocode", wav, "--vocoder", str(vocoder), "--out", out, "--precision", "bfloat16"])
    if bfloat16_available():
        assert code == 0 and Path(out).is_file()
    else:
        assert code == 2 and "this CPU lacks AVX-512 BF16" in capsys.readouterr().err


def test_fastest_precision_vocodes_and_is_the_shipped_voices_default(vocoder, tmp_path, speech_wavs):
    from wavetron.voice import VOICE_DIR, card_of

    out = tmp_path / "x.wav"
    assert main(["vocode", str(speech_wavs[0]), "--vocoder", str(vocoder), "--out", str(out), "--precision",
                 "fastest"]) == 0
    assert out.is_file() and sf.info(str(out)).frames > 0
    assert card_of(VOICE_DIR / "vocoder.safetensors").precision == "fastest"  # what --precision defaults to there
