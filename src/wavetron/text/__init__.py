"""Text front end: English normalisation, then characters or IPA phonemes, then symbol ids.

Normalisation reads, in this order: addresses (e-mail, web, telephone), dates and clock times,
abbreviations, Roman numerals, numbers (money, percentages, units, ordinals, years), acronyms.

    >>> from wavetron.config import TextConfig
    >>> normalize_text("Dr. Smith paid $3.50.")
    'doctor smith paid three dollars, fifty cents.'
    >>> ids = text_to_ids("Hi!", TextConfig())  # [..., EOS_ID]; pad is PAD_ID = 0
"""
from __future__ import annotations

from .acronyms import expand_acronyms, expand_roman_numerals
from .addresses import expand_addresses
from .dates import expand_dates
from .normalize import UnknownCharacterWarning, expand_abbreviations, normalize_text, to_ascii
from .numbers import cardinal, expand_numbers, ordinal, year
from .phonemes import espeak_version, phonemize
from .symbols import (EOS, EOS_ID, PAD, PAD_ID, ids_to_text, symbols, symbols_to_ids, text_to_ids,
                      texts_to_ids, vocab_size)

__all__ = [
    "EOS", "EOS_ID", "PAD", "PAD_ID", "UnknownCharacterWarning", "cardinal", "espeak_version",
    "expand_abbreviations", "expand_acronyms", "expand_addresses", "expand_dates", "expand_numbers",
    "expand_roman_numerals", "ids_to_text", "normalize_text", "ordinal", "phonemize",
    "symbols", "symbols_to_ids", "text_to_ids", "texts_to_ids", "to_ascii", "vocab_size", "year",
]
