"""The voices a server loaded, and the bounded pool that synthesises their sentences.

Every voice's models are loaded once, at start. A request is admitted only while fewer than
``workers + queue`` requests are in flight (else :class:`Busy`, which the server answers with 503);
an admitted request's sentences are synthesised one at a time on a pool of ``workers`` threads, so
its audio can leave sentence by sentence and concurrent requests share the workers sentence by
sentence. A request whose client went away submits no further sentence (the one in progress ends).
"""
from __future__ import annotations

import asyncio
import ctypes
import functools
import json
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

import numpy as np

from ..errors import DataError

DEFAULT_VOICE = "default"
WAVENET = "wavenet"
GRIFFIN_LIM = "griffin-lim"
HISTORY = 64  # finished requests kept for /api/requests/{id} (timings and the alignment image)


class Busy(Exception):
    """More requests in flight than workers + queue; ``retry_after`` seconds is a fair wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"server busy, retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class LoadedVoice:
    """A voice's models (shared by every worker) and what /v1/voices says of it."""

    name: str
    sample_rate: int
    default_vocoder: str
    prototypes: dict[str, object]  # vocoder name -> a Synthesizer holding the loaded modules
    card: dict = field(default_factory=dict)
    source: str = ""

    def describe(self) -> dict:
        return {"name": self.name, "sample_rate": self.sample_rate, "vocoder": self.default_vocoder,
                "vocoders": sorted(self.prototypes), "card": self.card}


@dataclass
class SentenceResult:
    """One sentence of a request: its audio at the voice's rate and what it cost."""

    text: str
    audio: np.ndarray  # emptied once the request is answered (the history keeps only its length)
    tacotron_s: float
    vocoder_s: float
    alignment: object  # torch.Tensor (decoder steps, tokens)
    stopped: bool
    finished_at: float  # time.time() when its audio was ready
    samples: int = 0

    def __post_init__(self) -> None:
        self.samples = len(self.audio)


@dataclass
class Job:
    """One admitted request: what it asked for and, as it runs, what it produced."""

    voice: LoadedVoice
    vocoder: str
    texts: list[str]
    speed: float = 1.0
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    started: float = field(default_factory=time.perf_counter)
    started_at: float = field(default_factory=time.time)
    sentences: list[SentenceResult] = field(default_factory=list)
    status: str = "running"  # then "done", "cancelled" or "failed"
    first_audio_s: float | None = None  # seconds from admission to the first sentence's audio
    total_s: float | None = None

    @property
    def samples(self) -> int:
        return sum(sentence.samples for sentence in self.sentences)

    def record(self) -> dict:
        """The JSON the page (and tests) read: per-sentence timings, status, first-audio time."""
        return {"id": self.id, "voice": self.voice.name, "vocoder": self.vocoder, "speed": self.speed,
                "status": self.status, "sentences_total": len(self.texts), "started_at": self.started_at,
                "time_to_first_audio_s": self.first_audio_s, "total_s": self.total_s,
                "audio_s": self.samples / self.voice.sample_rate,
                "sentences": [{"text": s.text, "tacotron_s": round(s.tacotron_s, 4), "vocoder_s": round(s.vocoder_s, 4),
                               "audio_s": s.samples / self.voice.sample_rate, "stopped": s.stopped,
                               "finished_at": s.finished_at} for s in self.sentences]}


def parse_voice_spec(spec: str) -> tuple[str, str]:
    """``NAME=PATH`` -> (name, path); the name is what requests may ask for.

    Raises:
        DataError: no ``=``, an empty name or path, or a name with characters other than letters,
            digits, ``-``, ``_`` and ``.``.
    """
    name, sep, path = spec.partition("=")
    name, path = name.strip(), path.strip()
    if not sep or not name or not path:
        raise DataError(f"--voice {spec!r}: expected NAME=PATH (a voice folder or a Tacotron checkpoint)")
    if not all(char.isalnum() or char in "-_." for char in name):
        raise DataError(f"--voice {spec!r}: a voice name may hold letters, digits, '-', '_' and '.'")
    return name, path


