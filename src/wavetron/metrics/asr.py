"""Intelligibility: word and character error rates of a real speech recogniser.

The recogniser is CMU PocketSphinx with the US English acoustic model, language model and
dictionary that its wheel ships, so it runs offline. Its output is scored with jiwer against the
reference text, both normalised the same way (:func:`normalize_for_wer`). An absolute WER says as much
about the recogniser as about the audio, so compare generated audio with the recogniser's WER on the
real recordings of the same sentences (the ``wer_ref`` metric).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from ..errors import TextError
from .mcd import as_signal

ASR_RATE = 16000  # the rate of PocketSphinx's acoustic model
_NOT_WORD_RE = re.compile(r"[^a-z' ]+")
_SPACES_RE = re.compile(r"\s+")


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


def normalize_for_wer(text: str) -> str:
    """Lowercase words only: numbers and abbreviations spelled out (wavetron's text normaliser), hyphens
    as spaces, other punctuation removed, single spaces.

    Raises:
        TextError: nothing speakable is left.
    """
    from ..text import normalize_text

    spoken = normalize_text(text).replace("-", " ")
    words = _SPACES_RE.sub(" ", _NOT_WORD_RE.sub(" ", spoken)).strip()
    # Apostrophes that do not join two letters are quotes, not part of a word.
    words = " ".join(word.strip("'") for word in words.split() if word.strip("'"))
    if not words:
        raise TextError(f"text {text[:60]!r} has no words to score")
    return words


@functools.lru_cache(maxsize=1)
def _decoder():
    from pocketsphinx import Decoder

    # Loading the models takes about half a second: one decoder serves the whole process.
    return Decoder(samprate=ASR_RATE, loglevel="FATAL")


def transcribe(audio, sample_rate: int) -> str:
    """What PocketSphinx hears in ``audio``, normalised like the references ("" when it hears nothing).

    Args:
        audio: (T,) samples in [-1, 1] at ``sample_rate`` (resampled to 16 kHz here).
    """
    signal = as_signal(audio)
    if sample_rate != ASR_RATE:
        import soxr

        signal = soxr.resample(signal, sample_rate, ASR_RATE)
    pcm = (np.clip(signal, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    decoder = _decoder()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    text = hypothesis.hypstr if hypothesis is not None else ""
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


def recognition_errors(audio, sample_rate: int, reference: str) -> ErrorRates:
    """Transcribe ``audio`` with PocketSphinx and score it against ``reference``."""
    if not str(reference).strip():
        raise TextError("the reference text is empty")
    return error_rates(reference, transcribe(audio, sample_rate))

