"""recipes/tacotron_errors.py: its word alignment and the kinds of recogniser error it tabulates."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


@pytest.fixture(scope="module")
def errors():
    sys.path.insert(0, str(RECIPES))  # the recipe imports evaluate_voice beside it
    try:
        spec = importlib.util.spec_from_file_location("tacotron_errors", RECIPES / "tacotron_errors.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(RECIPES))
    return module


def test_substitutions_are_split_by_their_phonemes(errors):
    assert errors.substitution_kind("ˈɑːn", "ɪn") == "vowel"
    assert errors.substitution_kind("kˈiːz", "skˈiːz") == "consonant"
    assert errors.substitution_kind("ðɛɹ", "ðˈɛɹ") == "homophone"  # stress marks are not phonemes
    assert errors.substitution_kind("kˈæt", "dˈɔɡ") == "other"


def test_sentence_errors_count_each_kind_against_the_recording(errors):
    phonemes = errors.Phonemes("en-us")
    text = "he left his keys on the table near the old door"
    counts = errors.sentence_errors(text, "he left his skis in the table the old door door", text, phonemes)
    assert counts["words"] == 11
    assert counts["consonant"] == 1 and counts["vowel"] == 1  # keys -> skis, on -> in
    assert counts["deletions"] == 1 and counts["insertions"] == 1
    assert counts["repeats"] == 1 and counts["skips"] == 0  # "door door"; one word lost is no skip
    assert counts["not_in_recording"] == 3
    skipped = errors.sentence_errors(text, "he left his keys the old door", text, phonemes)
    assert skipped["deletions"] == 4 and skipped["skips"] == 1
    # Words the recogniser also gets wrong in the recording are not the voice's.
    heard = "he left his keys on the cable near the old door"
    assert errors.sentence_errors(text, heard, heard, phonemes)["not_in_recording"] == 0
    assert errors.sentence_errors(text, "", text, phonemes)["deletions"] == 11
