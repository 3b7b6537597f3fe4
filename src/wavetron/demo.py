"""`make demo`: the shortest end-to-end run of wavetron that needs no download and no training.

It speaks a sentence with the offline corpus engine (espeak-ng), analyses it into the log-mel
spectrogram every wavetron model works on, turns that spectrogram back into audio with fast
Griffin-Lim, and writes both, printing what each stage cost against the audio's duration.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

SENTENCE = "Wavetron turns text into speech, and speech into features, on an ordinary computer."


def run(out: Path, text: str = SENTENCE) -> None:
    """Speak ``text`` to ``<out stem>-espeak.wav``, then write its Griffin-Lim resynthesis to ``out``."""
    import torch

    from .audio import load, mel_spectrogram, mel_to_audio, save
    from .config import AudioConfig
    from .corpus.espeak import EspeakVoice, engine
    from .text import normalize_text

    config = AudioConfig()
    start = time.perf_counter()
    speech = engine().synthesize(normalize_text(text), EspeakVoice())
    spoken = time.perf_counter() - start
    original = out.with_name(f"{out.stem}-espeak.wav")
    save(original, speech.astype("float32") / 32768.0, engine().sample_rate)
    audio, rate = load(original, config.sample_rate)
    seconds = audio.numel() / rate

    start = time.perf_counter()
    log_mel = mel_spectrogram(audio, config)  # (n_mels, frames)
    analysed = time.perf_counter() - start
    start = time.perf_counter()
    resynthesised = mel_to_audio(log_mel, config, length=audio.numel())
    inverted = time.perf_counter() - start
    save(out, resynthesised, rate)

    print(f'wavetron demo: "{text}"')
    print(f"  1. spoken offline by espeak-ng -> {original}  ({seconds:.2f} s of audio in {spoken:.2f} s)")
    print(f"  2. log-mel spectrogram {tuple(log_mel.shape)} ({config.n_mels} bands, hop {config.hop_length}) "
          f"in {analysed * 1000:.1f} ms")
    print(f"  3. audio from the mel by fast Griffin-Lim -> {out}  ({inverted:.2f} s, "
          f"real-time factor {inverted / seconds:.3f} on {torch.get_num_threads()} threads)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default=SENTENCE)
    parser.add_argument("--out", type=Path, default=Path("demo.wav"))
    args = parser.parse_args()
    run(args.out, args.text)


if __name__ == "__main__":
    main()
