"""The figures of the shipped voice that tests/test_voice.py bounds, measured the way the tests measure them.

After retraining a model of the default voice, print the new figures and set the bounds in
tests/test_voice.py from them (the measured figure less a margin):

    OMP_NUM_THREADS=1 .venv/bin/python tests/voice_bounds.py             # the shipped voice
    OMP_NUM_THREADS=1 .venv/bin/python tests/voice_bounds.py --controls  # and with random weights

``--controls`` also scores each model with its weights redrawn at random with the same shapes and per-tensor
mean and spread (:func:`randomised`): what a broken model measures, which the bounds must exclude.
The tests import the sentences and the scoring from here, so both compute the same figures.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

# Sentences outside the training corpus (none of its 4,100 sentences names Stella, a rainbow or a station).
SENTENCES = ["Please call Stella and ask her to bring these things with her from the store.",
             "The rainbow is a division of white light into many beautiful colors.",
             "How long does it take to walk to the station?"]
# The held-out recording for copy synthesis: festival's slt voice (the corpus's speaker) reads it at 16 kHz.
COPY_SENTENCE = "A large size in stockings is hard to sell."
# The recogniser that scores the listening tests (wavetron.metrics.asr): Whisper tiny.en, which on SENTENCES
# through Griffin-Lim takes half the CPU time of PocketSphinx and gets far fewer words wrong (WER 0.135 vs 0.486).
RECOGNISER = "whisper"


def word_error_rate(audios, sample_rate: int, texts) -> float:
    """The recogniser's word error rate over all ``texts`` together (errors / reference words).

    Args:
        audios: one (T_i,) float signal per text.
    """
    from wavetron.metrics.asr import recognition_errors

    errors = words = 0.0
    for audio, text in zip(audios, texts):
        scored = recognition_errors(audio, sample_rate, text, asr=RECOGNISER)
        count = len(scored.reference.split())
        errors, words = errors + scored.wer * count, words + count
    return errors / words


def festival_recording(path: Path, text: str = COPY_SENTENCE, sample_rate: int = 16000) -> Path:
    """``text`` spoken by festival into a 16-bit wav at ``sample_rate``, as the corpus builder writes it."""
    import soundfile

    from wavetron.corpus import festival
    from wavetron.corpus.worker import resample
    from wavetron.text import normalize_text

    samples, native_rate = festival.synthesize(normalize_text(text))
    soundfile.write(path, resample(samples, native_rate, sample_rate), sample_rate, subtype="PCM_16")
    return path


def mel_distance(audio: np.ndarray, mel: torch.Tensor, audio_config) -> float:
    """Mean |difference| of the log-mel of ``audio`` (T,) from ``mel`` (n_mels, F), over the common frames."""
    from wavetron.audio import mel_spectrogram

    heard = mel_spectrogram(torch.as_tensor(audio, dtype=torch.float32), audio_config)
    frames = min(heard.shape[-1], mel.shape[-1])
    return float((heard[:, :frames] - mel[:, :frames]).abs().mean())


def copy_scores(reference: np.ndarray, copy: np.ndarray, audio_config, text: str = COPY_SENTENCE) -> dict[str, float]:
    """PESQ, STOI, word error rate and mel distance of a vocoder's copy of ``reference`` (both (T,) float)."""
    from wavetron.audio import mel_spectrogram
    from wavetron.metrics.perceptual import pesq_wb, stoi

    rate = audio_config.sample_rate
    mel = mel_spectrogram(torch.as_tensor(reference, dtype=torch.float32), audio_config)
    return {"pesq": pesq_wb(reference, copy, rate), "stoi": stoi(reference, copy, rate),
            "wer": word_error_rate([copy], rate, [text]), "mel_l1": mel_distance(copy, mel, audio_config)}


