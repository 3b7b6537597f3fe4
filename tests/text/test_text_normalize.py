"""English normalisation: every category of the spec, mixed sentences, unicode, errors, speed."""
from __future__ import annotations

import warnings

import pytest

from wavetron.errors import TextError
from wavetron.text import UnknownCharacterWarning, normalize_text
from wavetron.text import normalize as normalize_module


@pytest.fixture
def fresh_warnings(monkeypatch):
    """Forget which characters were already warned about, so each test sees its own warnings."""
    monkeypatch.setattr(normalize_module, "_warned", set())


CASES = {
    "cardinals": [
        ("I have 3 cats and 42 dogs.", "i have three cats and forty-two dogs."),
        ("It weighs 1,234,567 tons.", "it weighs one million two hundred thirty-four thousand five hundred sixty-seven tons."),
        ("Agent 007", "agent zero zero seven"),
        ("It was -5 outside.", "it was minus five outside."),
        ("Room 101", "room one hundred one"),
    ],
    "ordinals": [
        ("The 21st century", "the twenty-first century"),
        ("1st, 2nd, 3rd, 4th and 12th", "first, second, third, fourth and twelfth"),
        ("his 100th birthday", "his one hundredth birthday"),
    ],
    "decimals": [
        ("Pi is 3.14.", "pi is three point one four."),
        ("Add .5 grams", "add point five grams"),
        ("version 2.05", "version two point zero five"),
    ],
    "currency": [
        ("It costs $3.50.", "it costs three dollars, fifty cents."),
        ("Pay $1 now", "pay one dollar now"),
        ("only $0.01", "only one cent"),
        ("a £2 coin", "a two pounds coin"),
        ("£3.20", "three pounds, twenty pence"),
        ("€5 each", "five euros each"),
        ("¥100", "one hundred yen"),
        ("a $2 million deal", "a two million dollars deal"),
        ("$1.5bn and $3k", "one point five billion dollars and three thousand dollars"),
        ("$1,200", "one thousand two hundred dollars"),
    ],
    "years": [
        ("In 1984 we met.", "in nineteen eighty-four we met."),
        ("Born in 2005", "born in two thousand five"),
        ("the year 2000", "the year two thousand"),
        ("in 1905", "in nineteen oh five"),
        ("The 1900s and the 1980s", "the nineteen hundreds and the nineteen eighties"),
        ("music of the '60s", "music of the sixties"),
        ("the 2000s", "the two thousands"),
        ("in the 90s", "in the nineties"),
        ("from 1990-1995", "from nineteen ninety to nineteen ninety-five"),
    ],
    "times": [
        ("Meet at 10:30.", "meet at ten thirty."),
        ("at 3pm", "at three p m"),
        ("at 7:05 a.m. sharp", "at seven oh five a m sharp"),
        ("We leave at 7 a.m.", "we leave at seven a m."),
        ("at 12:00", "at twelve o'clock"),
        ("11:45 PM", "eleven forty-five p m"),
    ],
    "percentages": [
        ("Growth was 45%.", "growth was forty-five percent."),
        ("a 3.5% rate", "a three point five percent rate"),
        ("down -2 %", "down minus two percent"),
        ("10 per cent", "ten percent"),
    ],
    "fractions": [
        ("1/2 cup", "one half cup"),
        ("3/4 of it", "three quarters of it"),
        ("2/3 done", "two thirds done"),
    ],
    "units": [
        ("He is 6 ft tall", "he is six feet tall"),
        ("I ran 5 km in 1 mi", "i ran five kilometers in one mile"),
        ("2.5 kg at 60 mph", "two point five kilograms at sixty miles per hour"),
        ("a 5m wall, 5 in a row", "a five meters wall, five in a row"),
    ],
    "abbreviations": [
        ("Mr. and Mrs. Smith", "mister and missus smith"),
        ("Dr. Jones, Jr.", "doctor jones, junior."),
        ("Mr Brown", "mister brown"),
        ("cats vs. dogs", "cats versus dogs"),
        ("apples, pears, etc.", "apples, pears, et cetera."),
        ("No. 5 and #7", "number five and number seven"),
        ("St. John lives on Baker St.", "saint john lives on baker street."),
        ("Gen. Lee and Capt. Cook", "general lee and captain cook"),
        ("e.g. this, i.e. that", "for example this, that is that"),
        ("the U.S.A. and the U.K.", "the u s a and the u k."),
        ("Acme Co. Ltd.", "acme company limited."),
        ("a Ph.D. student", "a p h d student"),
        ("Mar. 5", "march fifth"),  # a month and a day is a date
    ],
    "unicode": [
        ("Café naïve façade", "cafe naive facade"),
        ("“Quoted” and ‘single’", "quoted and 'single'"),
        ("wait… what", "wait... what"),
        ("this — that", "this - that"),
        ("½ cup", "one half cup"),
        ("Straße", "strasse"),
    ],
    "punctuation and spaces": [
        ("Hello,   world !!", "hello, world!"),
        ("  Tabs\tand\nnewlines  ", "tabs and newlines"),
        ("(Parenthesised) [text] {braces} \"quotes\"", "parenthesised text braces quotes"),
        ("Why? Because; reasons: many!", "why? because; reasons: many!"),
        ("Rock & roll @ home", "rock and roll at home"),
        ("and/or", "and or"),
        ("don't stop", "don't stop"),
        ("well-known", "well-known"),
    ],
    "mixed": [
        ("Dr. Smith paid $3.50 at 10:30 on May 21st, 1984!",
         "doctor smith paid three dollars, fifty cents at ten thirty on may twenty-first, nineteen eighty-four!"),
        ("On Jan. 3rd, 2019, Mrs. Lee earned 15% more: $2 million.",
         "on january third, twenty nineteen, missus lee earned fifteen percent more: two million dollars."),
        ("At 7:05 p.m. the 2nd train left with 250 people.",
         "at seven oh five p m the second train left with two hundred fifty people."),
    ],
}


