"""The default voice shipped in the package: it loads, is understood, aligns, and damaged files fail clearly.

The listening tests score what a real recogniser hears against the text; their bounds are the figures
``tests/voice_bounds.py`` prints, less a margin (below).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from wavetron.audio import mel_filterbank
from wavetron.audio.griffin_lim import mel_to_linear
from wavetron.config import load_config
from wavetron.errors import ConfigError, DataError
from wavetron.models.attention import alignment_scores
from wavetron.models.mel2linear import MelToLinear
from wavetron.models.tacotron import Tacotron
from wavetron.synth import Synthesizer
from wavetron.train import load_model_checkpoint
from wavetron.voice import VOICE_DIR, default_voice
from voice_bounds import SENTENCES, copy_synthesis, listening_scores, mel_distance, run_demo

# What the shipped voice is heard to say (voice_bounds.RECOGNISER, Whisper tiny.en: word error rate over
# SENTENCES) and how closely its audio follows the mel it was made from (mean |log-mel difference|), measured
# by `OMP_NUM_THREADS=1 .venv/bin/python tests/voice_bounds.py --controls` (Tacotron: 35,970 steps plus 7,285
# on grammar and everyday sentences; mel2linear: the weights of commit 05a753b; WaveNet: the excitation vocoder
# of 29,139 steps, then 10,129 of batch 16, then 23,000 of batch 8 and 16, sampled with its card's sharpen: 0.9 in
# text to speech, 0.5 in copy synthesis).
# Each model's bounds are measured on its own output, without the voice card's mel match (mel_match 0): pulled onto
# its mel, even a random WaveNet's noise is understood (see the copy synthesis below).
# After retraining a model of the voice, rerun it and set each bound from the new figure, keeping the margin.
# The controls redraw a model's weights at random (same shapes, per-tensor mean and spread): see each comment.
# Text to speech through mel2linear + Griffin-Lim: WER 0.108, mel 0.195 (random Tacotron: WER 1.0, mel 3.94;
# random mel2linear: WER 1.0, mel 3.25; the Tacotron before the everyday sentences: WER 0.135, mel 0.199).
MAX_WER_GRIFFIN_LIM = 0.35
MAX_MEL_L1_GRIFFIN_LIM = 0.35
# Text to speech through the WaveNet, on the refined mel (the card's refine_mel): WER 0.108, mel 0.293; on the
# Tacotron's own mel: WER 0.054, mel 0.290, the same at sharpen 0.9 and 0.5 (0.108 and 0.293 on the machine before;
# with the
# mel match, 32 steps: WER 0.108, mel 0.032, and a random WaveNet's WER 0.108, mel 0.047; random WaveNet: WER 1.03,
# 1.22 and 1.11 in three draws, mel 3.75; with plain sampling it kept some words, WER 0.811, by the linear
# prediction alone; 29,139 + 10,129 steps, plain sampling: WER 0.108, mel 0.300; 29,139 steps: WER 0.108, mel
# 0.325; 6,767 steps: WER 0.135, mel 0.448).
MAX_WER_WAVENET = 0.35
MAX_MEL_L1_WAVENET = 0.5
# Copy synthesis (`wavetron vocode --fold 64 --mel-match 0`, the card's sharpen) of festival's COPY_SENTENCE through
# the WaveNet: PESQ 2.207, STOI 0.929, WER 0.111 (of 9 words; 0.000 on the machine before), mel 0.433 from the
# recording's (29,139 + 10,129
# steps, plain sampling: PESQ 1.779, STOI 0.926, mel 0.482; 29,139 steps: PESQ 1.815, STOI 0.920, mel 0.522;
# 19,254 steps: PESQ 1.616, STOI 0.908); a random WaveNet: PESQ 1.033, STOI 0.617, WER 0.222 (0.111 in another
# draw: the linear prediction alone keeps most of this sentence's words, so the WER bound does not tell it
# from the trained one; PESQ, STOI and mel do), mel 4.71; the excitation WaveNet of 6,767 steps: PESQ 1.304,
# STOI 0.884, WER 0.111, mel 0.672; the plain WaveNet before it: PESQ 1.155, STOI 0.801, WER 0.222, mel 0.857.
MIN_COPY_PESQ = 1.75
MIN_COPY_STOI = 0.86
MAX_COPY_WER = 0.35
MAX_COPY_MEL_L1 = 0.75
# The same copy with the card's mel match (32 steps, momentum 0.9), as `wavetron vocode` makes it by default:
# PESQ 3.694, STOI 0.989, mel 0.043; a random WaveNet through the same match: PESQ 3.395, STOI 0.984, mel 0.078
# (the match does most of the work: the bound tells the trained network's start from a random one's).
MIN_COPY_PESQ_MATCHED = 3.55
# `python -m wavetron.demo` (the voice card's vocoder) on its own sentence: WER 0.133 (2 of 15 words) through the
# WaveNet on the refined mel (0.067 on the Tacotron's own mel); 0.133 through mel2linear + Griffin-Lim before
# (0.200 with 1,179 steps on the everyday sentences, 0.133 before them).
MAX_WER_DEMO = 0.4

# Alignment scores of the shipped Tacotron on SENTENCES, measured when its weights were committed (step 35970,
# IPA phonemes, r=2): mean focus 0.684-0.691 and diagonality 1.000 over prenet-dropout seeds 0-2. Attention
# spread evenly over the text would score a focus of about 1/60 and a diagonality of about 0.4. The bounds
# leave a margin.
MIN_FOCUS = 0.65
MIN_DIAGONALITY = 0.95
# The shipped mel -> linear network on the Tacotron's mels of SENTENCES (prenet-dropout seeds 0 and 1), measured
# when its weights were committed (step 16,135): the filterbank maps its spectra back onto the mel within a
# mean |log| difference of 0.16-0.18 (the pseudo-inverse's: 0.03), and the cepstral peak of their loud frames
# (the harmonics of the pitch) stands 3.2-3.6 times as prominent as in the pseudo-inverse's spectra, whose
# harmonics every mel band smears. The bounds leave a margin.
MAX_MEL_L1 = 0.3
MIN_CEPSTRAL_PEAK_RATIO = 2.0

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def voice():
    return default_voice()


@pytest.fixture(scope="module")
def griffin_lim_sentences():
    """SENTENCES through the shipped Tacotron and Griffin-Lim (through the shipped mel2linear network), without the
    mel match, which would pull any vocoder's audio onto the mel: the bounds test the network's own spectra."""
    synthesizer = Synthesizer(vocoder="griffin-lim", seed=0, mel_match=0)
    assert synthesizer.mel2linear is not None
    return synthesizer.synthesize_sentences(SENTENCES)


@pytest.fixture(scope="module")
def wavenet_sentences(voice):
    """SENTENCES through the shipped Tacotron and the shipped WaveNet (folded, as the synthesizer vocodes), without
    the mel match: a random WaveNet's noise pulled onto the mel is understood too (tests/voice_bounds.py --controls)."""
    return Synthesizer(vocoder=voice.vocoder, seed=0, mel_match=0).synthesize_sentences(SENTENCES)


