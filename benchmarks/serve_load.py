"""Load on `wavetron serve`: latency, time to first audio (streamed against whole files), throughput, statuses,
memory, then an overload phase at twice the queue.

    python benchmarks/serve_load.py --clients 2 --duration 60 --queue 4

It starts the server on 127.0.0.1 (a free port, the shipped voice), measures a few unloaded requests of a
5-sentence paragraph one at a time (streamed pcm: time to the first audio bytes; a whole wav: latency), then
runs ``--clients`` concurrent clients for ``--duration`` seconds (at most ``--max-requests``), alternating the
two, then ``2 x --queue`` clients for ``--overload-duration`` seconds (a client refused with 503 asks again
half a second later). Ratios are only between figures of
this run. The server's resident memory is sampled every half second from /proc.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, load  # noqa: E402

PARAGRAPH = ("The first sentence is short. The second one is a little longer than the first. Here comes a third "
             "sentence, with a comma in it. The fourth sentence is here as well. And the fifth sentence ends the "
             "paragraph.")
RATE = 16000  # requested for the streamed pcm, so its bytes count seconds directly


@dataclass
class Outcome:
    streamed: bool
    status: int
    latency: float  # seconds to the last byte
    first_audio: float | None  # seconds to the first body byte of a 200
    audio_seconds: float


def start(args) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "wavetron", "serve", "--host", "127.0.0.1", "--port", "0",
               "--workers", str(args.workers), "--queue", str(args.queue)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=dict(os.environ, PYTHONUNBUFFERED="1"))
    for line in process.stdout:
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if found:
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # drain
            return process, int(found.group(1))
    raise SystemExit("wavetron serve did not start")


def speak(port: int, streamed: bool, text: str = PARAGRAPH) -> Outcome:
    body = {"input": text, "response_format": "pcm" if streamed else "wav", "sample_rate": RATE}
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", "/v1/audio/speech", body=json.dumps(body),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        first, size = None, 0
        while True:
            data = response.read1(1 << 16)
            if not data:
                break
            if first is None:
                first = time.perf_counter() - started
            size += len(data)
        latency = time.perf_counter() - started
        ok = response.status == 200
        audio = (size - (0 if streamed else 44)) / 2 / RATE if ok else 0.0
        return Outcome(streamed, response.status, latency, first if ok else None, audio)
    finally:
        connection.close()


class Memory(threading.Thread):
    """Samples a process's VmRSS (MiB) every half second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stopped = pid, [], threading.Event()

    def read(self, key: str) -> float:
        with open(f"/proc/{self.pid}/status") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith(key)) / 1024

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            try:
                self.samples.append((time.perf_counter(), self.read("VmRSS:")))
            except (OSError, StopIteration):
                return


def run_clients(port: int, clients: int, duration: float, max_requests: int, retry_pause: float = 0.0):
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def client(index: int) -> None:
        streamed = bool(index % 2)
        while time.perf_counter() < deadline:
            with lock:
                if len(outcomes) >= max_requests:
                    return
            outcome = speak(port, streamed)
            with lock:
                outcomes.append(outcome)
            streamed = not streamed
            if outcome.status == 503 and retry_pause:
                time.sleep(retry_pause)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def report(name: str, outcomes: list[Outcome], wall: float) -> None:
    counts = Counter(outcome.status for outcome in outcomes)
    print(f"{name}: {len(outcomes)} requests in {wall:.1f} s; statuses "
          + ", ".join(f"{status}: {count}" for status, count in sorted(counts.items())))
    for streamed in (False, True):
        ok = [o for o in outcomes if o.status == 200 and o.streamed == streamed]
        if ok:
            label = "streamed pcm" if streamed else "whole wav   "
            print(f"  {label}  latency p50 {percentile([o.latency for o in ok], .5):6.2f} s  "
                  f"p95 {percentile([o.latency for o in ok], .95):6.2f} s   first audio p50 "
                  f"{percentile([o.first_audio for o in ok], .5):6.2f} s  p95 {percentile([o.first_audio for o in ok], .95):6.2f} s")
    audio = sum(o.audio_seconds for o in outcomes)
    print(f"  audio served: {audio:.1f} s in {wall:.1f} s wall = {audio / wall:.2f} audio seconds per wall second")
    errors = {status: count for status, count in counts.items() if status >= 500 and status != 503}
    print(f"  5xx other than 503: {sum(errors.values())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients of the load phase (default 2)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the load phase (default 60)")
    parser.add_argument("--max-requests", type=int, default=200, help="at most this many requests per phase")
    parser.add_argument("--overload-duration", type=float, default=20.0, help="seconds of the overload phase")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--queue", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="unloaded requests of each kind (default 3)")
    args = parser.parse_args()

    print(describe(peak=False))
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} (the server inherits it)")
    process, port = start(args)
    memory = Memory(process.pid)
    memory.start()
    try:
        speak(port, True, "Warm up.")
        unloaded = [speak(port, streamed) for _ in range(args.repeats) for streamed in (False, True)]
        whole = statistics.median(o.latency for o in unloaded if not o.streamed)
        first = statistics.median(o.first_audio for o in unloaded if o.streamed)
        audio = statistics.median(o.audio_seconds for o in unloaded if o.streamed)
        print(f"unloaded, one at a time ({args.repeats} each; a 5-sentence paragraph, {audio:.1f} s of audio):")
        print(f"  whole wav latency {whole:.2f} s; streamed pcm first audio {first:.2f} s; "
              f"ratio first audio / whole latency = {first / whole:.3f} (target < 0.333)")
        rss_before = memory.read("VmRSS:")
        outcomes, wall = run_clients(port, args.clients, args.duration, args.max_requests)
        rss_after = memory.read("VmRSS:")
        report(f"load phase ({args.clients} clients, {args.workers} worker(s), queue {args.queue})", outcomes, wall)
        ok = [o for o in outcomes if o.status == 200]
        streamed = [o.first_audio for o in ok if o.streamed]
        whole_latency = [o.latency for o in ok if not o.streamed]
        if streamed and whole_latency:
            print(f"  under load: first audio p50 (streamed) / latency p50 (whole) = "
                  f"{percentile(streamed, .5) / percentile(whole_latency, .5):.3f}")
        overload_clients = 2 * args.queue
        outcomes, wall = run_clients(port, overload_clients, args.overload_duration, args.max_requests, 0.5)
        report(f"overload phase ({overload_clients} clients = 2 x queue {args.queue})", outcomes, wall)
        rss_end = memory.read("VmRSS:")
        peak = memory.read("VmHWM:")
        samples = [value for _, value in memory.samples]
        print(f"server memory: resident {rss_before:.0f} MiB before the load phase, {rss_after:.0f} after it, "
              f"{rss_end:.0f} after the overload; sampled min {min(samples):.0f} max {max(samples):.0f}; "
              f"peak {peak:.0f} MiB")
    finally:
        memory.stopped.set()
        process.terminate()
        process.wait(timeout=30)
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
