"""Worker-process side of the corpus build: speak a group of items and write their wavs.

Runs in a process of the builder's pool. :func:`initialise` loads the engine once per worker
(espeak-ng's C state is per process); :func:`run_group` speaks one group of consecutive items.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

_ENGINE: str | None = None


@dataclass(frozen=True)
class Item:
    """One sentence of the corpus. ``voice`` holds the engine's voice settings (empty for festival)."""

    id: str
    text: str
    normalized: str
    speaker: str
    voice: dict
    seed: int

    def metadata_line(self, with_speaker: bool) -> str:
        """``id|text|normalized_text[|speaker]`` and a newline."""
        fields = [self.id, self.text, self.normalized] + ([self.speaker] if with_speaker else [])
        return "|".join(fields) + "\n"


@dataclass(frozen=True)
class Result:
    """The outcome of one item: ``written`` (a new wav), or ``error`` (why it has none)."""

    id: str
    written: bool = False
    error: str | None = None


def initialise(engine: str) -> None:
    """Pool initializer: load the engine in this worker (espeak-ng once; festival needs nothing)."""
    global _ENGINE
    _ENGINE = engine
    if engine == "espeak":
        from . import espeak
        espeak.engine()


def run_group(task: tuple[list[Item], str, str, int]) -> list[Result]:
    """Speak a group of items and write the wavs that are missing.

    Args:
        task: (items, engine, wav folder, output sample rate).
    """
    items, engine, wav_dir, sample_rate = task
    if engine == "festival":
        return [_festival_item(item, Path(wav_dir), sample_rate) for item in items]
    if not hasattr(os, "fork"):
        # No fork (Windows): audio then depends on what this worker spoke before.
        return _espeak_items(items, Path(wav_dir), sample_rate)
    return _in_forked_child(items, Path(wav_dir), sample_rate)


def _in_forked_child(items: list[Item], wav_dir: Path, sample_rate: int) -> list[Result]:
    """Run :func:`_espeak_items` in a child forked from this never-speaking worker (see builder's docstring)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: speak, report through the pipe, exit without Python's cleanup
        status = 1
        try:
            os.close(read_fd)
            results = _espeak_items(items, wav_dir, sample_rate)
            with os.fdopen(write_fd, "w") as pipe:
                json.dump([asdict(result) for result in results], pipe)
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        reason = f"the espeak-ng process died (wait status {status})"
        return [Result(item.id, error=reason) for item in items]
    return [Result(**fields) for fields in json.loads(payload)]


def _espeak_items(items: list[Item], wav_dir: Path, sample_rate: int) -> list[Result]:
    from .espeak import EspeakVoice, engine

    speaker = engine()
    results = []
    for item in items:
        try:
            # Speak every item, even one whose wav exists: the next ones' audio depends on it.
            samples = speaker.synthesize(item.normalized, EspeakVoice(**item.voice), seed=item.seed)
            results.append(_save(item, samples, speaker.sample_rate, wav_dir, sample_rate))
        except Exception as err:  # one bad sentence must not stop the build
            results.append(Result(item.id, error=f"{type(err).__name__}: {err}"))
    return results


def _festival_item(item: Item, wav_dir: Path, sample_rate: int) -> Result:
    from . import festival

    if (wav_dir / f"{item.id}.wav").exists():
        return Result(item.id)
    try:
        samples, native_rate = festival.synthesize(item.normalized)
        return _save(item, samples, native_rate, wav_dir, sample_rate)
    except Exception as err:  # one bad sentence must not stop the build
        return Result(item.id, error=f"{type(err).__name__}: {err}")


def _save(item: Item, samples: np.ndarray, native_rate: int, wav_dir: Path, sample_rate: int) -> Result:
    from .builder import write_wav

    path = wav_dir / f"{item.id}.wav"
    if path.exists():
        return Result(item.id)
    if samples.size == 0 or int(np.abs(samples.astype(np.int32)).max()) == 0:
        return Result(item.id, error="the engine returned silence")
    write_wav(path, resample(samples, native_rate, sample_rate), sample_rate)
    return Result(item.id, written=True)


def resample(samples: np.ndarray, native_rate: int, sample_rate: int) -> np.ndarray:
    """int16 ``samples`` (T,) from ``native_rate`` to ``sample_rate`` with soxr (int16 out)."""
    if native_rate == sample_rate:
        return samples
    import soxr

    audio = soxr.resample(samples.astype(np.float32) / 32768.0, native_rate, sample_rate, quality="HQ")
    return np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)
