"""Text front end: English normalisation, then characters or IPA phonemes, then symbol ids.

    >>> from wavetron.config import TextConfig
    >>> normalize_text("Dr. Smith paid $3.50.")
    'doctor smith paid three dollars, fifty cents.'
    >>> ids = text_to_ids("Hi!", TextConfig())  # [..., EOS_ID]; pad is PAD_ID = 0
"""
from __future__ import annotations

from .normalize import UnknownCharacterWarning, expand_abbreviations, normalize_text, to_ascii
from .numbers import cardinal, expand_numbers, ordinal, year
from .phonemes import espeak_version, phonemize
from .symbols import (EOS, EOS_ID, PAD, PAD_ID, ids_to_text, symbols, symbols_to_ids, text_to_ids,
                      texts_to_ids, vocab_size)

__all__ = [
    "EOS", "EOS_ID", "PAD", "PAD_ID", "UnknownCharacterWarning", "cardinal", "espeak_version",
    "expand_abbreviations", "expand_numbers", "ids_to_text", "normalize_text", "ordinal", "phonemize",
    "symbols", "symbols_to_ids", "text_to_ids", "texts_to_ids", "to_ascii", "vocab_size", "year",
]