def load_voice(name: str, path: str | Path | None, device: str = "cpu") -> LoadedVoice:
    """Load a voice: None or a voice folder (``tacotron.safetensors``, ``vocoder.safetensors``,
    ``voice.json``, optional ``mel2linear.safetensors``, as shipped), or a Tacotron checkpoint, which
    speaks through Griffin-Lim.

    Every vocoder the voice has is loaded (the voice card's is the default); they share the Tacotron.
    """
    from ..synth import Synthesizer
    from ..voice import CARD_FILE, TACOTRON_FILE, VOICE_DIR, default_voice

    folder = Path(path) if path is not None else VOICE_DIR
    if folder.is_dir() and (folder / TACOTRON_FILE).is_file():
        voice = default_voice(folder)
        card = json.loads((folder / CARD_FILE).read_text()) if (folder / CARD_FILE).is_file() else {}
        griffin = Synthesizer(tacotron=voice.tacotron, vocoder=None, mel2linear=voice.mel2linear, device=device,
                              mel_match=voice.tts_mel_match)
        wavenet = Synthesizer(tacotron=griffin.tacotron, vocoder=voice.vocoder,
                              mel2linear=voice.mel2linear_file if voice.refine_mel else None,
                              text_config=griffin.text_config, device=device, sharpen=voice.tts_sharpen,
                              mel_match=voice.tts_mel_match, refine_mel=voice.refine_mel, precision=voice.precision)
        prototypes = {GRIFFIN_LIM: griffin, WAVENET: wavenet}
        default = voice.default_vocoder
    else:
        griffin = Synthesizer(tacotron=folder, vocoder=None, device=device)
        prototypes, default, card = {GRIFFIN_LIM: griffin}, GRIFFIN_LIM, {}
    return LoadedVoice(name=name, sample_rate=griffin.sample_rate, default_vocoder=default,
                       prototypes=prototypes, card=card, source=str(folder))


@functools.lru_cache(maxsize=1)
def _libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return None


