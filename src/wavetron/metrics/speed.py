"""Real-time factor: compute seconds per second of audio (below 1 is faster than real time)."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable


def real_time_factor(seconds: float, audio_seconds: float) -> float:
    """Compute time divided by the duration of the audio processed or produced."""
    if audio_seconds <= 0:
        raise ValueError(f"audio_seconds must be positive, got {audio_seconds}")
    return seconds / audio_seconds


def time_call(fn: Callable[[], object], repeat: int = 3, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeat`` runs, after ``warmup`` untimed runs
    (first calls pay for imports, model loads and JIT compilation)."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class Stopwatch:
    """Accumulates named timings: ``with watch("pesq"): ...``; ``watch.totals["pesq"]`` is in seconds."""

    totals: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def __call__(self, name: str) -> "_Lap":
        return _Lap(self, name)

    def mean(self, name: str) -> float:
        """Mean seconds per timed block of ``name``."""
        return self.totals[name] / self.counts[name]


class _Lap:
    def __init__(self, watch: Stopwatch, name: str) -> None:
        self.watch, self.name = watch, name

    def __enter__(self) -> "_Lap":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        elapsed = time.perf_counter() - self.start
        self.watch.totals[self.name] = self.watch.totals.get(self.name, 0.0) + elapsed
        self.watch.counts[self.name] = self.watch.counts.get(self.name, 0) + 1
