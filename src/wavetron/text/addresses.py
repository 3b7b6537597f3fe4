"""Addresses read aloud: e-mail, web addresses and telephone numbers.

``"jane.doe@example.com"`` -> ``"jane dot doe at example dot com"``;
``"https://www.example.org/docs"`` -> ``"w w w dot example dot org slash docs"`` (the scheme is not said);
``"(555) 123-4567"`` -> ``"five five five, one two three, four five six seven"``.
Runs first, before abbreviations and numbers would take the dots and digits apart.
"""
from __future__ import annotations

import re

from .numbers import digits_to_words

# Top-level domains said as a word; any other of up to three letters is spelled ("uk", "io" -> "u k", "i o").
_TLD_WORDS = {"com", "org", "net", "gov", "info", "biz", "dev", "app", "shop", "online", "museum"}
_TLDS = r"com|org|net|edu|gov|mil|int|info|biz|dev|app|shop|online|io|ai|co|uk|us|de|fr|ca|au|jp|eu|nz|ie|tv"
_PART_SYMBOLS = {".": "dot", "-": "dash", "_": "underscore", "/": "slash", "~": "tilde", "+": "plus", "=": "equals",
                 "?": "question mark", "&": "and", "#": "hash", ":": "colon", "%": "percent"}
_EMAIL_RE = re.compile(r"\b([A-Za-z0-9][A-Za-z0-9._%+-]*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b")
_URL_RE = re.compile(rf"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"']+"
                     rf"|\b[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.(?:{_TLDS})\b(?:/[^\s<>\"']*)?")
# Cheap tests that say whether the full patterns can match (each scan costs about as much as the rest).
_TLD_HINT_RE = re.compile(rf"\.(?:{_TLDS})\b")
_PHONE_HINT_RE = re.compile(r"\d{3}[\s.)-]")
_SCHEME_RE = re.compile(r"^(?:https?|ftp)://", re.IGNORECASE)
_PIECE_RE = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]")
# North American numbers, optionally with +1 or 1-: "(555) 123-4567", "555.123.4567", "1-800-555-0199".
_PHONE_RE = re.compile(r"(?<![\w.+-])(?:(\+?1)[\s.-]?)?(\(\d{3}\)\s?|\d{3}[\s.-])(\d{3})[\s.-](\d{4})(?![\w-]|\.\d)")
# International: "+44 20 7946 0958", "+33 1-23-45-67-89".
_INTERNATIONAL_RE = re.compile(r"(?<![\w+])\+(\d{1,3})((?:[\s.-]\d{1,4}){2,5})(?![\w-]|\.\d)")


def _letters(word: str, domain_end: bool = False) -> str:
    """A run of letters: said as it is, or spelled when it cannot be a word ("www", "io", "xkcd")."""
    lower = word.lower()
    if domain_end:
        return lower if lower in _TLD_WORDS or len(lower) > 3 else " ".join(lower)
    if lower == "www" or not re.search(r"[aeiouy]", lower):
        return " ".join(lower)
    return lower


def _spoken(address: str, host: bool = True) -> str:
    """Say each piece of an address: words, digits one by one, and symbols by name.

    With ``host``, the last word before any path is a top-level domain ("com", "uk").
    """
    pieces = _PIECE_RE.findall(address)
    host_end = next((i for i, piece in enumerate(pieces) if piece == "/"), len(pieces))
    last_word = max((i for i in range(host_end) if pieces[i].isalpha()), default=-1) if host else -1
    words = []
    for index, piece in enumerate(pieces):
        if piece.isalpha():
            words.append(_letters(piece, domain_end=index == last_word))
        elif piece.isdigit():
            words.append(digits_to_words(piece) if len(piece) > 1 and piece.startswith("0") or len(piece) > 4
                         else piece)  # short numbers are read as numbers later: "route66" -> "sixty-six"
        elif piece in _PART_SYMBOLS:
            words.append(_PART_SYMBOLS[piece])
    return " ".join(words)


def _url(match: re.Match) -> str:
    address = match.group(0)
    trailing = re.search(r"[.,;:!?)\]]+$", address)  # a sentence's punctuation after the address
    tail = trailing.group(0) if trailing else ""
    address = address[:len(address) - len(tail)]
    return _spoken(_SCHEME_RE.sub("", address).rstrip("/")) + tail


def _email(match: re.Match) -> str:
    return f"{_spoken(match.group(1), host=False)} at {_spoken(match.group(2))}"


def _phone(match: re.Match) -> str:
    country, area, exchange, line = match.groups()
    groups = [digits_to_words(re.sub(r"\D", "", area)), digits_to_words(exchange), digits_to_words(line)]
    if country:
        groups.insert(0, ("plus " if country.startswith("+") else "") + digits_to_words(country.lstrip("+")))
    return ", ".join(groups)


def _international(match: re.Match) -> str:
    groups = [digits_to_words(group) for group in re.split(r"[\s.-]+", match.group(2).strip(" .-"))]
    return ", ".join([f"plus {digits_to_words(match.group(1))}", *groups])


def expand_addresses(text: str) -> str:
    """Spell out e-mail addresses, web addresses and telephone numbers in ``text``."""
    if "@" in text:
        text = _EMAIL_RE.sub(_email, text)
    if "." in text and ("://" in text or "www." in text or _TLD_HINT_RE.search(text)):
        text = _URL_RE.sub(_url, text)
    if "+" in text:
        text = _INTERNATIONAL_RE.sub(_international, text)
    if _PHONE_HINT_RE.search(text):
        text = _PHONE_RE.sub(_phone, text)
    return text
