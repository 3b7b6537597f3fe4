"""`wavetron synth --text "..." --out out.wav [--tacotron RUN] [--vocoder RUN|griffin-lim]`: text to speech.

With no model named, the default voice shipped inside the package speaks (``wavetron.voice``).
"""
from __future__ import annotations

import argparse
import os
import sys

HELP = "speak text with the shipped voice, or a trained Tacotron and a WaveNet vocoder (or Griffin-Lim)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the text to speak (long text is split at sentence ends)")
    source.add_argument("--text-file", metavar="FILE", help="read the text from FILE (UTF-8; - for stdin)")
    parser.add_argument("--out", required=True, metavar="WAV", help="output audio file (.wav, .flac, ...)")
    parser.add_argument("--tacotron", metavar="CKPT", default=os.environ.get("WAVETRON_TACOTRON"),
                        help="Tacotron run folder, checkpoint folder or .safetensors export "
                             "(default: $WAVETRON_TACOTRON, else the shipped voice)")
    parser.add_argument("--vocoder", metavar="CKPT", default="auto",
                        help="WaveNet run folder, checkpoint or export, or griffin-lim (default: the shipped "
                             "voice's vocoder with the shipped Tacotron, griffin-lim with any other)")
    parser.add_argument("--mel2linear", metavar="CKPT", default="auto",
                        help="mel -> linear network (wavetron train mel2linear) that Griffin-Lim inverts through, or "
                             "none for the mel filterbank's pseudo-inverse (default: the shipped voice's with the "
                             "shipped Tacotron, none with any other)")
    parser.add_argument("--alignment", metavar="PNG", help="also save the attention alignments as an image")
    parser.add_argument("--speaker", type=int, default=0, help="speaker index of a multi-speaker Tacotron")
    parser.add_argument("--batch-size", type=int, default=8, help="sentences decoded together (default 8)")
    parser.add_argument("--max-decoder-steps", type=int, help="step limit per sentence (default: the model's)")
    parser.add_argument("--griffin-lim-iters", type=int, default=60, help="Griffin-Lim iterations (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the prenet dropout and vocoder sampling")
    parser.add_argument("--sharpen", type=float, default=0.0, metavar="X",
                        help="WaveNet vocoder: lower the temperature of voiced frames to 1 - X * voicing, X in "
                             "[0, 1) (default 0: plain sampling)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def _read_text(args: argparse.Namespace) -> str:
    from pathlib import Path

    from ..errors import TextError

    if args.text is not None:
        return args.text
    if args.text_file == "-":
        return sys.stdin.read()
    path = Path(args.text_file)
    if not path.is_file():
        raise TextError(f"{path}: text file not found")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise TextError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def run(args: argparse.Namespace) -> int:
    import time
    import warnings

    from ..audio import save
    from ..errors import ConfigError
    from ..synth import Synthesizer, save_alignments

    from ..text import normalize_text

    text = _read_text(args)
    normalize_text(text)  # empty or unspeakable text is refused before any model loads
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size: expected a positive integer, got {args.batch_size}")
    started = time.perf_counter()
    synthesizer = Synthesizer(tacotron=args.tacotron or None, vocoder=args.vocoder, device=args.device,
                              batch_size=args.batch_size, griffin_lim_iters=args.griffin_lim_iters,
                              max_decoder_steps=args.max_decoder_steps, seed=args.seed, sharpen=args.sharpen,
                              mel2linear=None if args.mel2linear == "none" else args.mel2linear)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        audio, sample_rate = synthesizer.synthesize(text, speaker=args.speaker, progress=not args.quiet)
    for warning in caught:
        print(f"wavetron synth: warning: {warning.message}", file=sys.stderr)
    save(args.out, audio, sample_rate)
    if args.alignment:
        save_alignments(args.alignment, synthesizer.last_sentences)
    if not args.quiet:
        seconds = len(audio) / sample_rate
        elapsed = time.perf_counter() - started
        print(f"wavetron synth: {len(synthesizer.last_sentences)} sentence(s), {seconds:.2f} s of audio "
              f"in {elapsed:.2f} s -> {args.out}", file=sys.stderr)
    return 0