def _trim_heap() -> None:
    """Hand freed heap pages back to the system (glibc). Without it a long-running server's resident memory
    creeps up: each request frees megabytes of audio around the small alignments the history keeps, and
    glibc's per-thread arenas keep the holes."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


class Engine:
    """The loaded voices, the admission count and the worker pool.

    Args:
        voices: name -> loaded voice; the first is the default.
        workers: threads that synthesise (each runs one sentence at a time).
        queue: requests admitted beyond ``workers`` that wait for a worker.
    """

    def __init__(self, voices: dict[str, LoadedVoice], workers: int = 1, queue: int = 8) -> None:
        if not voices:
            raise DataError("no voice loaded")
        if workers < 1 or queue < 0:
            raise DataError(f"--workers must be >= 1 and --queue >= 0 (got {workers}, {queue})")
        self.voices = voices
        self.default_voice = next(iter(voices))
        self.workers, self.queue = workers, queue
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wavetron-synth")
        self._local = threading.local()
        self._lock = threading.Lock()
        self.in_flight = 0  # admitted requests not yet finished
        self.running = 0  # sentences being synthesised now
        self.mean_request_s = 2.0  # running mean of request durations, for Retry-After
        self.history: OrderedDict[str, Job] = OrderedDict()

    @property
    def queue_depth(self) -> int:
        """Admitted requests that are not synthesising a sentence right now."""
        return max(0, self.in_flight - self.running)

    def admit(self, job: Job) -> None:
        """Take one of the ``workers + queue`` places for ``job``; raises :class:`Busy` when none is free.

        Every admitted job must be given back by :meth:`finish`.
        """
        with self._lock:
            if self.in_flight >= self.workers + self.queue:
                waves = (self.in_flight + 1) / self.workers  # requests ahead of it per worker
                raise Busy(retry_after=int(min(60, max(1, round(waves * self.mean_request_s)))))
            self.in_flight += 1
            self.history[job.id] = job
            while len(self.history) > HISTORY:
                self.history.popitem(last=False)

    def finish(self, job: Job) -> None:
        """Give back ``job``'s place; a job that did not produce all its sentences is marked cancelled."""
        if job.total_s is not None:
            return  # already finished
        job.total_s = time.perf_counter() - job.started
        if job.status == "running":
            job.status = "done" if len(job.sentences) == len(job.texts) else "cancelled"
        for sentence in job.sentences:  # answered: the history keeps timings and alignments, not audio
            sentence.audio = np.zeros(0, dtype=np.float32)  # not audio[:0]: a view keeps its whole buffer
        with self._lock:
            self.in_flight -= 1
            if job.status == "done":
                self.mean_request_s = 0.8 * self.mean_request_s + 0.2 * job.total_s
        _trim_heap()

    def _synthesizer(self, voice: LoadedVoice, vocoder: str):
        """This worker thread's own Synthesizer over the voice's shared modules (its timings are per call)."""
        from ..synth import Synthesizer

        cache = self._local.__dict__.setdefault("synthesizers", {})
        key = (voice.name, vocoder)
        if key not in cache:
            proto = voice.prototypes[vocoder]
            cache[key] = Synthesizer(tacotron=proto.tacotron, vocoder=proto.vocoder or GRIFFIN_LIM,
                                     mel2linear=proto.mel2linear, text_config=proto.text_config,
                                     device=proto.device, griffin_lim_iters=proto.griffin_lim_iters,
                                     fold_frames=proto.fold_frames, fold_overlap=proto.fold_overlap,
                                     sharpen=proto.sharpen, mel_match=proto.mel_match, refine_mel=proto.refine_mel,
                                     precision=proto.precision)
        return cache[key]

    def _one(self, job: Job, text: str) -> SentenceResult:
        """Synthesise one sentence on this worker thread."""
        import warnings

        with self._lock:
            self.running += 1
        try:
            synthesizer = self._synthesizer(job.voice, job.vocoder)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a sentence cut at the step limit still speaks
                sentence = synthesizer.synthesize_sentences([text], speed=job.speed)[0]
            timings = synthesizer.last_timings
            return SentenceResult(text=sentence.text, audio=sentence.audio, tacotron_s=timings["tacotron"],
                                  vocoder_s=timings["vocoder"],
                                  # a copy: the slice is a view that would keep the batch's whole tensor alive
                                  alignment=sentence.alignment.clone(),
                                  stopped=sentence.stopped, finished_at=time.time())
        finally:
            with self._lock:
                self.running -= 1

    async def sentences(self, job: Job) -> AsyncIterator[SentenceResult]:
        """Synthesise ``job``'s sentences in order on the pool, yielding each as soon as it is ready.

        Cancelling the consumer (a client that disconnected) leaves the sentence in progress to end on
        its thread and submits no other.
        """
        loop = asyncio.get_running_loop()
        for text in job.texts:
            if job.status != "running":
                return
            try:
                result = await loop.run_in_executor(self.pool, self._one, job, text)
            except asyncio.CancelledError:
                job.status = "cancelled"
                raise
            except Exception:
                job.status = "failed"
                raise
            if job.first_audio_s is None:
                job.first_audio_s = time.perf_counter() - job.started
            job.sentences.append(result)
            yield result

    def warm_up(self) -> None:
        """Speak a word with every voice's default vocoder (the first call builds caches and kernels)."""
        for voice in self.voices.values():
            job = Job(voice=voice, vocoder=voice.default_vocoder, texts=["Hi."])
            self.pool.submit(self._one, job, "Hi.").result()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["Busy", "DEFAULT_VOICE", "Engine", "Job", "LoadedVoice", "SentenceResult", "load_voice",
           "parse_voice_spec"]
