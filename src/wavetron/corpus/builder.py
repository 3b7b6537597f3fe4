"""Build an LJSpeech-format speech dataset offline: ``metadata.csv`` and ``wavs/<id>.wav``.

Layout of ``out_dir``::

    corpus.json     the build settings (size, seed, engine, speakers, sample rate): marks a wavetron corpus
    wavs/<id>.wav   16-bit PCM mono at ``sample_rate``
    metadata.csv    id|text|normalized_text[|speaker], written last

A build into a folder that already holds a corpus of the same settings resumes it: wavs already
there are kept (each was written atomically, so it is whole). Any other non-empty folder is refused.

Determinism: espeak-ng carries synthesis state (pitch flutter phase, filter memories) from one
utterance to the next, so a sentence's audio would depend on what its worker spoke before. Each
group of :data:`GROUP_SIZE` consecutive items is therefore spoken by a process forked from a
worker that has initialised espeak-ng but never spoken, which makes the audio a function of
(size, seed, speakers) alone, whatever the number of workers or an earlier interruption.
"""
from __future__ import annotations

import io
import json
import multiprocessing
import os
import time
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, WavetronError
from ..io import atomic_write_bytes, atomic_write_text
from . import worker
from .sentences import generate_sentences

ENGINES = ("espeak", "festival")
MANIFEST = "corpus.json"
METADATA = "metadata.csv"
GROUP_SIZE = 8
_FORMAT = "wavetron-corpus"
_VERSION = 1


@dataclass
class CorpusReport:
    """What :func:`build_corpus` did. ``failed`` holds (id, reason) of items left out of metadata.csv."""

    path: Path
    items: int
    written: int
    reused: int
    seconds: float
    audio_seconds: float
    failed: list[tuple[str, str]] = field(default_factory=list)


def build_corpus(out_dir: str | Path, size: int, seed: int = 0, engine: str = "espeak", speakers: int = 1,
                 workers: int | None = None, sample_rate: int = 22050, progress: bool = False,
                 style: str = "grammar") -> CorpusReport:
    """Write ``size`` synthetic spoken sentences to ``out_dir`` as an LJSpeech-format dataset.

    Args:
        out_dir: the dataset folder; created when missing, resumed when it holds the same build.
        size: number of sentences (all distinct).
        seed: the same seed gives the same sentences, metadata and audio bytes.
        engine: ``"espeak"`` (espeak-ng in-process) or ``"festival"`` (``text2wave`` with the slt HTS voice).
        speakers: number of distinct voices; above 1, metadata.csv gets a 4th column, the speaker.
        workers: parallel processes (default: the CPU count).
        sample_rate: of the written wavs; engine output at another rate is resampled with soxr.
        progress: show a tqdm progress bar on stderr.
        style: the sentences' style (:func:`wavetron.corpus.sentences.generate_sentences`): ``grammar``
            or ``everyday`` (pronouns, function words and household words too; ids ``WE...``).

    Raises:
        DataError: ``out_dir`` is a non-empty folder that is not this corpus.
        WavetronError: bad arguments, or the engine is not installed.
    """
    started = time.perf_counter()
    _check_arguments(size, engine, speakers, workers, sample_rate, style)
    if engine == "festival":
        from . import festival
        festival.check_voice()  # one clear error before anything is written, not one per sentence
    out_dir = Path(out_dir)
    settings = {"format": _FORMAT, "version": _VERSION, "size": size, "seed": seed, "engine": engine,
                "speakers": speakers, "sample_rate": sample_rate}
    if style != "grammar":  # a corpus from before styles existed is a grammar one
        settings["style"] = style
    _prepare_folder(out_dir, settings)

    items = plan_items(size, seed, engine, speakers, style)
    wav_dir = out_dir / "wavs"
    wav_dir.mkdir(exist_ok=True)
    groups = [items[start:start + GROUP_SIZE] for start in range(0, size, GROUP_SIZE)]
    todo = [group for group in groups if any(not (wav_dir / f"{item.id}.wav").exists() for item in group)]
    reused = sum(1 for item in items if (wav_dir / f"{item.id}.wav").exists())

    failed: dict[str, str] = {}
    written = 0
    if todo:
        for results in _run_groups(todo, engine, str(wav_dir), sample_rate, workers, progress, len(items) - reused):
            for result in results:
                if result.error is not None:
                    failed[result.id] = result.error
                elif result.written:
                    written += 1

    kept = [item for item in items if item.id not in failed and (wav_dir / f"{item.id}.wav").exists()]
    atomic_write_text(out_dir / METADATA, "".join(item.metadata_line(speakers > 1) for item in kept))
    return CorpusReport(path=out_dir, items=len(kept), written=written, reused=reused,
                        seconds=time.perf_counter() - started, audio_seconds=_total_seconds(wav_dir, kept),
                        failed=sorted(failed.items()))


