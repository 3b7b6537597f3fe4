"""English number words: cardinals, ordinals, years, digits, and the number patterns of running text.

The word functions are written out here rather than taken from ``inflect``: they are a few
lines, American style ("one hundred five", no "and", no commas), and about 50x faster,
which matters when a corpus of 100k sentences is normalised.
"""
from __future__ import annotations

import re

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ["", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion"]
# Ordinals change only the last word: "twenty-one" -> "twenty-first".
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}
_MAX_CARDINAL = 10 ** (3 * len(_SCALES))  # beyond this, digits are read one by one


def _below_thousand(n: int) -> str:
    words = []
    if n >= 100:
        words.append(f"{_ONES[n // 100]} hundred")
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else ""))
    elif n or not words:
        words.append(_ONES[n])
    return " ".join(words)


def digits_to_words(digits: str) -> str:
    """Read a digit string one digit at a time: ``"014"`` -> ``"zero one four"``."""
    return " ".join(_ONES[int(d)] for d in digits)


def cardinal(n: int) -> str:
    """``1234`` -> ``"one thousand two hundred thirty-four"``; negatives get ``"minus"``."""
    if n < 0:
        return f"minus {cardinal(-n)}"
    if n >= _MAX_CARDINAL:
        return digits_to_words(str(n))
    if n < 1000:
        return _below_thousand(n)
    groups = []
    scale = 0
    while n:
        n, group = divmod(n, 1000)
        if group:
            groups.append(_below_thousand(group) + (f" {_SCALES[scale]}" if scale else ""))
        scale += 1
    return " ".join(reversed(groups))


def ordinal(n: int) -> str:
    """``21`` -> ``"twenty-first"``, ``100`` -> ``"one hundredth"``."""
    words = cardinal(n)
    head, sep, last = max(words.rpartition(" "), words.rpartition("-"), key=lambda p: len(p[0]))
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def year(n: int) -> str:
    """Read ``n`` as a year: ``1984`` -> ``"nineteen eighty-four"``, ``2005`` -> ``"two thousand five"``."""
    if n % 1000 == 0 or 2000 < n < 2010 or not 1000 <= n < 10000:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {_ONES[low]}"
    return f"{cardinal(high)} {cardinal(low)}"


