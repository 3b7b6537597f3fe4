"""Capitals that are not words: acronyms (``"FBI"`` spelled, ``"NASA"`` read) and Roman numerals.

An all-capital word is spelled letter by letter unless it is a known word-acronym or, with four
letters or more, it could be an English word (a vowel, a valid onset, no run of three consonants):
``"NASA"``, ``"NATO"``, ``"UNICEF"`` are read; ``"FBI"``, ``"HTML"``, ``"NCAA"`` are spelled. Text
written all in capitals (a shouted headline) is left alone: its words are words.

Roman numerals are read after a name as regnal numbers (``"Henry VIII"`` -> ``"Henry the eighth"``)
and after words that count (``"chapter IV"``, ``"World War II"``) as cardinals.
"""
from __future__ import annotations

import re

from .numbers import cardinal, ordinal

# Read as words although short or odd-looking; and spelled although pronounceable.
_AS_WORDS = {"NASA", "NATO", "UNESCO", "UNICEF", "NAFTA", "OPEC", "FIFA", "AIDS", "SARS", "COVID", "LASER", "RADAR",
             "SCUBA", "NASDAQ", "AWOL", "IKEA", "PIN", "GIF", "RAM", "ROM", "SIM", "ZIP", "LAN", "WAN", "ASCII",
             "JSON", "JPEG", "MIDI", "DOS", "SWAT", "POTUS", "SCOTUS", "YOLO", "TED", "WASP", "CAPTCHA", "GIS",
             "ISIS", "OSHA", "FEMA", "UEFA", "NOAA", "ANSI", "CERN", "DARPA", "MENSA", "LEGO", "ASAP"}
_SPELLED = {"UCLA", "USSR", "ESPN", "IEEE", "NAACP", "USDA", "OECD", "ACLU", "UNHCR", "EULA", "AMA", "URL", "SUV",
            "HIV", "ATM", "IOU", "EPA", "ISO", "ETA", "IRA", "ROI", "NYPD", "LAPD"}
_SPECIAL = {"OK": "okay", "TV": "t v", "ID": "i d", "IDs": "i d's"}
_ONSETS = {"bl", "br", "ch", "cl", "cr", "dr", "dw", "fl", "fr", "gl", "gn", "gr", "kl", "kn", "kr", "ph", "pl",
           "pr", "sc", "sh", "sk", "sl", "sm", "sn", "sp", "st", "sw", "th", "tr", "tw", "wh", "wr", "scr", "spl",
           "spr", "str", "squ", "qu", "thr", "shr", "sch"}
_CAPITALS_RE = re.compile(r"\b([A-Z][A-Z]+)(s?)\b")
_LETTERS_RE = re.compile(r"[A-Za-z]")

_ROMAN_RE = r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
# Words after which a numeral counts ("chapter four"); after any other capitalised word it is regnal.
_COUNTING = ("chapter", "part", "volume", "vol", "book", "act", "scene", "section", "article", "appendix",
             "phase", "stage", "level", "class", "type", "war", "bowl", "psalm", "canto", "season", "episode",
             "category", "apollo", "rocky")
_COUNTED_RE = re.compile(rf"\b((?i:{'|'.join(_COUNTING)}))\.?\s+({_ROMAN_RE})\b(?!-)")
# Regnal numbers run I..XXXIX (Louis XVIII, Benedict XVI); a lone "I" or "X" after a name is the
# pronoun or a letter ("Malcolm X"), so a one-letter numeral here must be "V" ("Henry V").
_ROMAN_HINT_RE = re.compile(r"[a-z.]\s+[IVXLCDM]")
_REGNAL_RE = re.compile(r"\b([A-Z][a-z]+)\s+(X{0,3}(?:IX|IV|V?I{0,3}))\b(?!-)")
# Capitalised words that are not names: "In II" or "The XX" is not a regnal number.
_NOT_NAMES = {"The", "A", "An", "In", "On", "At", "Of", "And", "Or", "To", "For", "With", "By", "From", "Is", "It"}


def roman_value(numeral: str) -> int:
    """``"XLII"`` -> ``42`` (the numeral is assumed valid, as the patterns here admit only valid ones)."""
    total = 0
    for char, following in zip(numeral, numeral[1:] + " "):
        value = _ROMAN_VALUES[char]
        total += -value if following != " " and _ROMAN_VALUES[following] > value else value
    return total


def _counted(match: re.Match) -> str:
    word, numeral = match.groups()
    if not numeral:  # the numeral pattern also matches nothing: "chapter one"
        return match.group(0)
    if numeral == "I" and word.islower() and re.match(r"\s+[a-z]", match.string[match.end():]):
        return match.group(0)  # "the war I fought": the pronoun ("World War I ended" is a title)
    return f"{word} {cardinal(roman_value(numeral))}"


def _regnal(match: re.Match) -> str:
    name, numeral = match.groups()
    if not numeral or (len(numeral) == 1 and numeral != "V") or name in _NOT_NAMES:
        return match.group(0)
    return f"{name} the {ordinal(roman_value(numeral))}"


def expand_roman_numerals(text: str) -> str:
    """``"Henry VIII read chapter IV"`` -> ``"Henry the eighth read chapter four"``."""
    if not _ROMAN_HINT_RE.search(text):  # both patterns need a word, a space, then a numeral's letter
        return text
    text = _COUNTED_RE.sub(_counted, text)
    return _REGNAL_RE.sub(_regnal, text)


def _pronounceable(word: str) -> bool:
    """Could ``word`` (lowercase) be read as an English word? A vowel, a valid onset, no three consonants."""
    clusters = re.split(r"[aeiou]+", word)
    if len(clusters) < 2 or re.search(r"[aeiou]{3}", word):
        return False
    onset, coda = clusters[0], clusters[-1]
    if len(onset) > 1 and onset not in _ONSETS:
        return False
    return len(coda) <= 2 and all(len(c) <= 2 for c in clusters[1:-1])


def _spell(letters: str) -> str:
    return " ".join(letters)


def _acronym(match: re.Match) -> str:
    letters, plural = match.groups()
    word = letters + plural
    if word in _SPECIAL:
        return _SPECIAL[word]
    if letters in _AS_WORDS or (letters not in _SPELLED and len(letters) >= 4 and _pronounceable(letters.lower())):
        return letters.lower() + plural
    spelled = _spell(letters.lower())
    return spelled + "'s" if plural else spelled


def expand_acronyms(text: str) -> str:
    """``"The FBI and NASA"`` -> ``"The f b i and nasa"``; all-capital text is left as it is."""
    if not _CAPITALS_RE.search(text):
        return text
    letters = _LETTERS_RE.findall(text)
    lowercase = sum(char.islower() for char in letters)
    if lowercase < 0.2 * len(letters) and len(_CAPITALS_RE.findall(text)) > 1:
        return text  # a headline or a shout, not a row of acronyms
    return _CAPITALS_RE.sub(_acronym, text)
