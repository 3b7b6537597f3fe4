"""A real `wavetron serve` process on an ephemeral localhost port, and a plain HTTP client for it."""
from __future__ import annotations

import http.client
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

START_TIMEOUT = 240.0  # seconds: loading the models and the warm-up on a busy 2-core machine


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Server:
    """A running server: its HTTP host and port, the Wyoming address if asked for, its output lines."""

    process: subprocess.Popen
    host: str
    port: int
    wyoming: str | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connection(self, timeout: float = 120.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, body=None, headers: dict[str, str] | None = None) -> Answer:
        """One request; a dict body is sent as JSON, bytes or str as they are."""
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        connection = self.connection()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(*args: str, cwd=None) -> Server:
    """Start ``python -m wavetron serve --port 0 ARGS`` and wait until it says where it listens."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "wavetron", "serve", "--port", "0", *args], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    seen: list[str] = []

    def pump() -> None:
        for line in process.stdout:
            seen.append(line.rstrip())
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    want_wyoming = any(arg == "--wyoming" for arg in args)
    host = port = wyoming = None
    deadline = time.monotonic() + START_TIMEOUT
    while host is None or (want_wyoming and wyoming is None):
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:
            process.kill()
            raise RuntimeError("wavetron serve did not start:\n" + "\n".join(seen))
        found = re.search(r"listening on http://([\d.]+):(\d+)", line)
        if found:
            host, port = found.group(1), int(found.group(2))
        found = re.search(r"wyoming listening on (tcp://\S+)", line)
        if found:
            wyoming = found.group(1)
    return Server(process, host, port, wyoming, seen)


def pcm_samples(data: bytes):
    """16-bit little-endian PCM bytes -> int16 samples."""
    import numpy as np

    assert len(data) % 2 == 0, "a 16-bit stream must hold whole samples"
    return np.frombuffer(data, dtype="<i2")


def expected_samples(record: dict, sample_rate: int, pause: float = 0.25) -> int:
    """Samples of a request's audio: its sentences joined by ``pause`` seconds of silence."""
    sentences = record["sentences"]
    gaps = (len(sentences) - 1) * int(pause * sample_rate)
    return sum(round(s["audio_s"] * sample_rate) for s in sentences) + gaps


def finished_record(server: Server, request_id: str, timeout: float = 60.0) -> dict:
    """/api/requests/ID once the server has finished with the request (its place given back)."""
    deadline = time.monotonic() + timeout
    while True:
        record = server.request("GET", f"/api/requests/{request_id}").json()
        if record["total_s"] is not None or time.monotonic() > deadline:
            return record
        time.sleep(0.1)
