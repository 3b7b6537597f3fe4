"""Symbol sets and the text <-> id encoding for characters."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from wavetron.config import TextConfig
from wavetron.errors import TextError
from wavetron.text import (EOS, EOS_ID, PAD, PAD_ID, UnknownCharacterWarning, ids_to_text, normalize_text,
                           symbols, symbols_to_ids, text_to_ids, texts_to_ids, vocab_size)
from wavetron.text import normalize as normalize_module

CHARS = TextConfig()
PHONEMES = TextConfig(phonemes=True)
SENTENCES = [
    "Printing, in the only sense with which we are at present concerned, differs from most if not all the arts.",
    "Dr. Smith paid $3.50 at 10:30 on May 21st, 1984!",
    "Why? Because; reasons: many - and don't forget the '80s.",
    "Café naïve — “quoted”… ½ cup",
]


@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(normalize_module, "_warned", set())


@pytest.mark.parametrize("config", [CHARS, PHONEMES], ids=["characters", "phonemes"])
def test_symbol_sets_have_pad_at_zero_eos_at_one_and_no_duplicates(config):
    table = symbols(config)
    assert table[PAD_ID] == PAD and table[EOS_ID] == EOS
    assert len(table) == len(set(table)) == vocab_size(config)
    assert all(len(s) == 1 for s in table)
    assert set(" ,.?!;:'-") <= set(table)


def test_character_set_is_letters_punctuation_space():
    assert set(symbols(CHARS)) == set("abcdefghijklmnopqrstuvwxyz ,.?!;:'-") | {PAD, EOS}
    assert vocab_size(CHARS) == 37


def test_symbol_order_is_stable():
    # A trained model's embedding rows are indexed by these ids: the order is part of the format.
    assert "".join(symbols(CHARS)) == "_~ ,.?!;:'-abcdefghijklmnopqrstuvwxyz"
    assert symbols(PHONEMES)[:len(symbols(CHARS))] == symbols(CHARS)


@pytest.mark.parametrize("sentence", SENTENCES)
def test_character_round_trip(sentence):
    ids = text_to_ids(sentence, CHARS)
    assert ids[-1] == EOS_ID and PAD_ID not in ids
    assert all(0 <= i < vocab_size(CHARS) for i in ids)
    assert ids_to_text(ids, CHARS) == normalize_text(sentence)


def test_known_ids():
    table = symbols(CHARS)
    assert text_to_ids("Hi!", CHARS) == [table.index("h"), table.index("i"), table.index("!"), EOS_ID]
    assert text_to_ids("Hi!", CHARS, add_eos=False) == [table.index("h"), table.index("i"), table.index("!")]


def test_ids_to_text_skips_padding_and_accepts_numpy():
    ids = np.array(text_to_ids("a cat", CHARS) + [PAD_ID] * 4, dtype=np.int64)
    assert ids_to_text(ids, CHARS) == "a cat"


@pytest.mark.parametrize("bad", [-1, 37, 10_000])
def test_ids_out_of_range_raise(bad):
    with pytest.raises(TextError, match=f"symbol id {bad} is out of range"):
        ids_to_text([5, bad], CHARS)


def test_batch_encoding_equals_single(fresh_warnings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownCharacterWarning)
        assert texts_to_ids(SENTENCES, CHARS) == [text_to_ids(s, CHARS) for s in SENTENCES]


def test_texts_to_ids_refuses_a_bare_string():
    with pytest.raises(TypeError):
        texts_to_ids("hello", CHARS)


def test_unknown_symbol_is_dropped_with_a_warning(fresh_warnings):
    # Text that reaches the encoder without normalisation: "_" and "~" are not pad and end of sentence.
    with pytest.warns(UnknownCharacterWarning) as record:
        ids = symbols_to_ids("a#b_c~#", CHARS, where="line 3")
    assert ids_to_text(ids, CHARS) == "abc"
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 3 and all(m.startswith("line 3: dropped unknown character") for m in messages)


def test_unknown_character_in_text_to_ids_warns_once(fresh_warnings):
    with pytest.warns(UnknownCharacterWarning) as record:
        ids = text_to_ids("go ☂ now ☂", CHARS)
    assert ids_to_text(ids, CHARS) == "go now"
    assert sum(w.category is UnknownCharacterWarning for w in record) == 1


def test_empty_text_raises_naming_it():
    with pytest.raises(TextError, match=r"'\?\?\?' is empty after cleaning"):
        text_to_ids("???", CHARS)
    with pytest.raises(TextError, match="empty after cleaning"):
        texts_to_ids(["fine", "  "], CHARS)


def test_two_thousand_sentences_encode():
    sentences = [f"{SENTENCES[i % 3]} Number {i}." for i in range(2000)]
    batch = texts_to_ids(sentences, CHARS)
    assert len(batch) == 2000 and all(ids[-1] == EOS_ID for ids in batch)