def test_shipped_weights_load_with_matching_settings(voice):
    tacotron, taco_config = load_model_checkpoint(voice.tacotron)
    vocoder, voc_config = load_model_checkpoint(voice.vocoder)
    assert isinstance(tacotron, Tacotron) and hasattr(vocoder, "generate")
    assert taco_config.audio == voc_config.audio  # the vocoder was trained on mels of the Tacotron's settings
    # the weights are the recipe's: its text input and frames per step
    assert taco_config.text == load_config("configs/voice-features.yaml").text
    assert tacotron.r == load_config("configs/voice-tacotron.yaml").tacotron.reduction_factor
    assert next(tacotron.parameters()).dtype == torch.float32
    total = sum(path.stat().st_size for path in VOICE_DIR.iterdir())
    assert total <= 40 * 2**20


def test_attention_on_unseen_sentences_is_diagonal(griffin_lim_sentences):
    focus, diagonality = [], []
    for sentence in griffin_lim_sentences:
        assert sentence.stopped, sentence.text  # the stop token ended it, not the step limit
        alignment = sentence.alignment.unsqueeze(0)
        scores = alignment_scores(alignment, torch.tensor([alignment.shape[1]]), torch.tensor([alignment.shape[2]]))
        focus.append(float(scores["focus"]))
        diagonality.append(float(scores["diagonality"]))
    assert np.mean(focus) >= MIN_FOCUS, focus
    assert np.mean(diagonality) >= MIN_DIAGONALITY, diagonality


def test_the_shipped_tacotron_through_griffin_lim_is_understood(griffin_lim_sentences):
    scores = listening_scores(griffin_lim_sentences, voice_audio())
    assert scores["wer"] <= MAX_WER_GRIFFIN_LIM, scores
    assert scores["mel_l1"] <= MAX_MEL_L1_GRIFFIN_LIM, scores  # the audio has the spectra it was made from


