"""Shared fixtures: real speech, built once per test session by wavetron's own corpus builder."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def speech_corpus(tmp_path_factory) -> Path:
    """An LJSpeech-format dataset of 12 espeak-ng sentences (metadata.csv + wavs/), seed 0."""
    from wavetron.corpus import build_corpus

    out = tmp_path_factory.mktemp("corpus")
    build_corpus(out, size=12, seed=0, engine="espeak")
    return out


@pytest.fixture(scope="session")
def speech_wavs(speech_corpus) -> list[Path]:
    """The wav files of :func:`speech_corpus`, sorted by name."""
    return sorted((speech_corpus / "wavs").glob("*.wav"))
