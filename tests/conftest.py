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


@pytest.fixture(scope="session")
def tiny_tacotron_run(speech_features, tmp_path_factory) -> Path:
    """A tiny Tacotron (r=2, at most 12 decoder steps) trained for two steps on :func:`speech_features`."""
    import warnings

    from wavetron.config import Config, from_dict
    from wavetron.train import train

    run = tmp_path_factory.mktemp("tiny") / "tacotron"
    tacotron = dict(embedding_dim=16, encoder_dim=16, attention_dim=8, location_filters=4, location_kernel=5,
                    prenet_dims=[16], decoder_dim=16, postnet_dim=8, postnet_convs=2, reduction_factor=2,
                    max_decoder_steps=12)
    config = from_dict(Config, {"tacotron": tacotron,
                                "train": {"batch_size": 4, "max_steps": 2, "validate_every": 100,
                                          "checkpoint_every": 100, "log_every": 100, "ema_decay": None}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train("tacotron", speech_features, run, config)
    return run


@pytest.fixture(scope="session")
def held_out_recording(tmp_path_factory) -> Path:
    """voice_bounds.COPY_SENTENCE read by festival's slt voice (the shipped voice's speaker), a 16 kHz wav."""
    import shutil

    from voice_bounds import festival_recording

    if shutil.which("text2wave") is None:
        pytest.skip("festival (text2wave) is not installed: apt-get install festival festvox-us-slt-hts")
    return festival_recording(tmp_path_factory.mktemp("recording") / "held-out.wav")
