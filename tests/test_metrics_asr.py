"""PocketSphinx WER/CER scoring, and the real-time-factor helpers."""
from __future__ import annotations

import time

import pytest
import soundfile as sf

from wavetron.errors import TextError
from wavetron.metrics import error_rates, normalize_for_wer, real_time_factor, recognition_errors, time_call
from wavetron.metrics.speed import Stopwatch


def _shortest(speech_corpus):
    """The shortest sentence of the corpus and its text, to keep recognition quick."""
    texts = dict(line.split("|")[:2] for line in (speech_corpus / "metadata.csv").read_text().splitlines())
    wavs = sorted((speech_corpus / "wavs").glob("*.wav"), key=lambda p: sf.info(p).frames)
    return wavs[0], texts[wavs[0].stem]


def test_normalize_for_wer_spells_numbers_and_drops_punctuation():
    assert normalize_for_wer("Dr. Smith paid $5 -- in 1999!") == "doctor smith paid five dollars in nineteen ninety nine"
    assert normalize_for_wer("'Twas the night's end.") == "twas the night's end"
    with pytest.raises(TextError):
        normalize_for_wer("?!")


def test_error_rates_count_edits():
    rates = error_rates("The cat sat on the mat.", "the cat sit on mat")
    assert rates.wer == pytest.approx(2 / 6)  # one substitution, one deletion
    assert rates.cer == pytest.approx(5 / len("the cat sat on the mat"))  # a -> i, and "the " deleted
    assert error_rates("Twenty one", "twenty-one").wer == 0.0
    assert error_rates("hello world", "").wer == 1.0


def test_identical_audio_gets_the_recognisers_own_wer(speech_corpus):
    path, text = _shortest(speech_corpus)
    audio, rate = sf.read(path, dtype="float64")
    on_reference = recognition_errors(audio, rate, text)
    on_copy = recognition_errors(audio.copy(), rate, text)
    assert on_copy.wer == on_reference.wer and on_copy.cer == on_reference.cer
    assert on_copy.hypothesis == on_reference.hypothesis
    assert on_reference.reference == normalize_for_wer(text)


def test_real_time_factor_helpers():
    assert real_time_factor(0.5, 2.0) == 0.25
    with pytest.raises(ValueError):
        real_time_factor(1.0, 0.0)
    assert 0.009 < time_call(lambda: time.sleep(0.01), repeat=2, warmup=0) < 0.5
    watch = Stopwatch()
    for _ in range(2):
        with watch("sleep"):
            time.sleep(0.005)
    assert watch.counts["sleep"] == 2 and 0.004 < watch.mean("sleep") < 0.5
