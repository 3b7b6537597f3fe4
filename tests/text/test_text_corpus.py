"""The text front end on the metadata of a real LJSpeech-format corpus (see tests/conftest.py)."""
from __future__ import annotations

import warnings

from wavetron.config import TextConfig
from wavetron.text import UnknownCharacterWarning, ids_to_text, normalize_text, texts_to_ids, vocab_size


def _metadata(corpus) -> list[list[str]]:
    lines = (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines()
    return [line.split("|") for line in lines if line.strip()]


def test_corpus_metadata_encodes_as_characters_and_phonemes(speech_corpus):
    rows = _metadata(speech_corpus)
    assert len(rows) == 12
    texts = [row[1] for row in rows]
    for row in rows:  # the normalized_text column is this front end's output, and a fixed point of it
        assert row[2] == normalize_text(row[1])
        assert normalize_text(row[2]) == row[2]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownCharacterWarning)
        for config in (TextConfig(), TextConfig(phonemes=True)):
            batch = texts_to_ids(texts, config)
            assert all(1 <= i < vocab_size(config) for ids in batch for i in ids)
            assert all(len(ids) > 5 for ids in batch)
    assert [ids_to_text(ids, TextConfig()) for ids in texts_to_ids(texts, TextConfig())] == [r[2] for r in rows]
