"""Number words: cardinals, ordinals, years and the number patterns of running text."""
from __future__ import annotations

import pytest

from wavetron.text.numbers import cardinal, digits_to_words, expand_numbers, number, ordinal, year


@pytest.mark.parametrize("value, words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (20, "twenty"), (42, "forty-two"), (100, "one hundred"),
    (105, "one hundred five"), (999, "nine hundred ninety-nine"), (1000, "one thousand"),
    (1001, "one thousand one"), (21000, "twenty-one thousand"),
    (1234567, "one million two hundred thirty-four thousand five hundred sixty-seven"),
    (2_000_000_000, "two billion"), (-5, "minus five"),
])
def test_cardinal(value, words):
    assert cardinal(value) == words


@pytest.mark.parametrize("value, words", [
    (1, "first"), (2, "second"), (3, "third"), (4, "fourth"), (5, "fifth"), (8, "eighth"), (9, "ninth"),
    (11, "eleventh"), (12, "twelfth"), (20, "twentieth"), (21, "twenty-first"), (42, "forty-second"),
    (100, "one hundredth"), (101, "one hundred first"), (1000, "one thousandth"),
])
def test_ordinal(value, words):
    assert ordinal(value) == words


@pytest.mark.parametrize("value, words", [
    (1984, "nineteen eighty-four"), (2005, "two thousand five"), (2000, "two thousand"),
    (1900, "nineteen hundred"), (1905, "nineteen oh five"), (2019, "twenty nineteen"),
    (1066, "ten sixty-six"), (1776, "seventeen seventy-six"),
])
def test_year(value, words):
    assert year(value) == words


def test_huge_numbers_are_read_digit_by_digit():
    assert cardinal(10 ** 30) == digits_to_words("1" + "0" * 30)
    assert number("007") == "zero zero seven"


def test_plain_text_without_digits_is_unchanged():
    text = "No numbers here, only words."
    assert expand_numbers(text) == text