def test_the_shipped_wavenet_is_understood(wavenet_sentences):
    scores = listening_scores(wavenet_sentences, voice_audio())
    assert scores["wer"] <= MAX_WER_WAVENET, scores
    assert scores["mel_l1"] <= MAX_MEL_L1_WAVENET, scores


def test_copy_synthesis_of_a_held_out_recording_through_the_shipped_wavenet(voice, held_out_recording, tmp_path):
    """`wavetron vocode` end to end: the copy keeps the recording's spectra and words (noise would not)."""
    scores = copy_synthesis(held_out_recording, voice.vocoder, tmp_path / "copy.wav")
    assert scores["pesq"] >= MIN_COPY_PESQ, scores
    assert scores["stoi"] >= MIN_COPY_STOI, scores
    assert scores["wer"] <= MAX_COPY_WER, scores
    assert scores["mel_l1"] <= MAX_COPY_MEL_L1, scores


def test_the_shipped_wavenet_through_its_mel_match_beats_the_match_of_noise(voice, held_out_recording, tmp_path):
    assert voice.mel_match > 0
    scores = copy_synthesis(held_out_recording, voice.vocoder, tmp_path / "copy.wav", voice.mel_match)
    assert scores["pesq"] >= MIN_COPY_PESQ_MATCHED, scores


def test_the_demo_speaks_its_sentence(tmp_path):
    wer, printout = run_demo(tmp_path / "demo.wav")
    assert wer <= MAX_WER_DEMO, (wer, printout)
    assert printout.count("real-time factor") == 3, printout  # the Tacotron, the vocoder and the whole