@pytest.mark.parametrize("raw, expected",
                         [case for cases in CASES.values() for case in cases],
                         ids=[f"{name}-{i}" for name, cases in CASES.items() for i in range(len(cases))])
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_output_alphabet_is_lowercase_ascii_and_kept_punctuation():
    text = normalize_text("ÀÉÎ Õ Ü — «Bonjour»! 3.5% (x) <y> *z* ~w~ ^v^ |u|")
    assert set(text) <= set("abcdefghijklmnopqrstuvwxyz ,.?!;:'-"), text
    assert "  " not in text and text == text.strip()


def test_normalising_twice_changes_nothing():
    once = normalize_text("On Jan. 3rd, 2019, Mrs. Lee earned 15% more: $2 million.")
    assert normalize_text(once) == once


def test_unknown_character_is_dropped_with_one_warning_each(fresh_warnings):
    with pytest.warns(UnknownCharacterWarning) as record:
        assert normalize_text("snow ☃☃ star ★ ☃") == "snow star"
    messages = [str(w.message) for w in record if w.category is UnknownCharacterWarning]
    assert len(messages) == 2, messages
    assert any("SNOWMAN" in m for m in messages) and any("BLACK STAR" in m for m in messages)
    # A character already reported is dropped quietly afterwards.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert normalize_text("more ☃ snow") == "more snow"


@pytest.mark.parametrize("raw", ["", "   ", "...", "!?", "☃ ★", "\"()\""])
def test_empty_after_cleaning_raises_naming_the_input(raw, fresh_warnings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownCharacterWarning)
        with pytest.raises(TextError, match="empty after cleaning") as err:
            normalize_text(raw)
    assert repr(raw) in str(err.value)
    assert "\n" not in str(err.value)


def test_non_string_input_is_a_text_error():
    with pytest.raises(TextError, match="string"):
        normalize_text(None)  # type: ignore[arg-type]


def test_two_thousand_sentences_normalise():
    sentences = [f"Dr. Smith paid ${i}.50 at 10:{i % 60:02d} on May {i % 28 + 1}th, 1984, with {i}% more!"
                 for i in range(2000)]
    out = [normalize_text(s) for s in sentences]
    assert all(o.startswith("doctor smith paid") for o in out)
