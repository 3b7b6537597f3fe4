"""PocketSphinx and Whisper WER/CER scoring, the normalisation of numbers, and the real-time-factor helpers."""
from __future__ import annotations

import time

import numpy as np
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


# Sentences the corpus grammar cannot produce, spoken by festival's slt voice for the recogniser tests.
KNOWN_SENTENCES = [
    "The quick brown fox paid forty two dollars on the third of May.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "We will meet at half past seven in the evening near the old bridge.",
    "My brother bought twelve red apples and a loaf of bread.",
]


@pytest.fixture(scope="module")
def festival_speech() -> list[tuple[np.ndarray, int, str]]:
    """(samples, rate, text) of each KNOWN_SENTENCES, spoken by festival (cmu_us_slt_arctic_hts)."""
    from wavetron.corpus import festival

    spoken = []
    for text in KNOWN_SENTENCES:
        samples, rate = festival.synthesize(text)
        spoken.append((samples.astype(np.float64) / 32768.0, rate, text))
    return spoken


@pytest.fixture(scope="session")
def whisper_model():
    """The default Whisper model (tiny.en), loaded once for the session: later transcriptions reuse it."""
    from wavetron.metrics.whisper import load_model

    return load_model()


def test_number_words_compare_equal_to_digits():
    pairs = [("42", "forty two"), ("$42", "forty-two dollars"), ("the 3rd of May", "the third of may"),
             ("at 7:30 p.m.", "at seven thirty p m"), ("$3.50", "three dollars and fifty cents"),
             ("1,200 people", "twelve hundred people"), ("in 2005", "in two thousand and five"),
             ("100 days", "a hundred days"), ("50%", "fifty percent"), ("the 1990s", "the nineteen nineties")]
    for digits, words in pairs:
        assert normalize_for_wer(digits) == normalize_for_wer(words), (digits, words)
        assert error_rates(words, digits).wer == 0.0
    # Number words are read as numbers only where they form one: these stay apart.
    assert normalize_for_wer("one two three") == "one two three"
    assert normalize_for_wer("nineteen ninety nine") == normalize_for_wer("1999") == "nineteen ninety nine"
    assert normalize_for_wer("a cat and a dog") == "a cat and a dog"
    assert error_rates("forty two", "forty three").wer == 0.5


def test_recognisers_transcribe_known_sentences(festival_speech, whisper_model):
    wers = {"whisper": [], "pocketsphinx": []}
    for audio, rate, text in festival_speech:
        for asr in wers:
            wers[asr].append(recognition_errors(audio, rate, text, asr).wer)
    # Measured: 0.000 for Whisper tiny.en (every sentence) and 0.127 for PocketSphinx (0.077, 0.067, 0, 0.364).
    assert np.mean(wers["whisper"]) < 0.1 and max(wers["whisper"]) < 0.2, wers
    assert np.mean(wers["pocketsphinx"]) < 0.25, wers


def test_whisper_writes_digits_and_they_score_as_words(festival_speech, whisper_model):
    from wavetron.metrics.whisper import transcribe_whisper

    audio, rate, text = festival_speech[0]
    raw = transcribe_whisper(audio, rate)
    assert any(char.isdigit() for char in raw), raw  # "$42 on the 3rd of May": the normalisation has work to do
    assert recognition_errors(audio, rate, text, "whisper").wer == 0.0


def test_recognisers_hear_nothing_in_noise_or_reversed_speech(festival_speech, whisper_model):
    audio, rate, text = festival_speech[1]
    noise = 0.1 * np.random.default_rng(0).standard_normal(audio.size)
    for asr in ("whisper", "pocketsphinx"):
        for what, signal in (("noise", noise), ("reversed", audio[::-1].copy())):
            wer = recognition_errors(signal, rate, text, asr).wer
            assert wer >= 0.8, (asr, what, wer)


def test_a_pocketsphinx_transcript_does_not_depend_on_what_was_heard_before(festival_speech):
    """The decoder's live cepstral mean must not carry over from one utterance to the next: without the reset,
    a loud noise before it changed the third sentence's transcript ("... near the old bridge")."""
    from wavetron.metrics import transcribe

    noise = 0.5 * np.random.default_rng(0).standard_normal(4 * 16000)
    for audio, rate, text in festival_speech:
        first = transcribe(audio, rate, "pocketsphinx")
        for before, before_rate in ((noise, 16000), (0.9 * np.sign(audio), rate)):
            transcribe(before, before_rate, "pocketsphinx")
            assert transcribe(audio, rate, "pocketsphinx") == first, text


def test_whisper_runs_with_no_network(tmp_path, festival_speech):
    """In a fresh process with the hub offline, proxies pointing nowhere and every socket connect refused."""
    import os
    import subprocess
    import sys

    audio, rate, text = festival_speech[0]
    sf.write(tmp_path / "speech.wav", audio, rate)
    script = (
        "import socket, sys\n"
        "def refuse(*args, **kwargs):\n"
        "    raise OSError('network access attempted')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import soundfile as sf\n"
        "from wavetron.metrics import recognition_errors\n"
        "audio, rate = sf.read(sys.argv[1], dtype='float64')\n"
        "print(recognition_errors(audio, rate, sys.argv[2], 'whisper').wer)\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HTTPS_PROXY="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "speech.wav"), text], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip()) == 0.0


def test_whisper_model_folder_errors(tmp_path):
    from wavetron.errors import DataError
    from wavetron.metrics.whisper import default_model_dir, resolve_model_dir

    with pytest.raises(DataError, match="no such folder"):
        resolve_model_dir(tmp_path / "missing")
    with pytest.raises(DataError, match="model.bin"):
        resolve_model_dir(tmp_path)
    assert (default_model_dir() / "model.bin").is_file()
    # tiny.en: English only, 51,864 tokens (the multilingual models have 51,865).
    vocabulary = (default_model_dir() / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    assert len(vocabulary) == 51864
