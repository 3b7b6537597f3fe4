"""IPA phonemes through phonemizer and the espeak-ng library of the espeakng-loader wheel."""
from __future__ import annotations

import warnings

import pytest

from wavetron.config import TextConfig
from wavetron.errors import TextError
from wavetron.text import (EOS_ID, UnknownCharacterWarning, espeak_version, ids_to_text, phonemize, symbols,
                           text_to_ids, texts_to_ids, vocab_size)

PHONEMES = TextConfig(phonemes=True)


def test_hello_world():
    (ipa,) = phonemize(["hello world"])
    assert ipa and " " in ipa
    hello, world = ipa.split(" ")
    assert {"h", "l"} <= set(hello) and "ˈ" in hello  # stress is marked
    assert {"w", "l", "d"} <= set(world)


@pytest.mark.parametrize("word, sounds", [
    ("the", {"ð"}), ("thing", {"θ", "ŋ"}), ("she", {"ʃ"}), ("measure", {"ʒ"}), ("judge", {"d", "ʒ"}),
    ("cat", {"k", "æ", "t"}), ("red", {"ɹ"}), ("about", {"b", "t"}),
])
def test_known_words_contain_their_sounds(word, sounds):
    (ipa,) = phonemize([word])
    assert sounds <= set(ipa), f"{word} -> {ipa}"


def test_punctuation_is_kept():
    (ipa,) = phonemize(["hello, world? yes! fine; ok: done."])
    for mark in ",?!;:.":
        assert mark in ipa, ipa


def test_batch_matches_single_calls_and_keeps_order():
    texts = ["one", "two words", "three little words", "a"]
    assert phonemize(texts) == [phonemize([t])[0] for t in texts]
    assert phonemize([]) == []
    with pytest.raises(TypeError):
        phonemize("one")  # type: ignore[arg-type]


def test_newline_inside_a_text_does_not_shift_the_batch():
    out = phonemize(["first line\nsecond line", "third"])
    assert len(out) == 2 and out[1] == phonemize(["third"])[0]


def test_symbol_set_covers_espeak_english():
    text = ("The quick brown fox jumps over the lazy dog. She sells seashells; rhythm, button, bottle, "
            "little, church, judge, thing, this, measure, boy, out, ear, air, poor, cure, thought, "
            "father, bird, nurse, cot, caught, hurry, sing, vision, unload, wanted, naked, kitten!")
    allowed = set(symbols(PHONEMES))
    for language in ("en-us", "en-gb"):
        (ipa,) = phonemize([text], language)
        assert set(ipa) <= allowed, f"{language}: not covered {sorted(set(ipa) - allowed)}"


def test_text_to_ids_with_phonemes():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownCharacterWarning)  # every espeak symbol is known
        ids = text_to_ids("Dr. Smith paid $3.50 at 10:30, didn't he?", PHONEMES)
    assert ids[-1] == EOS_ID and all(1 <= i < vocab_size(PHONEMES) for i in ids)
    ipa = ids_to_text(ids, PHONEMES)
    assert ipa == phonemize(["doctor smith paid three dollars, fifty cents at ten thirty, didn't he?"])[0]
    assert ipa.endswith("?") and "θ" in ipa


def test_phoneme_batch_equals_single():
    texts = ["Hello there.", "It is 3pm!", "Good-bye, Mr. Lee."]
    assert texts_to_ids(texts, PHONEMES) == [text_to_ids(t, PHONEMES) for t in texts]


def test_unsupported_language_is_a_text_error():
    with pytest.raises(TextError, match="text.language"):
        phonemize(["hello"], language="xx-nowhere")


def test_espeak_version_is_reported():
    assert espeak_version()[0].isdigit()
