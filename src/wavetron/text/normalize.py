"""English text normalisation: unicode to ASCII, addresses, dates, abbreviations, numbers, acronyms, case, spaces.

``normalize_text`` turns what people write into what a speaker says, as lowercase ASCII
words plus the punctuation that shapes prosody (``, . ? ! ; : ' -``). It is the text that
goes into the ``normalized_text`` column of LJSpeech metadata and into the symbol encoder.
"""
from __future__ import annotations

import re
import unicodedata
import warnings

from ..errors import TextError
from .acronyms import expand_acronyms, expand_roman_numerals
from .addresses import expand_addresses
from .dates import expand_dates
from .numbers import expand_numbers

KEPT_PUNCTUATION = ",.?!;:'-"


class UnknownCharacterWarning(UserWarning):
    """A character that the front end cannot read was dropped from the text."""


_warned: set[str] = set()


def warn_unknown(char: str, where: str) -> None:
    """Warn once per distinct character (per process) that ``char`` was dropped."""
    if char in _warned:
        return
    _warned.add(char)
    name = unicodedata.name(char, f"U+{ord(char):04X}")
    warnings.warn(f"{where}: dropped unknown character {char!r} ({name})", UnknownCharacterWarning, stacklevel=3)


# Characters that NFKD does not decompose into ASCII but that have an obvious reading.
# Currency signs stay until the numbers are spelled out.
_ASCII_TABLE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": " - ", "\u2015": " - ",
    "\u2212": "-", "\u2026": "...", "\u2044": "/", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    "\u00df": "ss", "\u00e6": "ae", "\u00c6": "Ae", "\u0153": "oe", "\u0152": "Oe", "\u00f8": "o",
    "\u00d8": "O", "\u0142": "l", "\u0141": "L", "\u0111": "d", "\u0110": "D", "\u00f0": "d",
    "\u00d0": "D", "\u00fe": "th", "\u00de": "Th", "\u0131": "i", "\u00a1": "", "\u00bf": "",
    "\u00d7": " times ", "\u00b0": " degrees ",
})

# Abbreviations whose dot is part of them; matched case-insensitively as whole words.
_ABBREVIATIONS = {
    "mrs": "missus", "mr": "mister", "ms": "miz", "dr": "doctor", "drs": "doctors", "jr": "junior",
    "sr": "senior", "prof": "professor", "rev": "reverend", "hon": "honorable", "gen": "general",
    "gov": "governor", "sen": "senator", "rep": "representative", "capt": "captain", "col": "colonel",
    "lt": "lieutenant", "maj": "major", "sgt": "sergeant", "cpl": "corporal", "esq": "esquire",
    "ltd": "limited", "inc": "incorporated", "co": "company", "corp": "corporation", "bros": "brothers",
    "ft": "fort", "mt": "mount", "ave": "avenue", "blvd": "boulevard", "rd": "road", "dept": "department",
    "univ": "university", "approx": "approximately", "vs": "versus", "etc": "et cetera",
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "aug": "august",
    "sept": "september", "sep": "september", "oct": "october", "nov": "november", "dec": "december",
}
# Titles read the same with or without the dot ("Mr Smith"); the rest need the dot ("co." not "co").
_UNDOTTED = {"mrs", "mr", "ms", "dr", "drs", "jr", "sr", "vs", "etc"}
# Two passes instead of one big case-insensitive alternation, which Python's re runs several
# times slower: every short word before a dot is looked up, then the few undotted titles.
_DOTTED_RE = re.compile(r"\b([A-Za-z]{2,6})\.")
_UNDOTTED_RE = re.compile(r"\b(" + "|".join(sorted(_UNDOTTED, key=len, reverse=True)) + r")\b", re.IGNORECASE)
_LATIN_RE = re.compile(r"\b(e\.g|i\.e|a\.k\.a|ph\.d)\.?(?=\W|$)", re.IGNORECASE)
_LATIN = {"e.g": "for example", "i.e": "that is", "a.k.a": "also known as", "ph.d": "p h d"}
_INITIALISM_RE = re.compile(r"\b((?:[A-Za-z]\.){2,})(?=\W|$)")  # "U.S.A." -> "U S A"
# "St." is "Saint" before a name ("St. John") and "Street" after one ("Baker St.").
_SAINT_RE = re.compile(r"\bSt\.?\s+(?=[A-Z])")
_STREET_RE = re.compile(r"(?<=[A-Za-z] )St\b(\.?)")
_SYMBOL_WORDS = [("&", " and "), ("@", " at "), ("+", " plus "), ("=", " equals "), ("%", " percent "),
                 ("/", " "), ("_", " "), ("\\", " ")]
