"""Intelligibility: word and character error rates of a real speech recogniser.

Two recognisers, both offline:

- ``pocketsphinx``: CMU PocketSphinx with the US English acoustic model, language model and dictionary
  that its wheel ships. An old HMM recogniser: on festival recordings it already gets about a quarter
  of the words wrong.
- ``whisper``: OpenAI's Whisper run by faster-whisper from a local model folder (:mod:`.whisper`;
  tiny.en by default), the recogniser the field scores synthetic speech with.

The output is scored with jiwer against the reference text, both normalised the same way
(:func:`normalize_for_wer`): wavetron's own text front end spells out numbers, ordinals, currency and
times on both sides, so Whisper's "$42" equals the reference's "forty-two dollars". An absolute WER says as
much about the recogniser as about the audio, so compare generated audio with the recogniser's WER on the
real recordings of the same sentences (the ``wer_ref`` metric).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TextError, WavetronError
from .mcd import as_signal

RECOGNISERS = ("pocketsphinx", "whisper")
ASR_RATE = 16000  # the rate of PocketSphinx's acoustic model
_NOT_WORD_RE = re.compile(r"[^a-z' ]+")
_SPACES_RE = re.compile(r"\s+")

_SMALL = {word: value for value, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {word: 10 * value for value, word in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety"
                                                       .split()) if value >= 2}
_SCALES = {"thousand": 10 ** 3, "million": 10 ** 6, "billion": 10 ** 9, "trillion": 10 ** 12}
_NUMBER_WORDS = set(_SMALL) | set(_TENS) | set(_SCALES) | {"hundred"}
# "three dollars and fifty cents" is said as often as the front end's "three dollars, fifty cents".
_MONEY_UNITS = {"dollar", "dollars", "pound", "pounds", "euro", "euros"}


@dataclass
class ErrorRates:
    """Recognition result of one utterance.

    Attributes:
        wer: word error rate (substitutions + deletions + insertions) / reference words; may exceed 1.
        cer: the same over characters (spaces included).
        hypothesis: what the recogniser heard, normalised.
        reference: the reference text, normalised.
    """

    wer: float
    cer: float
    hypothesis: str
    reference: str


def _read_number(words: list[str], start: int) -> tuple[int | None, int]:
    """The number spelled by ``words[start:]`` ("twelve hundred", "two thousand and five", "a hundred") and
    the index after it; ``(None, start)`` when none starts there. A word that cannot continue the number
    ends it, so "one two" is two numbers and "nineteen ninety" two as well."""
    total = current = 0
    place = None  # the smallest place filled in the current group below a thousand
    scale = 10 ** 18  # scales must fall: "two thousand three hundred", never "thousand million"
    index, end = start, start
    while index < len(words):
        word = words[index]
        if word == "a" and index == start and index + 1 < len(words) and words[index + 1] in {"hundred", *_SCALES}:
            current, place = 1, "ones"
        elif word in _SMALL and place in (None, "hundred") or (word in _SMALL and place == "tens"
                                                                and 0 < _SMALL[word] < 10):
            if word == "zero" and (index != start or current or total):
                break
            current += _SMALL[word]
            place = "ones"
        elif word in _TENS and place in (None, "hundred"):
            current += _TENS[word]
            place = "tens"
        elif word == "hundred" and 0 < current < 100 and place in ("ones", "tens"):
            current *= 100
            place = "hundred"
        elif word in _SCALES and current and _SCALES[word] < scale:
            scale = _SCALES[word]
            total, current, place = total + current * scale, 0, None
        elif word == "and" and (place == "hundred" or (place is None and total)) and index + 1 < len(words) \
                and (words[index + 1] in _SMALL or words[index + 1] in _TENS):
            index += 1
            continue
        else:
            break
        index += 1
        end = index
    if end == start:
        return None, start
    return total + current, end


def canonical_numbers(words: list[str]) -> list[str]:
    """Number words rewritten as the front end spells their value, so that every English way of saying a
    number compares equal: "twelve hundred" and "a thousand two hundred" -> "one thousand two hundred",
    "two thousand and five" -> "two thousand five", "dollars and fifty cents" -> "dollars fifty cents".
    Other words are kept."""
    from ..text import cardinal

    out: list[str] = []
    index = 0
    while index < len(words):
        if words[index] == "and" and out and out[-1] in _MONEY_UNITS and index + 1 < len(words) \
                and words[index + 1] in _NUMBER_WORDS:
            index += 1
            continue
        if words[index] in _NUMBER_WORDS or words[index] == "a":
            value, end = _read_number(words, index)
            if value is not None:
                out.extend(cardinal(value).replace("-", " ").split())
                index = end
                continue
        out.append(words[index])
        index += 1
    return out


def normalize_for_wer(text: str) -> str:
    """Lowercase words only: numbers, ordinals, currency, times and abbreviations spelled out (wavetron's
    text normaliser), number words in one canonical form (:func:`canonical_numbers`), hyphens as spaces,
    other punctuation removed, single spaces.

    Raises:
        TextError: nothing speakable is left.
    """
    from ..text import normalize_text

    spoken = normalize_text(text).replace("-", " ")
    words = _SPACES_RE.sub(" ", _NOT_WORD_RE.sub(" ", spoken)).strip()
    # Apostrophes that do not join two letters are quotes, not part of a word.
    words = [word.strip("'") for word in words.split() if word.strip("'")]
    if not words:
        raise TextError(f"text {text[:60]!r} has no words to score")
    return " ".join(canonical_numbers(words))


@functools.lru_cache(maxsize=1)
def _decoder():
    from pocketsphinx import Decoder

    # Loading the models takes about half a second: one decoder serves the whole process.
    return Decoder(samprate=ASR_RATE, loglevel="FATAL")


def _pocketsphinx(audio, sample_rate: int) -> str:
    signal = as_signal(audio)
    if sample_rate != ASR_RATE:
        import soxr

        signal = soxr.resample(signal, sample_rate, ASR_RATE)
    pcm = (np.clip(signal, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    decoder = _decoder()
    # Its live feature state (the cepstral mean, and more: set_cmn alone is not enough) carries over from one
    # utterance to the next: start each afresh, so that a transcript depends on its audio alone.
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis is not None else ""


def check_recogniser(asr: str) -> None:
    """Raises WavetronError unless ``asr`` is one of :data:`RECOGNISERS`."""
    if asr not in RECOGNISERS:
        raise WavetronError(f"unknown recogniser {asr!r}; expected one of {', '.join(RECOGNISERS)}")


def transcribe(audio, sample_rate: int, asr: str = "pocketsphinx", model_dir: str | Path | None = None) -> str:
    """What the recogniser hears in ``audio``, normalised like the references ("" when it hears nothing).

    Args:
        audio: (T,) samples in [-1, 1] at ``sample_rate`` (resampled to 16 kHz here).
        asr: ``"pocketsphinx"`` or ``"whisper"``.
        model_dir: Whisper's CTranslate2 model folder (None: tiny.en); PocketSphinx ignores it.
    """
    check_recogniser(asr)
    if asr == "whisper":
        from .whisper import transcribe_whisper

        text = transcribe_whisper(audio, sample_rate, model_dir)
    else:
        text = _pocketsphinx(audio, sample_rate)
    try:
        return normalize_for_wer(text)
    except TextError:
        return ""


def error_rates(reference: str, hypothesis: str) -> ErrorRates:
    """WER and CER of ``hypothesis`` against ``reference``, both passed through :func:`normalize_for_wer`."""
    import jiwer

    ref = normalize_for_wer(reference)
    try:
        hyp = normalize_for_wer(hypothesis)
    except TextError:
        hyp = ""
    if not hyp:
        # Nothing recognised: every reference word and character is a deletion.
        return ErrorRates(wer=1.0, cer=1.0, hypothesis="", reference=ref)
    return ErrorRates(wer=float(jiwer.wer(ref, hyp)), cer=float(jiwer.cer(ref, hyp)), hypothesis=hyp, reference=ref)


def recognition_errors(audio, sample_rate: int, reference: str, asr: str = "pocketsphinx",
                       model_dir: str | Path | None = None) -> ErrorRates:
    """Transcribe ``audio`` with the recogniser ``asr`` and score it against ``reference``."""
    if not str(reference).strip():
        raise TextError("the reference text is empty")
    return error_rates(reference, transcribe(audio, sample_rate, asr, model_dir))
