"""Counters and histograms of the server, written in the Prometheus text exposition format (0.0.4)."""
from __future__ import annotations

import resource
import threading
from collections import defaultdict

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Histogram:
    """Cumulative buckets, a sum and a count, per label set."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.series: dict[tuple, list] = {}  # labels -> [bucket counts..., sum, count]

    def observe(self, value: float, labels: tuple = ()) -> None:
        row = self.series.setdefault(labels, [0] * len(self.buckets) + [0.0, 0])
        for index, edge in enumerate(self.buckets):
            if value <= edge:
                row[index] += 1
        row[-2] += value
        row[-1] += 1

    def lines(self, name: str, label_names: tuple[str, ...] = ()) -> list[str]:
        out = []
        for labels, row in sorted(self.series.items()):
            base = [f'{key}="{value}"' for key, value in zip(label_names, labels)]
            for edge, count in list(zip(self.buckets, row)) + [("+Inf", row[-1])]:
                labels_text = ",".join(base + [f'le="{edge}"'])
                out.append(f"{name}_bucket{{{labels_text}}} {count}")
            suffix = "{" + ",".join(base) + "}" if base else ""
            out.append(f"{name}_sum{suffix} {row[-2]:.6f}")
            out.append(f"{name}_count{suffix} {row[-1]}")
        return out


def _resident_bytes() -> int:
    """Resident memory of this process now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            import os

            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Metrics:
    """What /metrics reports; every method is safe to call from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: defaultdict[tuple[str, str], int] = defaultdict(int)  # (endpoint, status) -> count
        self.latency = Histogram()
        self.first_audio = Histogram()
        self.audio_seconds = 0.0

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(endpoint, str(status))] += 1
            self.latency.observe(seconds, (endpoint,))

    def audio(self, seconds: float, first_audio_s: float | None = None, streamed: bool = False) -> None:
        with self._lock:
            self.audio_seconds += seconds
            if first_audio_s is not None:
                self.first_audio.observe(first_audio_s, ("true" if streamed else "false",))

    def render(self, engine) -> str:
        """The exposition text, with the engine's queue gauges and this process's memory."""
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
        with self._lock:
            lines = ["# HELP wavetron_requests_total HTTP requests answered, by endpoint and status.",
                     "# TYPE wavetron_requests_total counter"]
            lines += [f'wavetron_requests_total{{endpoint="{endpoint}",status="{status}"}} {count}'
                      for (endpoint, status), count in sorted(self.requests.items())]
            lines += ["# HELP wavetron_request_duration_seconds Time from request to the last byte of the answer.",
                      "# TYPE wavetron_request_duration_seconds histogram"]
            lines += self.latency.lines("wavetron_request_duration_seconds", ("endpoint",))
            lines += ["# HELP wavetron_time_to_first_audio_seconds Time from admission to the first sentence's audio.",
                      "# TYPE wavetron_time_to_first_audio_seconds histogram"]
            lines += self.first_audio.lines("wavetron_time_to_first_audio_seconds", ("streamed",))
            lines += ["# HELP wavetron_audio_seconds_total Seconds of audio synthesised.",
                      "# TYPE wavetron_audio_seconds_total counter",
                      f"wavetron_audio_seconds_total {self.audio_seconds:.3f}"]
        lines += ["# HELP wavetron_queue_depth Admitted requests waiting for a worker.",
                  "# TYPE wavetron_queue_depth gauge", f"wavetron_queue_depth {engine.queue_depth}",
                  "# HELP wavetron_requests_in_flight Admitted requests not yet answered.",
                  "# TYPE wavetron_requests_in_flight gauge", f"wavetron_requests_in_flight {engine.in_flight}",
                  "# HELP wavetron_workers Synthesis threads.", "# TYPE wavetron_workers gauge",
                  f"wavetron_workers {engine.workers}",
                  "# HELP process_resident_memory_bytes Resident memory size in bytes.",
                  "# TYPE process_resident_memory_bytes gauge", f"process_resident_memory_bytes {_resident_bytes()}",
                  "# HELP wavetron_peak_resident_memory_bytes Peak resident memory of the server process.",
                  "# TYPE wavetron_peak_resident_memory_bytes gauge", f"wavetron_peak_resident_memory_bytes {peak}"]
        return "\n".join(lines) + "\n"


__all__ = ["Histogram", "Metrics"]