def test_synth_without_model_arguments_speaks_with_the_shipped_voice(tmp_path):
    out = tmp_path / "hello.wav"
    text = SENTENCES[1]
    # on this process's one thread: torch's convolutions round the WaveNet's conditioning by the thread count,
    # and with bfloat16 weights (the card's "fastest" on AVX-512 BF16) that last bit can move a sample
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    result = subprocess.run([sys.executable, "-m", "wavetron", "synth", "--text", text, "--out", str(out), "--quiet"],
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    audio, rate = soundfile.read(out, dtype="float32")
    assert rate == voice_audio().sample_rate
    synthesizer = Synthesizer(seed=0)  # what the command's defaults make, in this process
    expected, _ = synthesizer.synthesize(text)
    np.testing.assert_allclose(audio, expected, atol=1.5 / 2**15)  # (16-bit wav)
    distance = mel_distance(audio, synthesizer.last_sentences[0].mel, synthesizer.audio)
    assert distance <= MAX_MEL_L1_GRIFFIN_LIM, distance  # the spectra of its mel, not noise of its loudness
    seconds = len(audio) / rate
    # festival's speaker reads this corpus at 13 to 16 characters a second
    assert len(text) / 25 < seconds < len(text) / 8, seconds
    rms = np.sqrt(np.mean(audio ** 2))
    assert rms > 0.02 and np.abs(audio).max() < 1.0
    frames = audio[: len(audio) // 400 * 400].reshape(-1, 400)
    loud = np.sqrt((frames ** 2).mean(1)) > 0.1 * rms
    assert 0.5 < loud.mean() < 0.98  # speech with pauses, neither silence nor constant noise


def voice_audio():
    """The shipped voice's audio settings."""
    _, config = load_model_checkpoint(default_voice().tacotron)
    return config.audio


def test_damaged_weight_files_give_a_clear_error(voice, tmp_path):
    folder = tmp_path / "voice"
    folder.mkdir()
    shutil.copy(voice.vocoder, folder / "vocoder.safetensors")
    blob = voice.tacotron.read_bytes()
    (folder / "tacotron.safetensors").write_bytes(blob[: len(blob) // 2])  # truncated by an interrupted copy
    damaged = default_voice(folder)
    with pytest.raises(DataError, match="tacotron.safetensors: not a readable safetensors file"):
        Synthesizer(tacotron=damaged.tacotron, vocoder=damaged.vocoder)
    result = subprocess.run([sys.executable, "-m", "wavetron", "synth", "--text", "Hello.", "--out",
                             str(tmp_path / "x.wav"), "--tacotron", str(damaged.tacotron)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "tacotron.safetensors" in result.stderr
    (folder / "voice.json").write_text('{"vocoder": "melgan"}')
    with pytest.raises(DataError, match="voice.json: vocoder: expected wavenet or griffin-lim"):
        default_voice(folder)
    (folder / "voice.json").write_text('{"vocoder": "griffin-lim", "why": "measured"}')
    assert default_voice(folder).default_vocoder == "griffin-lim"
    (folder / "vocoder.safetensors").unlink()
    with pytest.raises(DataError, match="vocoder.safetensors: the default voice's model file is missing"):
        default_voice(folder)


def test_default_synthesizer_uses_the_vocoder_the_voice_card_names(voice):
    synthesizer = Synthesizer()
    assert (synthesizer.vocoder is not None) == (voice.default_vocoder == "wavenet")
    assert Synthesizer(vocoder=voice.vocoder).vocoder is not None  # the WaveNet can always be asked for


def test_griffin_lim_inverts_through_the_shipped_mel2linear_network(voice, griffin_lim_sentences):
    assert voice.mel2linear is not None
    network, config = load_model_checkpoint(voice.mel2linear)
    _, tacotron_config = load_model_checkpoint(voice.tacotron)
    assert isinstance(network, MelToLinear) and config.audio == tacotron_config.audio
    synthesizer = Synthesizer(seed=0)
    # Griffin-Lim inverts through it; the WaveNet hears its refined mel where the card sets refine_mel
    assert (synthesizer.mel2linear is not None) == (voice.default_vocoder == "griffin-lim" or voice.refine_mel)
    for sentence in griffin_lim_sentences:
        mel = sentence.mel
        magnitude = network.magnitude(mel)
        back = torch.log((mel_filterbank(config.audio) @ magnitude).clamp_min(config.audio.log_floor))
        assert float((back - mel).abs().mean()) < MAX_MEL_L1, sentence.text
        loud = mel.mean(0) > mel.mean()
        ratio = cepstral_peak(magnitude[:, loud]) / cepstral_peak(mel_to_linear(mel, config.audio)[:, loud])
        assert ratio > MIN_CEPSTRAL_PEAK_RATIO, (sentence.text, ratio)


def test_the_voice_card_sets_how_the_wavenet_sharpens_its_voiced_frames(voice, tmp_path):
    from wavetron.serve.engine import load_voice
    from wavetron.voice import card_of

    shipped = Synthesizer(vocoder=voice.vocoder)
    assert shipped.sharpen == voice.tts_sharpen  # the voice's own WaveNet speaks as its card says
    assert Synthesizer(vocoder=voice.vocoder, sharpen=0.2).sharpen == 0.2
    folder = tmp_path / "voice"
    shutil.copytree(VOICE_DIR, folder)
    (folder / "voice.json").write_text('{"vocoder": "wavenet", "sharpen": 0.45}')
    assert (default_voice(folder).sharpen, default_voice(folder).tts_sharpen) == (0.45, 0.45)
    assert load_voice("v", folder).prototypes["wavenet"].sharpen == 0.45  # the server's WaveNet too
    assert card_of(str(folder / "vocoder.safetensors")).sharpen == 0.45  # and wavetron vocode's default
    assert card_of(folder / "tacotron.safetensors") is None  # not a vocoder
    assert Synthesizer(vocoder=folder / "vocoder.safetensors").sharpen == 0.0  # not the shipped voice's WaveNet
    (folder / "voice.json").write_text('{"vocoder": "wavenet", "sharpen": {"copy": 0.3, "tts": 0.8}}')
    assert load_voice("v", folder).prototypes["wavenet"].sharpen == 0.8  # the server speaks text
    assert card_of(folder / "vocoder.safetensors").sharpen == 0.3  # wavetron vocode renders given mels
    (folder / "voice.json").write_text('{"vocoder": "wavenet", "sharpen": {"tts": 0.8}}')
    assert default_voice(folder).sharpen == 0.0
    for bad in ('1.0', '-0.1', '"high"', 'true', '{"copy": 1.5}', '{"tts": "x"}'):
        (folder / "voice.json").write_text('{"vocoder": "wavenet", "sharpen": %s}' % bad)
        with pytest.raises(DataError, match=r"voice.json: sharpen: expected a number in \[0, 1\)"):
            default_voice(folder)


def test_the_voice_card_sets_the_mel_match_steps_of_every_vocoder(voice, tmp_path):
    from wavetron.serve.engine import load_voice
    from wavetron.voice import card_of

    assert Synthesizer().mel_match == voice.tts_mel_match
    assert Synthesizer(vocoder=None).mel_match == voice.tts_mel_match  # whichever vocoder speaks
    assert Synthesizer(mel_match=3).mel_match == 3
    assert card_of(voice.vocoder).mel_match == voice.mel_match  # wavetron vocode of the shipped WaveNet
    folder = tmp_path / "voice"
    shutil.copytree(VOICE_DIR, folder)
    (folder / "voice.json").write_text('{"vocoder": "wavenet", "mel_match": 5}')
    assert (default_voice(folder).mel_match, default_voice(folder).tts_mel_match) == (5, 5)
    (folder / "voice.json").write_text('{"vocoder": "wavenet", "mel_match": {"copy": 7, "tts": 2}}')
    assert {p.mel_match for p in load_voice("v", folder).prototypes.values()} == {2}  # the server's voices speak
    assert card_of(folder / "vocoder.safetensors").mel_match == 7  # wavetron vocode's default
    (folder / "voice.json").write_text('{"vocoder": "wavenet", "mel_match": {"copy": 7}}')
    assert default_voice(folder).tts_mel_match == 0
    assert Synthesizer(tacotron=folder / "tacotron.safetensors").mel_match == 0  # not the shipped Tacotron
    for bad in ('-1', '2.5', '"many"', 'true', '{"copy": -1}', '{"tts": 1.5}'):
        (folder / "voice.json").write_text('{"vocoder": "wavenet", "mel_match": %s}' % bad)
        with pytest.raises(DataError, match=r"voice.json: mel_match: expected a whole number >= 0"):
            default_voice(folder)
    with pytest.raises(ConfigError, match="mel_match"):
        Synthesizer(mel_match=-2)


def test_refine_mel_makes_the_wavenet_hear_a_mel_that_moves_like_a_recording(voice, held_out_recording):
    from voice_bounds import COPY_SENTENCE

    from wavetron.audio import load, mel_spectrogram

    plain = Synthesizer(vocoder=voice.vocoder, refine_mel=False, seed=0)
    refined = Synthesizer(tacotron=plain.tacotron, vocoder=plain.vocoder, mel2linear=voice.mel2linear_file,
                          refine_mel=True, seed=0, text_config=plain.text_config, sharpen=plain.sharpen)
    assert plain.mel2linear is None and refined.mel2linear is not None
    [before], [after] = (s.synthesize_sentences([COPY_SENTENCE]) for s in (plain, refined))
    assert torch.equal(before.mel, after.mel)  # the same decoded mel, heard through the network
    assert before.audio.shape == after.audio.shape and not np.array_equal(before.audio, after.audio)

    def motion(mel: torch.Tensor) -> float:  # mean |change of a band's log energy| from one frame to the next
        return float((mel[:, 1:] - mel[:, :-1]).abs().mean())

    recording = mel_spectrogram(load(held_out_recording, plain.sample_rate)[0], plain.audio)
    heard = refined.mel2linear.refine(before.mel.unsqueeze(0))[0]
    # the Tacotron's mel is smoother than the recording's; the refined one lies between them
    # (measured: 0.455 decoded, 0.480 refined, 0.538 recorded)
    assert motion(before.mel) * 1.02 < motion(heard) < motion(recording), (motion(before.mel), motion(heard))


def test_the_voice_card_sets_whether_the_wavenet_hears_the_refined_mel(voice, tmp_path):
    from wavetron.serve.engine import load_voice

    assert Synthesizer(vocoder=voice.vocoder).refine_mel == voice.refine_mel
    assert Synthesizer(vocoder="griffin-lim").refine_mel is False
    folder = tmp_path / "voice"
    shutil.copytree(VOICE_DIR, folder)
    (folder / "voice.json").write_text('{"vocoder": "wavenet", "mel2linear": false, "refine_mel": true}')
    card = default_voice(folder)
    assert card.refine_mel and card.mel2linear is None and card.mel2linear_file == folder / "mel2linear.safetensors"
    wavenet = load_voice("v", folder).prototypes["wavenet"]  # the server's WaveNet hears it too
    assert wavenet.refine_mel and wavenet.mel2linear is not None
    (folder / "voice.json").write_text('{"vocoder": "wavenet"}')
    assert default_voice(folder).refine_mel is False  # off unless the card says so
    for bad in ('"yes"', '1', 'null'):
        (folder / "voice.json").write_text('{"vocoder": "wavenet", "refine_mel": %s}' % bad)
        with pytest.raises(DataError, match="voice.json: refine_mel: expected true or false"):
            default_voice(folder)
    (folder / "voice.json").write_text('{"vocoder": "wavenet", "refine_mel": true}')
    (folder / "mel2linear.safetensors").unlink()
    with pytest.raises(DataError, match="refine_mel: true needs .*mel2linear.safetensors, which is missing"):
        default_voice(folder)
    with pytest.raises(ConfigError, match="refine_mel: needs a WaveNet vocoder and a mel2linear network"):
        Synthesizer(vocoder="griffin-lim", refine_mel=True)
    with pytest.raises(ConfigError, match="refine_mel: needs a WaveNet"):
        Synthesizer(vocoder=voice.vocoder, mel2linear=None, refine_mel=True)


def test_the_voice_card_sets_the_precision_of_the_wavenets_weights(voice, tmp_path):
    from wavetron.generate.fast import bfloat16_available
    from wavetron.serve.engine import load_voice
    from wavetron.voice import card_of

    assert Synthesizer(vocoder=voice.vocoder).precision == voice.precision == "fastest"
    assert Synthesizer(vocoder=voice.vocoder, precision="float32").precision == "float32"
    folder = tmp_path / "voice"
    shutil.copytree(VOICE_DIR, folder)
    assert Synthesizer(tacotron=folder / "tacotron.safetensors", vocoder=folder / "vocoder.safetensors").precision \
        == "auto"  # not the shipped voice's WaveNet
    assert load_voice("v", folder).prototypes["wavenet"].precision == "fastest"  # the server's WaveNet
    assert card_of(folder / "vocoder.safetensors").precision == "fastest"  # wavetron vocode's default
    (folder / "voice.json").write_text('{"vocoder": "wavenet"}')
    assert default_voice(folder).precision == "auto"  # lossless unless the card says so
    for bad in ('"float16"', '"fast"', '1', 'true'):
        (folder / "voice.json").write_text('{"vocoder": "wavenet", "precision": %s}' % bad)
        with pytest.raises(DataError, match="voice.json: precision: expected auto or fastest"):
            default_voice(folder)
    with pytest.raises(ConfigError, match="precision 'half': expected one of auto, float32"):
        Synthesizer(vocoder=voice.vocoder, precision="half")
    if not bfloat16_available():
        with pytest.raises(ConfigError, match="precision bfloat16: .*AVX-512 BF16"):
            Synthesizer(vocoder=voice.vocoder, precision="bfloat16")


def test_mel_match_brings_each_spoken_sentence_onto_its_decoded_mel(voice):
    # Griffin-Lim through the pseudo-inverse, 8 steps: the same decoded mels, audio nearer to them
    plain = Synthesizer(vocoder=None, mel2linear=None, mel_match=0, seed=0)
    matched = Synthesizer(tacotron=plain.tacotron, vocoder=None, mel2linear=None, mel_match=8, seed=0,
                          text_config=plain.text_config)
    for before, after in zip(plain.synthesize_sentences(SENTENCES[:2]), matched.synthesize_sentences(SENTENCES[:2])):
        assert torch.equal(before.mel, after.mel) and before.audio.shape == after.audio.shape
        far, near = (mel_distance(s.audio, s.mel, plain.audio) for s in (before, after))
        # measured 0.64 and 0.60 of it (0.117 -> 0.075, 0.131 -> 0.079)
        assert near < 0.75 * far, (before.text, far, near)


def cepstral_peak(magnitude: torch.Tensor, rate: int = 16000) -> float:
    """Mean over frames of the real cepstrum's peak at pitch quefrencies (2.5-12.5 ms), over its mean there."""
    cepstrum = torch.fft.irfft(magnitude.clamp_min(1e-5).log(), dim=0).abs()  # (n_fft, frames)
    band = cepstrum[int(0.0025 * rate): int(0.0125 * rate)]
    return float((band.max(0).values / band.mean(0)).mean())


def test_the_voice_card_can_switch_the_mel2linear_network_off(voice, tmp_path):
    folder = tmp_path / "voice"
    shutil.copytree(VOICE_DIR, folder)
    (folder / "voice.json").write_text('{"vocoder": "griffin-lim", "mel2linear": false}')
    assert default_voice(folder).mel2linear is None
    (folder / "voice.json").write_text('{"vocoder": "griffin-lim", "mel2linear": "yes"}')
    with pytest.raises(DataError, match="voice.json: mel2linear: expected true or false"):
        default_voice(folder)
    (folder / "voice.json").write_text('{"vocoder": "griffin-lim"}')
    (folder / "mel2linear.safetensors").unlink()
    assert default_voice(folder).mel2linear is None  # a voice without one inverts by the pseudo-inverse