_DROP_RE = re.compile(r"[^a-z ,.?!;:'\-]")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"\s+([,.?!;:])")
_REPEAT_PUNCT_RE = re.compile(r"([,;:?!-])\1+|,(?=[.?!;:])")
_SPACES_RE = re.compile(r"\s+")
_DEGREES_RE = re.compile(r"\bdegrees\s+([CF])\b")  # "25°C" reaches here as "25 degrees C"
_SCALES = {"C": "celsius", "F": "fahrenheit"}


def _end_dot(match: re.Match, dot: str) -> str:
    """Keep an abbreviation's dot when it also ends the text (it is then the full stop)."""
    return "." if dot == "." and not match.string[match.end():].strip() else ""


def _dotted(match: re.Match) -> str:
    words = _ABBREVIATIONS.get(match.group(1).lower())
    return match.group(0) if words is None else words + _end_dot(match, ".")


def expand_abbreviations(text: str) -> str:
    """``"Dr. Smith vs. St. John"`` -> ``"doctor Smith versus Saint John"`` (case kept for the rest)."""
    if "." in text:
        text = _LATIN_RE.sub(lambda m: _LATIN[m.group(1).lower()] + _end_dot(m, "." if m.group(0)[-1] == "." else ""),
                             text)
        text = _INITIALISM_RE.sub(lambda m: " ".join(m.group(1).split(".")).strip() + _end_dot(m, "."), text)
    if "St" in text:
        text = _SAINT_RE.sub("Saint ", text)
        text = _STREET_RE.sub(lambda m: "Street" + _end_dot(m, m.group(1)), text)
    if "." in text:
        text = _DOTTED_RE.sub(_dotted, text)
    lower = text.lower()
    if any(word in lower for word in _UNDOTTED):  # a substring test is far cheaper than the scan
        text = _UNDOTTED_RE.sub(lambda m: _ABBREVIATIONS[m.group(1).lower()], text)
    return text


def to_ascii(text: str, where: str = "text") -> str:
    """Fold unicode to ASCII: accents removed, quotes and dashes made plain, the rest dropped with a warning.

    Currency signs (£ € ¥) are kept: ``expand_numbers`` reads them.
    """
    text = unicodedata.normalize("NFKD", text).translate(_ASCII_TABLE)
    if text.isascii():
        return text
    out = []
    for char in text:
        if char.isascii() or char in "£€¥":
            out.append(char)
        elif unicodedata.combining(char):
            continue  # an accent split off by NFKD
        elif char.isspace():
            out.append(" ")
        else:
            warn_unknown(char, where)
    return "".join(out)


def _describe(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def normalize_text(text: str) -> str:
    """Normalise English text to what a speaker says, in lowercase ASCII.

    ``"Dr. Smith paid $3.50 at 10:30 on May 21st, 1984!"`` ->
    ``"doctor smith paid three dollars, fifty cents at ten thirty on may twenty-first, nineteen eighty-four!"``

    Args:
        text: any unicode text.
    Returns:
        lowercase ASCII words, single spaces, and the punctuation ``, . ? ! ; : ' -``.
    Raises:
        TextError: nothing speakable (no letter) is left after cleaning.
    """
    if not isinstance(text, str):
        raise TextError(f"expected text as a string, got {type(text).__name__}")
    cleaned = to_ascii(text, where=_describe(text))
    if "degrees" in cleaned:
        cleaned = _DEGREES_RE.sub(lambda m: f"degrees {_SCALES[m.group(1)]}", cleaned)
    # Addresses and dates first: the later passes would take their dots, slashes and digits apart.
    cleaned = expand_addresses(cleaned)
    cleaned = expand_dates(cleaned)
    cleaned = expand_abbreviations(cleaned)
    cleaned = expand_roman_numerals(cleaned)
    cleaned = expand_numbers(cleaned)
    cleaned = expand_acronyms(cleaned)  # after the numbers, which read "5 GB" and "7 PM" themselves
    cleaned = cleaned.lower()
    for symbol, words in _SYMBOL_WORDS:
        if symbol in cleaned:
            cleaned = cleaned.replace(symbol, words)
    cleaned = _DROP_RE.sub("", _SPACES_RE.sub(" ", cleaned))  # tabs, newlines -> " " before the drop
    cleaned = _SPACES_RE.sub(" ", cleaned)
    cleaned = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", cleaned)
    cleaned = _REPEAT_PUNCT_RE.sub(lambda m: m.group(1) or "", cleaned).strip(" ,;:-")
    if not any(c.isalpha() for c in cleaned):
        raise TextError(f"text {_describe(text)} is empty after cleaning (no letters left to speak)")
    return cleaned