def plan_items(size: int, seed: int, engine: str, speakers: int, style: str = "grammar") -> list[worker.Item]:
    """The items of a corpus: ids, texts, normalised texts, voices and synthesis seeds."""
    from ..text import normalize_text

    voices = _speaker_voices(engine, speakers)
    digits = max(4, len(str(size)))
    items = []
    prefix = "WT" if style == "grammar" else "WE"  # corpora of both styles can be merged
    for index, text in enumerate(generate_sentences(size, seed, style)):
        speaker = index % speakers
        items.append(worker.Item(
            id=f"{prefix}{speaker + 1:03d}-{index + 1:0{digits}d}", text=text, normalized=normalize_text(text),
            speaker=voices[speaker][0], voice=voices[speaker][1],
            # Seeds espeak-ng's noise source; differs per item and per corpus seed.
            seed=(seed * 1_000_003 + index) % 2**31))
    return items


def _speaker_voices(engine: str, speakers: int) -> list[tuple[str, dict]]:
    """(speaker label, engine voice settings) per speaker."""
    if engine == "festival":
        from . import festival
        return [(festival.VOICE, {})]
    from .espeak import speaker_voices
    return [(voice.label, asdict(voice)) for voice in speaker_voices(speakers)]


def _check_arguments(size: int, engine: str, speakers: int, workers: int | None, sample_rate: int,
                     style: str = "grammar") -> None:
    from .sentences import STYLES

    if style not in STYLES:
        raise WavetronError(f"unknown style {style!r}: expected one of {', '.join(STYLES)}")
    if engine not in ENGINES:
        raise WavetronError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if size < 1:
        raise WavetronError(f"size must be at least 1, got {size}")
    if speakers < 1:
        raise WavetronError(f"speakers must be at least 1, got {speakers}")
    if engine == "festival" and speakers != 1:
        raise WavetronError(f"the festival engine has one voice (cmu_us_slt_arctic_hts), got speakers={speakers}")
    if engine == "espeak":
        from .espeak import speaker_voices
        try:
            speaker_voices(speakers)
        except ValueError as err:
            raise WavetronError(str(err)) from err
    if workers is not None and workers < 1:
        raise WavetronError(f"workers must be at least 1, got {workers}")
    if not 8000 <= sample_rate <= 96000:
        raise WavetronError(f"sample_rate must be between 8000 and 96000 Hz, got {sample_rate}")


def _prepare_folder(out_dir: Path, settings: dict) -> None:
    """Create ``out_dir`` with its manifest, or check that it holds the same build."""
    manifest = out_dir / MANIFEST
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"{out_dir}: exists and is not a folder")
    if manifest.exists():
        try:
            existing = json.loads(manifest.read_text())
        except (OSError, ValueError) as err:
            raise DataError(f"{manifest}: unreadable corpus manifest ({err})") from err
        if existing != settings:
            differ = ", ".join(f"{key} {existing.get(key)!r} there, {settings.get(key)!r} asked"
                               for key in {**existing, **settings} if existing.get(key) != settings.get(key))
            raise DataError(f"{out_dir}: holds a different wavetron corpus ({differ}); use another folder or the same settings")
        return
    if out_dir.exists() and any(out_dir.iterdir()):
        raise DataError(f"{out_dir}: folder is not empty and is not a wavetron corpus; choose an empty or new folder")
    atomic_write_text(manifest, json.dumps(settings, indent=2) + "\n")


def _run_groups(groups: list[list[worker.Item]], engine: str, wav_dir: str, sample_rate: int,
                workers: int | None, progress: bool, total: int):
    """Yield the results of each group as its worker finishes it, updating a progress bar."""
    from tqdm import tqdm

    count = min(workers or os.cpu_count() or 1, len(groups))
    tasks = [(group, engine, wav_dir, sample_rate) for group in groups]
    # spawn, not fork: the caller may hold threads (torch, tqdm) that a forked child would inherit
    # mid-lock. Workers fork only themselves, and they are single-threaded.
    context = multiprocessing.get_context("spawn")
    with tqdm(total=total, unit="wav", desc="corpus", disable=not progress) as bar, \
            context.Pool(count, initializer=worker.initialise, initargs=(engine,)) as pool:
        for results in pool.imap_unordered(worker.run_group, tasks):
            bar.update(sum(1 for result in results if result.written or result.error))
            yield results


def _total_seconds(wav_dir: Path, items: list[worker.Item]) -> float:
    total = 0.0
    for item in items:
        with wave.open(str(wav_dir / f"{item.id}.wav"), "rb") as handle:
            total += handle.getnframes() / handle.getframerate()
    return total


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM mono wav bytes of int16 ``samples`` (T,)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
    return buffer.getvalue()


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write int16 ``samples`` (T,) to ``path`` atomically."""
    atomic_write_bytes(path, encode_wav(samples, sample_rate))
