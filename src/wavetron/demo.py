"""`make demo`: the shipped default voice speaks a sentence into ``demo.wav``, offline, with timings.

Text -> mel by the shipped Tacotron, mel -> audio by the voice's default vocoder: its WaveNet (the
compiled CPU loop, every sentence folded into segments generated together on all cores), or
Griffin-Lim (through the voice's mel -> linear network) while the voice card
(``voices/default/voice.json``) records that its WaveNet measures worse. The printout gives what each
stage cost against the duration of the audio (the real-time factor: below 1 is faster than real time).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

SENTENCE = "Wavetron turns text into speech on an ordinary computer, with no download and no cloud."


def _warm_up(synthesizer) -> float:
    """Build the vocoder's compiled loop once (numba caches it on disk); seconds it took."""
    import torch

    from .generate import generate

    started = time.perf_counter()
    if synthesizer.vocoder is not None:
        mel = torch.zeros(1, synthesizer.audio.n_mels, 1)
        speakers = torch.zeros(1, dtype=torch.long) if synthesizer.vocoder.speaker is not None else None
        generate(synthesizer.vocoder, mel=mel, speakers=speakers, length=8)
    return time.perf_counter() - started


def run(out: Path, text: str = SENTENCE, vocoder: str = "auto") -> None:
    """Speak ``text`` with the shipped voice into ``out`` and print the cost of each stage."""
    import torch

    from .audio import save
    from .synth import Synthesizer
    from .voice import default_voice

    voice = default_voice()
    started = time.perf_counter()
    synthesizer = Synthesizer(vocoder=voice.vocoder if vocoder == "wavenet" else vocoder)
    loaded = time.perf_counter() - started
    compiled = _warm_up(synthesizer)
    started = time.perf_counter()
    audio, rate = synthesizer.synthesize(text)
    total = time.perf_counter() - started
    save(out, audio, rate)
    seconds = len(audio) / rate
    timings = synthesizer.last_timings
    name = ("WaveNet (compiled CPU loop, folded)" if synthesizer.vocoder is not None
            else "mel2linear + Griffin-Lim" if synthesizer.mel2linear is not None else "Griffin-Lim")
    print(f'wavetron demo: "{text}"')
    if vocoder == "auto" and voice.why:
        other = "wavenet" if voice.default_vocoder == "griffin-lim" else "griffin-lim"
        print(f"  vocoder: {voice.default_vocoder} ({voice.why}); --vocoder {other} for the other one")
    ready = f"; vocoder loop ready in {compiled:.2f} s (compiled once, then cached)" if synthesizer.vocoder else ""
    print(f"  models loaded in {loaded:.2f} s{ready}")
    print(f"  text -> mel   (Tacotron)  {timings['tacotron']:6.2f} s   real-time factor "
          f"{timings['tacotron'] / seconds:.3f}")
    print(f"  mel  -> audio ({name})  {timings['vocoder']:6.2f} s   real-time factor "
          f"{timings['vocoder'] / seconds:.3f}")
    print(f"  text -> {out}: {seconds:.2f} s of {rate} Hz audio in {total:.2f} s, real-time factor "
          f"{total / seconds:.3f} on {torch.get_num_threads()} threads "
          f"({'faster' if total < seconds else 'slower'} than real time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default=SENTENCE)
    parser.add_argument("--out", type=Path, default=Path("demo.wav"))
    parser.add_argument("--vocoder", default="auto", choices=["auto", "wavenet", "griffin-lim"],
                        help="auto: the voice's default vocoder; wavenet: the shipped WaveNet; griffin-lim")
    args = parser.parse_args()
    run(args.out, args.text, args.vocoder)


if __name__ == "__main__":
    main()
