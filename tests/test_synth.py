"""Synthesis: text splitting, `wavetron synth` end to end with tiny checkpoints, vocoder checks, bad text."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from safetensors.torch import save_file

from wavetron.cli import main
from wavetron.config import Config, from_dict, to_dict
from wavetron.errors import ConfigError, TextError
from wavetron.synth import Synthesizer, split_sentences

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def features(speech_features) -> Path:
    return speech_features


@pytest.fixture(scope="module")
def tacotron_run(tiny_tacotron_run) -> Path:
    return tiny_tacotron_run


def export(path: Path, model_name: str, config: Config) -> Path:
    """A freshly built (untrained, seed 0) model saved as a single-file export with its config."""
    from wavetron.models import get_model

    torch.manual_seed(0)
    model = get_model(model_name).build(config)
    metadata = {"format": "wavetron-model", "model_name": model_name, "config": json.dumps(to_dict(config)),
                "step": "0", "weights": "model"}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path), metadata=metadata)
    return path


def wavenet_export(path: Path, audio: dict | None = None) -> Path:
    """A tiny (untrained) WaveNet vocoder export with the given audio settings."""
    return export(path, "wavenet", from_dict(Config, {"audio": audio or {}, "wavenet": {
        "layers": 2, "stacks": 1, "residual_channels": 4, "gate_channels": 8, "skip_channels": 4}}))


def mel2linear_export(path: Path, audio: dict | None = None) -> Path:
    """A tiny (untrained) mel -> linear network export with the given audio settings."""
    return export(path, "mel2linear", from_dict(Config, {"audio": audio or {}, "mel2linear": {
        "channels": 8, "banks": 2, "highways": 1}}))


def test_split_sentences_normalises_and_cuts_long_ones():
    assert split_sentences("Dr. Smith came. Did he? Yes!") == ["doctor smith came.", "did he?", "yes!"]
    long = ", ".join(["one two three"] * 30) + "."
    pieces = split_sentences(long, max_chars=60)
    assert all(len(piece) <= 60 for piece in pieces) and len(pieces) > 5
    assert " ".join(pieces).replace(" ", "") == split_sentences(long, max_chars=10_000)[0].replace(" ", "")
    with pytest.raises(TextError):
        split_sentences("  ... !!! ")


def test_cli_synthesises_long_text_with_griffin_lim_and_plots_alignments(tacotron_run, tmp_path, capsys):
    out, image = tmp_path / "out.wav", tmp_path / "align.png"
    code = main(["synth", "--text", "Hello there. This is a test! Is it short?", "--out", str(out),
                 "--tacotron", str(tacotron_run), "--alignment", str(image), "--griffin-lim-iters", "4"])
    assert code == 0
    audio, rate = soundfile.read(out)
    assert rate == 22050 and audio.ndim == 1 and len(audio) > 0 and np.isfinite(audio).all()
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    err = capsys.readouterr().err
    assert "3 sentence(s)" in err


def test_synthesizer_batches_sentences_in_order_with_a_wavenet(tacotron_run, tmp_path):
    vocoder = wavenet_export(tmp_path / "wavenet.safetensors")
    synth = Synthesizer(tacotron=tacotron_run, vocoder=vocoder, batch_size=2, max_decoder_steps=4, pause=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        audio, rate = synth.synthesize("A cat. A much longer second sentence here. Third one.")
    sentences = synth.last_sentences
    assert [s.text for s in sentences] == ["a cat.", "a much longer second sentence here.", "third one."]
    hop = synth.audio.hop_length
    assert all(len(s.audio) == s.mel.shape[-1] * hop for s in sentences)
    assert len(audio) == sum(len(s.audio) for s in sentences) + 2 * int(0.1 * rate)
    assert audio.dtype == np.float32 and np.abs(audio).max() <= 1.0


def test_synthesizer_passes_its_attention_window_to_the_tacotron(tacotron_run, monkeypatch):
    synth = Synthesizer(tacotron=tacotron_run, vocoder="griffin-lim", max_decoder_steps=4, attention_window=[0, 2])
    seen = []
    infer = synth.tacotron.infer
    monkeypatch.setattr(synth.tacotron, "infer", lambda *a, **k: seen.append(k["attention_window"]) or infer(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        synth.synthesize("A cat.")
    assert seen == [[0, 2]]
    with pytest.raises(ConfigError, match="attention_window"):
        Synthesizer(tacotron=tacotron_run, vocoder="griffin-lim", attention_window=[3])


def test_vocoder_with_other_audio_settings_is_refused(tacotron_run, tmp_path, capsys):
    vocoder = wavenet_export(tmp_path / "other.safetensors", audio={"n_mels": 40})
    with pytest.raises(ConfigError, match=r"audio\.n_mels=40.*audio\.n_mels=80"):
        Synthesizer(tacotron=tacotron_run, vocoder=vocoder)
    code = main(["synth", "--text", "hi", "--out", str(tmp_path / "x.wav"), "--tacotron", str(tacotron_run),
                 "--vocoder", str(vocoder)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "audio.n_mels" in err
    assert not (tmp_path / "x.wav").exists()


def test_griffin_lim_inverts_through_a_mel2linear_network(tacotron_run, tmp_path, capsys):
    from wavetron.audio import griffin_lim
    from wavetron.train import load_model_checkpoint

    network = mel2linear_export(tmp_path / "m2l.safetensors")
    kwargs = dict(tacotron=tacotron_run, vocoder="griffin-lim", griffin_lim_iters=3, max_decoder_steps=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        through = Synthesizer(mel2linear=network, **kwargs)
        audio, _ = through.synthesize("A cat sat.")
        plain, _ = Synthesizer(mel2linear=None, **kwargs).synthesize("A cat sat.")
    model, _ = load_model_checkpoint(network)
    mel = through.last_sentences[0].mel
    expected = griffin_lim(model.magnitude(mel), through.audio, n_iter=3, seed=0).clamp(-1, 1).numpy()
    np.testing.assert_allclose(audio, expected[: len(audio)], atol=1e-4)
    assert len(audio) == len(plain) and np.abs(audio - plain).max() > 1e-3
    other = mel2linear_export(tmp_path / "other.safetensors", audio={"n_fft": 512, "win_length": 512})
    with pytest.raises(ConfigError, match=r"audio\.n_fft=512"):
        Synthesizer(tacotron=tacotron_run, vocoder="griffin-lim", mel2linear=other)
    out = tmp_path / "x.wav"
    assert main(["synth", "--text", "hi", "--out", str(out), "--tacotron", str(tacotron_run),
                 "--mel2linear", str(network), "--griffin-lim-iters", "2", "--max-decoder-steps", "4",
                 "--quiet"]) == 0
    assert out.is_file()
    wavenet = wavenet_export(tmp_path / "wavenet.safetensors")
    assert main(["synth", "--text", "hi", "--out", str(out), "--tacotron", str(tacotron_run),
                 "--mel2linear", str(wavenet)]) == 2
    assert "not a mel -> linear network" in capsys.readouterr().err


def test_empty_and_unknown_text(tacotron_run, tmp_path, capsys):
    out = tmp_path / "x.wav"
    assert main(["synth", "--text", "   ", "--out", str(out), "--tacotron", str(tacotron_run)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["synth", "--text", "日本語", "--out", str(out), "--tacotron", str(tacotron_run)]) == 2
    assert not out.exists()
    synth = Synthesizer(tacotron=tacotron_run, griffin_lim_iters=2, max_decoder_steps=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        audio, _ = synth.synthesize("Hello 日本 world.")  # unknown symbols are dropped
    assert synth.last_sentences[0].text == "hello world."
    assert len(audio) > 0


def test_missing_checkpoint_and_wrong_model_kind(tacotron_run, tmp_path, capsys):
    code = main(["synth", "--text", "hi", "--out", str(tmp_path / "x.wav"), "--tacotron", str(tmp_path / "nope")])
    assert code == 2 and "checkpoint not found" in capsys.readouterr().err
    vocoder = wavenet_export(tmp_path / "wavenet.safetensors")
    code = main(["synth", "--text", "hi", "--out", str(tmp_path / "x.wav"), "--tacotron", str(vocoder)])
    assert code == 2 and "not a Tacotron" in capsys.readouterr().err


def test_text_file_input(tacotron_run, tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("First line. Second line.\n", encoding="utf-8")
    out = tmp_path / "out.wav"
    assert main(["synth", "--text-file", str(text), "--out", str(out), "--tacotron", str(tacotron_run),
                 "--griffin-lim-iters", "2", "--quiet"]) == 0
    assert out.is_file()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    assert main(["synth", "--text-file", str(bad), "--out", str(out), "--tacotron", str(tacotron_run)]) == 2


TINY_TACOTRON = dict(embedding_dim=16, encoder_dim=16, attention_dim=8, location_filters=4, location_kernel=5,
                     prenet_dims=[16], decoder_dim=16, postnet_dim=8, postnet_convs=2, reduction_factor=2,
                     max_decoder_steps=12)


def tacotron_with_stop_bias(path: Path, bias: float) -> Path:
    """A tiny untrained Tacotron export whose stop token always (bias > 0) or never (bias < 0) fires."""
    from wavetron.models import get_model

    config = from_dict(Config, {"tacotron": TINY_TACOTRON})
    torch.manual_seed(0)
    model = get_model("tacotron").build(config)
    with torch.no_grad():
        model.decoder.stop_projection.weight.zero_()
        model.decoder.stop_projection.bias.fill_(bias)
    metadata = {"format": "wavetron-model", "model_name": "tacotron", "config": json.dumps(to_dict(config)),
                "step": "0", "weights": "model"}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path), metadata=metadata)
    return path


def test_audio_far_shorter_than_the_text_and_a_stop_token_that_never_fires_are_warned(tmp_path, capsys):
    out = tmp_path / "out.wav"
    early = tacotron_with_stop_bias(tmp_path / "early.safetensors", 30.0)  # stops after one step: 2 frames
    text = "Hello there, this sentence has many words."
    assert main(["synth", "--text", text, "--out", str(out), "--tacotron", str(early),
                 "--griffin-lim-iters", "2", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: sentence 1 ('hello there, this sentence has many word') gave 0.01 s of audio" in err
    assert "the stop token fired after 2 frame(s)" in err and err.count("\n") == 1
    never = tacotron_with_stop_bias(tmp_path / "never.safetensors", -30.0)
    assert main(["synth", "--text", "Hi.", "--out", str(out), "--tacotron", str(never), "--griffin-lim-iters",
                 "2", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: 1 sentence(s) hit the decoder step limit and were cut" in err and "far shorter" not in err


def test_alignment_path_is_named_and_unknown_characters_are_one_line(tacotron_run, tmp_path, capsys):
    out, image = tmp_path / "out.wav", tmp_path / "plots" / "align.png"
    assert main(["synth", "--text", "Hello 你好 world 😀.", "--out", str(out), "--tacotron", str(tacotron_run),
                 "--alignment", str(image), "--griffin-lim-iters", "2"]) == 0
    err = capsys.readouterr().err
    assert f"alignments -> {image}" in err and image.is_file()
    dropped = [line for line in err.splitlines() if "cannot read" in line]
    assert dropped == ["wavetron synth: warning: dropped characters it cannot read: "
                       "'你' (CJK UNIFIED IDEOGRAPH-4F60), '好' (CJK UNIFIED IDEOGRAPH-597D), '😀' (GRINNING FACE)"]
    assert "UnknownCharacterWarning" not in err
    text = "".join(chr(0x4E00 + i) for i in range(33))  # 33 distinct characters, none speakable
    assert main(["synth", "--text", text, "--out", str(out), "--tacotron", str(tacotron_run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "empty after cleaning" in err and "it cannot read '一' (CJK" in err
    assert "and 25 more" in err


def test_vocoder_words_pick_the_shipped_voices_vocoders(tmp_path, capsys):
    from wavetron.commands.synth import vocoder_choice
    from wavetron.models.wavenet import WaveNet

    wavenet = Synthesizer(vocoder=vocoder_choice("wavenet", None))
    assert isinstance(wavenet.vocoder, WaveNet)
    assert Synthesizer(vocoder=vocoder_choice("griffin-lim", None)).vocoder is None
    code = main(["synth", "--text", "Hi.", "--out", str(tmp_path / "x.wav"), "--tacotron", str(tmp_path / "taco"),
                 "--vocoder", "wavenet"])
    assert code == 2 and "--vocoder wavenet names the shipped voice's WaveNet" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    assert "thewordwavenetorgriffin-limpicksitsWaveNetorGriffin-Lim" in "".join(capsys.readouterr().out.split())