def plural(words: str) -> str:
    """Plural of a number phrase, for decades and fractions: ``"eighty"`` -> ``"eighties"``."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith("x"):
        return words + "es"
    return words + "s"


def number(text: str) -> str:
    """Words for a plain number as written: ``"1,200"``, ``"3.14"``, ``".5"``, ``"007"``."""
    text = text.replace(",", "")
    whole, _, fraction = text.partition(".")
    if len(whole) > 1 and whole.startswith("0"):
        words = digits_to_words(whole)  # "007", zip codes: said digit by digit
    else:
        words = cardinal(int(whole)) if whole else ""
    if fraction:
        words = f"{words} point {digits_to_words(fraction)}".strip()
    return words


# --- patterns of running text --------------------------------------------------------------

_CURRENCIES = {  # symbol: (unit, units, subunit, subunits)
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "sen", "sen"),
}
_MAGNITUDES = {"k": "thousand", "m": "million", "mn": "million", "b": "billion", "bn": "billion",
               "thousand": "thousand", "million": "million", "billion": "billion", "trillion": "trillion"}
_AMOUNT = r"\d+(?:,\d{3})*(?:\.\d+)?|\.\d+"

_CURRENCY_RE = re.compile(
    rf"([$£€¥])\s?({_AMOUNT})(?:\s?(thousand|million|billion|trillion|bn|mn|[kmb])\b)?", re.IGNORECASE)
_PERCENT_RE = re.compile(rf"({_AMOUNT})(?:\s?(?:-|to)\s?({_AMOUNT}))?\s?(%|[Pp]er\s?cent\b)")  # "10-15%"
_TIME_RE = re.compile(r"\b([01]?\d|2[0-4]):([0-5]\d)(?::([0-5]\d))?(?:\s?([ap])\.?\s?m\b(\.?))?", re.IGNORECASE)
_CLOCK_RE = re.compile(r"\b(1[0-2]|0?[1-9])\s?([ap])\.?\s?m\b(\.?)", re.IGNORECASE)
_ORDINAL_RE = re.compile(r"\b(\d+(?:,\d{3})*)(st|nd|rd|th)\b", re.IGNORECASE)
_DECADE_RE = re.compile(r"(?:\b(\d{2})|'|\b)(\d0)'?s\b")
_YEAR_RANGE_RE = re.compile(r"\b(1[1-9]\d\d|20\d\d)\s?-\s?(1[1-9]\d\d|20\d\d)\b")  # "1990-1995"
_UNITS = {  # unit: (singular, plural)
    "km": ("kilometer", "kilometers"), "m": ("meter", "meters"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "kg": ("kilogram", "kilograms"), "g": ("gram", "grams"),
    "mg": ("milligram", "milligrams"), "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"), "ft": ("foot", "feet"), "in": ("inch", "inches"), "mi": ("mile", "miles"),
    "mph": ("mile per hour", "miles per hour"), "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"), "ml": ("milliliter", "milliliters"),
    "l": ("liter", "liters"), "hz": ("hertz", "hertz"), "khz": ("kilohertz", "kilohertz"),
    "kb": ("kilobyte", "kilobytes"), "mb": ("megabyte", "megabytes"), "gb": ("gigabyte", "gigabytes"),
}
# "in", "m", "g" and "l" are also words or letters: only read as units when written against the number ("5m").
_UNIT_RE = re.compile(rf"(?<![\w.])({_AMOUNT})(?:\s?(km/h|km|cm|mm|kg|mg|lbs|lb|oz|ft|mi|mph|kph|ml|khz|hz|kb|mb|gb)"
                      rf"|(in|m|g|l))\b", re.IGNORECASE)
_YEAR_RE = re.compile(r"(?<![\d,.])(1[1-9]\d\d|20\d\d)(?!\d|,\d{3}|\.\d)")
_FRACTION_RE = re.compile(r"\b(\d+)/(\d+)\b")
_NUMBER_SIGN_RE = re.compile(r"(?:#|\bno\.|\bnos\.)\s?(?=\d)", re.IGNORECASE)
_NEGATIVE_RE = re.compile(r"(?<![\w.])-(?=\d)")
_DIGIT_RE = re.compile(r"\d")
_NUMBER_RE = re.compile(rf"(?<![\d.]){_AMOUNT}")
_VERSION_RE = re.compile(r"(?<![\d.])\d+(?:\.\d+){2,}(?![\d.])")  # "1.10.12": one point ten point twelve


def _currency(match: re.Match) -> str:
    unit, units, subunit, subunits = _CURRENCIES[match.group(1)]
    amount, magnitude = match.group(2).replace(",", ""), match.group(3)
    if magnitude:  # "$2 million", "$1.5bn": the amount is read as a number, then the scale
        return f"{number(amount)} {_MAGNITUDES[magnitude.lower()]} {units}"
    whole, _, fraction = amount.partition(".")
    dollars = int(whole or 0)
    cents = int((fraction + "00")[:2]) if fraction else 0
    parts = []
    if dollars or not cents:
        parts.append(f"{cardinal(dollars)} {unit if dollars == 1 else units}")
    if cents:
        parts.append(f"{cardinal(cents)} {subunit if cents == 1 else subunits}")
    return ", ".join(parts)


def _percent(match: re.Match) -> str:
    low, high = match.group(1), match.group(2)
    return number(low) + (f" to {number(high)}" if high else "") + " percent"


def _meridiem(letter: str | None, dot: str | None, match: re.Match) -> str:
    if not letter:
        return ""
    # "at 7 a.m." ends the sentence: the abbreviation's dot is also the full stop.
    end = "." if dot and match.end() == len(match.string) else ""
    return f" {letter.lower()} m{end}"


def _time(match: re.Match) -> str:
    hour, minute, second, letter, dot = match.groups()
    hour_i, minute_i = int(hour), int(minute)
    if minute_i == 0 and 13 <= hour_i <= 23 and not letter:
        words = f"{cardinal(hour_i)} hundred"  # "15:00": the 24-hour clock says "fifteen hundred"
    elif minute_i == 0:
        words = cardinal(hour_i) + ("" if letter else " o'clock")
    elif minute_i < 10:
        words = f"{cardinal(hour_i)} oh {_ONES[minute_i]}"
    else:
        words = f"{cardinal(hour_i)} {cardinal(minute_i)}"
    if second is not None and int(second):
        words += f" and {cardinal(int(second))} seconds"
    return words + _meridiem(letter, dot, match)


def _clock(match: re.Match) -> str:
    return cardinal(int(match.group(1))) + _meridiem(match.group(2), match.group(3), match)


def _decade(match: re.Match) -> str:
    century, decade = match.group(1), int(match.group(2))
    if century is None:  # "'80s"
        return plural(cardinal(decade))
    full = int(century) * 100 + decade
    if decade == 0:  # "1900s" -> "nineteen hundreds", "2000s" -> "two thousands"
        return plural(year(full))
    return f"{cardinal(int(century))} {plural(cardinal(decade))}"


def _unit(match: re.Match) -> str:
    amount, unit = match.group(1), (match.group(2) or match.group(3)).lower()
    singular, plural_name = _UNITS[unit]
    return f"{number(amount)} {singular if amount == '1' else plural_name}"


def _fraction(match: re.Match) -> str:
    top, bottom = int(match.group(1)), int(match.group(2))
    if (top, bottom) == (24, 7):  # "open 24/7"
        return "twenty-four seven"
    if bottom == 0 or bottom > 100 or top > 100:
        return f"{cardinal(top)} over {cardinal(bottom)}"
    if bottom == 1:
        return cardinal(top)
    name = "half" if bottom == 2 else "quarter" if bottom == 4 else ordinal(bottom)
    if top == 1:
        return f"one {name}"
    return f"{cardinal(top)} {'halves' if bottom == 2 else plural(name)}"


def expand_numbers(text: str) -> str:
    """Spell out every number in ``text``: money, percentages, times, ordinals, decades, years,
    fractions, decimals and cardinals, in that order (the specific patterns first).

    Each pass runs only when a cheap substring test says it can match: a regex scan costs
    about as much as the whole rest of normalisation.
    """
    if not _DIGIT_RE.search(text):
        return text  # most sentences
    if "-" in text:
        text = _NEGATIVE_RE.sub("minus ", text)
        text = _YEAR_RANGE_RE.sub(lambda m: f"{year(int(m.group(1)))} to {year(int(m.group(2)))}", text)
    if "$" in text or "£" in text or "€" in text or "¥" in text:
        text = _CURRENCY_RE.sub(_currency, text)
    if "%" in text or "cent" in text:
        text = _PERCENT_RE.sub(_percent, text)
    if ":" in text:
        text = _TIME_RE.sub(_time, text)
    if "m" in text or "M" in text:
        text = _CLOCK_RE.sub(_clock, text)
    if "#" in text or "o." in text or "O." in text or "os." in text:
        text = _NUMBER_SIGN_RE.sub("number ", text)
    text = _ORDINAL_RE.sub(lambda m: ordinal(int(m.group(1).replace(",", ""))), text)
    text = _UNIT_RE.sub(_unit, text)
    if "0s" in text or "0's" in text:
        text = _DECADE_RE.sub(_decade, text)
    text = _YEAR_RE.sub(lambda m: year(int(m.group(1))), text)
    if "/" in text:
        text = _FRACTION_RE.sub(_fraction, text)
    if "." in text:
        text = _VERSION_RE.sub(lambda m: " point ".join(number(part) for part in m.group(0).split(".")), text)
    return _NUMBER_RE.sub(lambda m: number(m.group(0)), text)
