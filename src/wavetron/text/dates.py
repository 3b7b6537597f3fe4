"""Dates and clock times as spoken: ``"12/05/2024"``, ``"2024-12-05"``, ``"Dec. 5, 2024"``, ``"3.45pm"``.

Runs before abbreviations and numbers, which would otherwise read ``"12/05/2024"`` as a fraction and
``"Dec."`` as a plain word. Numeric dates are read American style, month first (``12/05/2024`` is
December fifth), unless the first field cannot be a month (``25/12/2024``) or the fields are separated
by dots, the European style (``05.12.2024`` is the fifth of December).
"""
from __future__ import annotations

import re

from .numbers import cardinal, ordinal, year

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
# Written month names, capitalised as in running text ("may" in lowercase is the verb).
_MONTH_NAMES = {name.capitalize(): index for index, name in enumerate(MONTHS)}
_ABBREVIATED = {name[:3].capitalize(): index for index, name in enumerate(MONTHS) if len(name) > 3}
_ABBREVIATED["Sept"] = 8
_MONTH_NAMES.update(_ABBREVIATED)
# Any capitalised word, looked up in _MONTH_NAMES by the callbacks: one simple pattern scans several
# times faster than an alternation of 23 names.
_MONTH = r"\b([A-Z][a-z]{2,8})\b(\.?)"
_DAY = r"(3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(1\d{3}|20\d\d)"

_ISO_RE = re.compile(rf"\b{_YEAR}-(1[0-2]|0[1-9])-(3[01]|[12]\d|0[1-9])\b")  # 2024-12-05
# 12/05/2024, 12-05-24, 05.12.2024 (with dots only a four-digit year: "1.10.12" is a version)
_NUMERIC_RE = re.compile(r"(?<![\w.])(\d{1,2})(?:([/-])(\d{1,2})\2(\d{4}|\d{2})|(\.)(\d{1,2})\.(\d{4}))\b(?![.-]\d)")
# "December 5, 2024", "Dec. 5th", "Dec 5 2024"
_MONTH_DAY_RE = re.compile(rf"{_MONTH}\s+{_DAY}\b(?!:|\.\d|,\d{{3}})(?:(,?)\s+{_YEAR}\b)?")
# "June 2020", "Jun. 2020": read here, since the abbreviation would stay a word
_MONTH_YEAR_RE = re.compile(rf"{_MONTH}\s+{_YEAR}\b(?!,\d|\.\d)")
# "5 December 2024", "5th of December", "the 5th of Dec."
_DAY_MONTH_RE = re.compile(rf"\b([Tt]he\s+)?{_DAY}(\s+of)?\s+{_MONTH}(?:(,?)\s+{_YEAR}\b)?")
# Years before 1100 are read as years only where a year is meant ("in 1066", "1066 AD"), not in
# "1024 bytes"; "'69" is a year by its apostrophe ("'60s" is a decade, read with the numbers).
_EARLY_YEAR_RE = re.compile(r"(\b(?:[Ii]n|[Ss]ince|[Yy]ear|[Uu]ntil) )?\b(10\d\d)\b(\s(?:AD|BC|CE|BCE)\b)?")
_DIGIT_RE = re.compile(r"\d")
_SHORT_YEAR_RE = re.compile(r"(?<![\w'])'(\d\d)\b(?!')")
# UK times with a dot before a meridiem, "3.45pm", "10.30 a.m.", become clock times "3:45pm".
_DOTTED_TIME_RE = re.compile(r"\b(1[0-2]|0?[1-9])\.([0-5]\d)\s?(?=[ap]\.?\s?m\b)", re.IGNORECASE)


def spoken_date(month: int, day: int, year_value: int | None = None, comma: bool = True) -> str:
    """``(12, 5, 2024)`` -> ``"december fifth, twenty twenty-four"`` (month 1-12)."""
    words = f"{MONTHS[month - 1]} {ordinal(day)}"
    if year_value is not None:
        words += ("," if comma else "") + f" {year(year_value)}"
    return words


def _full_year(text: str) -> int:
    value = int(text)
    if len(text) == 2:  # "12/05/24": 00-49 are this century, 50-99 the last one
        value += 2000 if value < 50 else 1900
    return value


def _numeric(match: re.Match) -> str:
    first, separator, second, year_text, dot, dotted_second, dotted_year = match.groups()
    if dot:
        separator, second, year_text = dot, dotted_second, dotted_year
    a, b = int(first), int(second)
    month, day = (b, a) if separator == "." else (a, b)
    if month > 12 and day <= 12:  # "25/12/2024": the day comes first
        month, day = day, month
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)  # not a date: left to the number rules
    return spoken_date(month, day, _full_year(year_text))


def _month_day(match: re.Match) -> str:
    month, dot, day, comma, year_text = match.groups()
    if month not in _MONTH_NAMES or (dot and month not in _ABBREVIATED):
        return match.group(0)
    return spoken_date(_MONTH_NAMES[month] + 1, int(day), int(year_text) if year_text else None, bool(comma))


def _day_month(match: re.Match) -> str:
    _, day, _, month, dot, comma, year_text = match.groups()
    if month not in _MONTH_NAMES:
        return match.group(0)
    words = f"the {ordinal(int(day))} of {MONTHS[_MONTH_NAMES[month]]}"  # "5 Dec" is "the fifth of december"
    if year_text:
        return words + ("," if comma else "") + f" {year(int(year_text))}"
    if dot and (month not in _ABBREVIATED or not match.string[match.end():].strip()):
        words += "."  # "the 5th of May." ends a sentence; so does the dot of "Dec." at the end of the text
    return words


def _month_year(match: re.Match) -> str:
    month, dot, year_text = match.groups()
    if month not in _MONTH_NAMES or (dot and month not in _ABBREVIATED):
        return match.group(0)
    return f"{MONTHS[_MONTH_NAMES[month]]} {year(int(year_text))}"


def _short_year(match: re.Match) -> str:
    value = int(match.group(1))
    return f"oh {cardinal(value)}" if value < 10 else cardinal(value)  # "'69", "'05" -> "oh five"


def _early_year(match: re.Match) -> str:
    before, value, after = match.groups()
    return f"{before or ''}{year(int(value))}{after or ''}"


def expand_dates(text: str) -> str:
    """Spell out the dates in ``text``; other numbers are left for :func:`expand_numbers`.

    ``"On 12/05/2024"`` -> ``"On december fifth, twenty twenty-four"``;
    ``"the 5th of Dec."`` -> ``"the fifth of december"``; ``"3.45pm"`` -> ``"3:45pm"`` (a clock time).
    """
    if not _DIGIT_RE.search(text):
        return text  # every date and time has a digit; most sentences have none
    if "-" in text:
        text = _ISO_RE.sub(lambda m: spoken_date(int(m.group(2)), int(m.group(3)), int(m.group(1))), text)
    if "/" in text or "." in text or "-" in text:
        text = _NUMERIC_RE.sub(_numeric, text)
    text = _MONTH_DAY_RE.sub(_month_day, text)
    text = _DAY_MONTH_RE.sub(_day_month, text)
    text = _MONTH_YEAR_RE.sub(_month_year, text)
    if "10" in text:
        text = _EARLY_YEAR_RE.sub(lambda m: _early_year(m) if m.group(1) or m.group(3) else m.group(0), text)
    if "'" in text:
        text = _SHORT_YEAR_RE.sub(_short_year, text)
    if "." in text:
        text = _DOTTED_TIME_RE.sub(lambda m: f"{m.group(1)}:{m.group(2)}", text)
    return text


__all__ = ["MONTHS", "expand_dates", "spoken_date"]
