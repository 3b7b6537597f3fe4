"""`wavetron synth --text "..." --out out.wav [--tacotron RUN] [--vocoder wavenet|griffin-lim|RUN]`: text to speech.

With no model named, the default voice shipped inside the package speaks (``wavetron.voice``);
``--vocoder wavenet`` or ``griffin-lim`` picks either of its vocoders. The command warns about
sentences whose audio is far shorter than their text (a stop token that fired too soon) and
about sentences whose stop token never fired.
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
    parser.add_argument("--vocoder", metavar="VOCODER", default="auto",
                        help="with the shipped voice, the word wavenet or griffin-lim picks its WaveNet or "
                             "Griffin-Lim; otherwise a WaveNet run folder, checkpoint or export, or griffin-lim "
                             "(default: the vocoder the shipped voice's card names with the shipped Tacotron, "
                             "griffin-lim with any other)")
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
    parser.add_argument("--sharpen", type=float, default=None, metavar="X",
                        help="WaveNet vocoder: lower the temperature of voiced frames to 1 - X * voicing, X in "
                             "[0, 1) (default: the voice card's with the shipped WaveNet, else 0: plain sampling)")
    parser.add_argument("--mel-match", type=int, default=None, metavar="N",
                        help="N steps that pull each sentence's audio onto its decoded mel, keeping the vocoder's "
                             "phase and fine structure (default: the voice card's text-to-speech value with the "
                             "shipped Tacotron, else 0)")
    parser.add_argument("--refine-mel", action=argparse.BooleanOptionalAction, default=None,
                        help="WaveNet vocoder: vocode the mel of the mel -> linear network's spectrum (--mel2linear) "
                             "instead of the Tacotron's (default: the voice card's refine_mel with the shipped WaveNet, "
                             "else off)")
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

    text = _read_text(args)
    check_text(text)  # empty or unspeakable text is refused before any model loads
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size: expected a positive integer, got {args.batch_size}")
    started = time.perf_counter()
    synthesizer = Synthesizer(tacotron=args.tacotron or None, vocoder=vocoder_choice(args.vocoder, args.tacotron),
                              device=args.device, batch_size=args.batch_size, griffin_lim_iters=args.griffin_lim_iters,
                              max_decoder_steps=args.max_decoder_steps, seed=args.seed, sharpen=args.sharpen,
                              mel_match=args.mel_match, refine_mel=args.refine_mel,
                              mel2linear=None if args.mel2linear == "none" else args.mel2linear)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        audio, sample_rate = synthesizer.synthesize(text, speaker=args.speaker, progress=not args.quiet)
    for warning in caught:
        if issubclass(warning.category, RuntimeWarning):
            print(f"wavetron synth: warning: {warning.message}", file=sys.stderr)
    for line in short_sentences(synthesizer.last_sentences, sample_rate):
        print(f"wavetron synth: warning: {line}", file=sys.stderr)
    save(args.out, audio, sample_rate)
    if args.alignment:
        save_alignments(args.alignment, synthesizer.last_sentences)
    if not args.quiet:
        seconds = len(audio) / sample_rate
        elapsed = time.perf_counter() - started
        plot = f"; alignments -> {args.alignment}" if args.alignment else ""
        print(f"wavetron synth: {len(synthesizer.last_sentences)} sentence(s), {seconds:.2f} s of audio "
              f"in {elapsed:.2f} s -> {args.out}{plot}", file=sys.stderr)
    return 0


WORDS = ("wavenet", "griffin-lim")  # --vocoder words that pick a vocoder of the shipped voice


def vocoder_choice(vocoder: str, tacotron: str | None) -> str:
    """``--vocoder`` as the Synthesizer takes it: the shipped voice's WaveNet for the word ``wavenet``.

    The words mean the shipped voice's vocoders only with the shipped Tacotron; with another
    Tacotron ``wavenet`` is a path like any other (and a missing one is refused, naming the word).
    """
    from pathlib import Path

    from ..errors import DataError
    from ..voice import default_voice, is_default

    if vocoder != "wavenet":
        return vocoder
    if not tacotron or is_default(tacotron):
        return str(default_voice().vocoder)
    if not Path(vocoder).exists():
        raise DataError(f"--vocoder wavenet names the shipped voice's WaveNet, which speaks only with the shipped "
                        f"Tacotron; with --tacotron {tacotron} pass a WaveNet run folder, checkpoint or export, "
                        "or griffin-lim")
    return vocoder


def check_text(text: str) -> None:
    """Refuse empty or unspeakable text in one line that names the characters wavetron cannot read.

    The characters that are dropped from speakable text are named in one warning line (not one per character).
    """
    import warnings

    from ..errors import TextError
    from ..text import normalize_text
    from ..text.normalize import UnknownCharacterWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownCharacterWarning)
        try:
            normalize_text(text)
            error = None
        except TextError as err:
            error = err
    dropped = [w for w in caught if issubclass(w.category, UnknownCharacterWarning)]
    for warning in caught:
        if warning not in dropped:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    chars = unknown_characters(text, dropped)
    if error is not None:
        raise TextError(f"{' '.join(str(error).split())}{'; it cannot read ' + chars if chars else ''}") from None
    if chars:
        print(f"wavetron synth: warning: dropped characters it cannot read: {chars}", file=sys.stderr)


def unknown_characters(text: str, dropped: list) -> str:
    """The characters of ``text`` that the normaliser reported dropping, in text order, e.g. ``'你' (CJK ...)``."""
    import unicodedata

    messages = " ".join(str(w.message) for w in dropped)
    chars = [c for c in dict.fromkeys(text) if repr(c) in messages]
    if not chars and dropped:  # an unexpected message form: the characters are in it
        return "; ".join(str(w.message) for w in dropped)
    shown = [f"{c!r} ({unicodedata.name(c, f'U+{ord(c):04X}')})" for c in chars[:8]]
    more = f" and {len(chars) - 8} more" if len(chars) > 8 else ""
    return ", ".join(shown) + more


# Speech runs at roughly 12-16 letters a second; a sentence with under a third of that is broken.
MIN_SECONDS_PER_LETTER = 0.02
MIN_SENTENCE_SECONDS = 0.1


def short_sentences(sentences, sample_rate: int) -> list[str]:
    """A line for each sentence whose audio is far shorter than its text implies (its stop token fired early)."""
    lines = []
    for index, sentence in enumerate(sentences, start=1):
        letters = sum(char.isalpha() for char in sentence.text)
        seconds = len(sentence.audio) / sample_rate
        least = max(MIN_SECONDS_PER_LETTER * letters, MIN_SENTENCE_SECONDS)
        if letters and sentence.stopped and seconds < least:
            frames = sentence.mel.shape[-1]
            lines.append(f"sentence {index} ({sentence.text[:40]!r}) gave {seconds:.2f} s of audio, far shorter "
                         f"than its {letters} letters imply (at least {least:.2f} s): the stop token fired after "
                         f"{frames} frame(s); the Tacotron may be undertrained")
    return lines
