"""The written-out table of normalisation cases (normalization_cases.tsv): what English text holds
(dates, years, times, ordinals, percentages, units, phone numbers, e-mail and web addresses,
acronyms, Roman numerals), each with the words it must be read as."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from wavetron.text import normalize_text

TABLE = Path(__file__).with_name("normalization_cases.tsv")


def read_cases() -> list[tuple[str, str, str]]:
    cases = []
    for number, line in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{TABLE.name}:{number}: expected 3 tab-separated fields, got {len(fields)}")
        cases.append((fields[0], fields[1], fields[2]))
    return cases


CASES = read_cases()


def test_the_table_covers_every_kind_of_text():
    kinds = Counter(category.split()[0] for category, _, _ in CASES)
    assert len(CASES) >= 100
    for kind in ("date", "year", "time", "ordinal", "percent", "unit", "phone", "email", "web", "acronym", "roman"):
        assert kinds[kind] >= 4, (kind, kinds)
    written = [raw for _, raw, _ in CASES]
    assert len(written) == len(set(written)), "a case is listed twice"


@pytest.mark.parametrize("category, raw, spoken", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_case(category, raw, spoken):
    assert normalize_text(raw) == spoken


@pytest.mark.parametrize("category, raw, spoken", CASES[::7], ids=[f"{c[0]}: {c[1]}" for c in CASES[::7]])
def test_spoken_form_is_stable(category, raw, spoken):
    assert normalize_text(spoken) == spoken