def randomised(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """``model`` with every weight tensor redrawn from a normal of that tensor's mean and standard deviation."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.numel() > 1:
                noise = torch.randn(parameter.shape, generator=generator)
                parameter.copy_(noise * parameter.std() + parameter.mean())
    return model


def synthesizer(vocoder: str, random_tacotron: bool = False, random_vocoder: bool = False, mel_match: int = 0):
    """The shipped voice with ``vocoder`` ("griffin-lim": through its mel -> linear network; "wavenet"), its audio
    pulled onto the mel by ``mel_match`` steps (0: the vocoder's own output, what the bounds of each model test)."""
    from wavetron.synth import Synthesizer
    from wavetron.train import load_model_checkpoint
    from wavetron.voice import default_voice

    voice = default_voice()
    tacotron, config = load_model_checkpoint(voice.tacotron)
    wavenet = voice.vocoder if vocoder == "wavenet" else "griffin-lim"
    if random_vocoder:
        wavenet = randomised(load_model_checkpoint(voice.vocoder)[0]) if vocoder == "wavenet" else wavenet
    mel2linear = load_model_checkpoint(voice.mel2linear)[0]
    if random_vocoder and vocoder == "griffin-lim":
        mel2linear = randomised(mel2linear)
    # a random Tacotron never stops: cut it at about twice the length of the longest sentence
    return Synthesizer(tacotron=randomised(tacotron) if random_tacotron else tacotron, vocoder=wavenet,
                       mel2linear=mel2linear, text_config=config.text, seed=0,
                       max_decoder_steps=200 if random_tacotron else None, mel_match=mel_match)


def listening_scores(sentences, audio_config) -> dict[str, float]:
    """Word error rate of synthesised :data:`SENTENCES` and the mean mel distance of each from its own mel."""
    return {"wer": word_error_rate([s.audio for s in sentences], audio_config.sample_rate, SENTENCES),
            "mel_l1": float(np.mean([mel_distance(s.audio, s.mel, audio_config) for s in sentences]))}


def spoken_scores(synth) -> dict[str, float]:
    """:func:`listening_scores` of ``synth`` speaking :data:`SENTENCES`."""
    return listening_scores(synth.synthesize_sentences(SENTENCES), synth.audio)


def copy_synthesis(recording: Path, vocoder, out: Path, mel_match: int = 0) -> dict[str, float]:
    """Copy synthesis of ``recording`` through ``wavetron vocode`` (folded as the synthesizer folds, the card's
    sharpen, ``mel_match`` steps onto the mel), scored."""
    import soundfile

    from wavetron.cli import main
    from wavetron.train import load_model_checkpoint

    _, config = load_model_checkpoint(vocoder) if isinstance(vocoder, (str, Path)) else (None, None)
    assert main(["vocode", str(recording), "--vocoder", str(vocoder), "--out", str(out), "--fold", "64",
                 "--mel-match", str(mel_match)]) == 0
    copy, rate = soundfile.read(out, dtype="float32")
    reference, _ = soundfile.read(recording, dtype="float32")
    assert rate == config.audio.sample_rate
    return copy_scores(reference[: len(copy)], copy, config.audio)


def run_demo(out: Path) -> tuple[float, str]:
    """``python -m wavetron.demo`` in a subprocess: the word error rate of ``out`` on its sentence, and its printout."""
    import soundfile

    from wavetron.demo import SENTENCE

    done = subprocess.run([sys.executable, "-m", "wavetron.demo", "--out", str(out)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    audio, rate = soundfile.read(out, dtype="float32")
    return word_error_rate([audio], rate, [SENTENCE]), done.stdout


def main() -> None:
    import tempfile

    from wavetron.voice import default_voice

    global RECOGNISER
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controls", action="store_true", help="also score models with random weights")
    parser.add_argument("--asr", default=RECOGNISER, choices=["pocketsphinx", "whisper"],
                        help=f"the recogniser (the tests use {RECOGNISER})")
    args = parser.parse_args()
    RECOGNISER = args.asr
    torch.set_num_threads(1)
    voice = default_voice()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        recording = festival_recording(folder / "recording.wav")
        rows = [("tts, griffin-lim (mel2linear)", lambda: spoken_scores(synthesizer("griffin-lim"))),
                ("tts, wavenet", lambda: spoken_scores(synthesizer("wavenet"))),
                ("copy synthesis, wavenet", lambda: copy_synthesis(recording, voice.vocoder, folder / "copy.wav")),
                (f"tts, wavenet, mel match {voice.mel_match}",
                 lambda: spoken_scores(synthesizer("wavenet", mel_match=voice.mel_match))),
                (f"copy synthesis, wavenet, mel match {voice.mel_match}",
                 lambda: copy_synthesis(recording, voice.vocoder, folder / "copy.wav", voice.mel_match)),
                ("demo WER", lambda: run_demo(folder / "demo.wav")[0])]
        if args.controls:
            random_vocoder = folder / "random-vocoder.safetensors"
            save_randomised(voice.vocoder, random_vocoder)
            rows += [("control: random Tacotron, tts, griffin-lim",
                      lambda: spoken_scores(synthesizer("griffin-lim", random_tacotron=True))),
                     ("control: random mel2linear, tts, griffin-lim",
                      lambda: spoken_scores(synthesizer("griffin-lim", random_vocoder=True))),
                     ("control: random WaveNet, tts",
                      lambda: spoken_scores(synthesizer("wavenet", random_vocoder=True))),
                     ("control: copy synthesis, random WaveNet",
                      lambda: copy_synthesis(recording, random_vocoder, folder / "random-copy.wav")),
                     (f"control: random WaveNet, tts, mel match {voice.mel_match}",
                      lambda: spoken_scores(synthesizer("wavenet", random_vocoder=True, mel_match=voice.mel_match))),
                     (f"control: copy synthesis, random WaveNet, mel match {voice.mel_match}",
                      lambda: copy_synthesis(recording, random_vocoder, folder / "random-copy.wav", voice.mel_match))]
        for name, measure in rows:
            started = time.perf_counter()
            value = measure()
            shown = (", ".join(f"{k} {v:.3f}" for k, v in value.items()) if isinstance(value, dict)
                     else f"{value:.3f}")
            print(f"{name}: {shown}   ({time.perf_counter() - started:.1f} s)", flush=True)


def save_randomised(source: Path, out: Path) -> Path:
    """An export of ``source`` with :func:`randomised` weights and the same metadata (config, model name)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from wavetron.train import load_model_checkpoint

    model, _ = load_model_checkpoint(source)
    with safe_open(str(source), "pt") as handle:
        metadata = handle.metadata()
    save_file({k: v.contiguous() for k, v in randomised(model).state_dict().items()}, str(out), metadata=metadata)
    return out


if __name__ == "__main__":
    main()
