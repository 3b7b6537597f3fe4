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


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a test module: small per-step ops lose badly to thread hand-offs on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def speech_features(speech_corpus, tmp_path_factory) -> Path:
    """:func:`speech_corpus` preprocessed with default settings and 2 validation items."""
    from wavetron.config import Config, from_dict
    from wavetron.preprocess import preprocess

    out = tmp_path_factory.mktemp("speech") / "features"
    preprocess(speech_corpus, out, from_dict(Config, {"data": {"validation_size": 2}}), workers=1, progress=False)
    return out
