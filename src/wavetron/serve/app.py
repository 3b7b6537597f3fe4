"""The HTTP application (FastAPI on Starlette): OpenAI's speech endpoint, Coqui/piper's /api/tts, the voices,
health, Prometheus metrics and the web page.

Every error is a JSON ``{"error": {"message", "type", "param", "code"}}`` (OpenAI's shape, so its client
raises a readable exception); nothing answers with a traceback.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .engine import Busy, Engine, Job
from .formats import MEDIA_TYPES, StreamResampler, encode, output_rate, resample, to_int16, wav_stream_header
from .metrics import Metrics
from .requests import ApiError, SpeechRequest, parse_json, parse_speech

STATIC = Path(__file__).resolve().parent / "static"
PUBLIC = ("/health", "/", "/favicon.ico")  # /static/* too: the page's own files hold no data
log = logging.getLogger("wavetron.serve")
_PLOT_LOCK = threading.Lock()  # pyplot keeps global state


@dataclass(frozen=True)
class ServeOptions:
    """What ``wavetron serve`` was told: the text limit and the API key (None: no key)."""

    max_chars: int = 4096
    api_key: str | None = None


def _endpoint_label(path: str) -> str:
    """A bounded label for /metrics (request ids do not become labels)."""
    if path.startswith("/api/requests/"):
        return "/api/requests"
    if path.startswith("/static/"):
        return "/static"
    known = ("/v1/audio/speech", "/api/tts", "/v1/voices", "/health", "/metrics", "/")
    return path if path in known else "other"


class Gate:
    """ASGI middleware: the API key check and the per-request metrics (status and latency)."""

    def __init__(self, app, metrics: Metrics, api_key: str | None) -> None:
        self.app, self.metrics, self.api_key = app, metrics, api_key

    def _authorised(self, scope) -> bool:
        path = scope["path"]
        if self.api_key is None or path in PUBLIC or path.startswith("/static/"):
            return True
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        return hmac.compare_digest(header.encode(), f"Bearer {self.api_key}".encode())

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            if self._authorised(scope):
                await self.app(scope, receive, send_status)
            else:
                error = ApiError(401, "missing or wrong API key: send Authorization: Bearer KEY", "authorization",
                                 kind="authentication_error", headers={"WWW-Authenticate": "Bearer"})
                await _error_response(error)(scope, receive, send_status)
        finally:
            self.metrics.request(_endpoint_label(scope["path"]), status[0], time.perf_counter() - started)


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


class JobResponse(StreamingResponse):
    """A streamed answer that releases its job's place however the stream ends (done or disconnected)."""

    def __init__(self, content, on_close, **kwargs) -> None:
        super().__init__(content, **kwargs)
        self.on_close = on_close

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()
            self.on_close()


def create_app(engine: Engine, options: ServeOptions = ServeOptions(), metrics: Metrics | None = None) -> FastAPI:
    """The FastAPI application over a loaded :class:`Engine`."""
    metrics = metrics or Metrics()
    app = FastAPI(title="wavetron", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine, app.state.metrics = engine, metrics

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError):
        return _error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError):
        first = error.errors()[0] if error.errors() else {}
        param = ".".join(str(part) for part in first.get("loc", ())[1:]) or "body"
        return _error_response(ApiError(400, f"{param}: {first.get('msg', 'invalid')}", param))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException):
        return _error_response(ApiError(error.status_code, f"{request.url.path}: {error.detail}",
                                        kind="not_found_error" if error.status_code == 404 else "invalid_request_error"))

    @app.exception_handler(Exception)
    async def _crash(request: Request, error: Exception):
        log.exception("request %s %s failed", request.method, request.url.path)
        return _error_response(ApiError(500, f"internal error ({type(error).__name__}); see the server log",
                                        kind="server_error"))

    async def speak(request: Request, speech: SpeechRequest):
        job = Job(voice=speech.voice, vocoder=speech.vocoder, texts=speech.texts, speed=speech.speed)
        try:
            engine.admit(job)
        except Busy as busy:
            raise ApiError(503, str(busy), kind="server_busy", headers={"Retry-After": str(busy.retry_after)}) from None
        if speech.stream:
            return await _stream(engine, metrics, job, speech)
        try:
            return await _whole(request, engine, job, speech)
        finally:
            _finish(engine, metrics, job, streamed=False)

    @app.post("/v1/audio/speech")
    async def openai_speech(request: Request):
        body = parse_json(await request.body())
        return await speak(request, parse_speech(body, engine, options.max_chars))

    @app.api_route("/api/tts", methods=["GET", "POST"])
    async def coqui_tts(request: Request):
        fields = {key: request.query_params[key] for key in ("text", "voice", "vocoder", "speed")
                  if key in request.query_params}
        if "speaker_id" in request.query_params and "voice" not in fields:  # Coqui's name for it
            fields["voice"] = request.query_params["speaker_id"]
        if request.method == "POST" and "text" not in fields:
            raw = await request.body()
            if request.headers.get("content-type", "").startswith("application/json"):
                fields.update(parse_json(raw))
            else:
                try:
                    fields["text"] = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise ApiError(400, "text: the body is not UTF-8 text", "text") from None
        if "speed" in fields and isinstance(fields["speed"], str):
            try:
                fields["speed"] = float(fields["speed"])
            except ValueError:
                raise ApiError(400, f"speed: expected a number, got {fields['speed'][:40]!r}", "speed") from None
        fields.setdefault("text", None)
        fields["response_format"], fields["stream"] = "wav", False
        if fields["text"] is None:
            raise ApiError(400, "text: missing (GET /api/tts?text=...)", "text")
        return await speak(request, parse_speech(fields, engine, options.max_chars, text_field="text"))

    @app.get("/v1/voices")
    async def voices():
        return {"default": engine.default_voice, "voices": [voice.describe() for voice in engine.voices.values()]}

    @app.get("/health")
    async def health():
        return {"status": "ok", "voices": list(engine.voices), "in_flight": engine.in_flight,
                "queue_depth": engine.queue_depth}

    @app.get("/metrics")
    async def prometheus():
        return PlainTextResponse(metrics.render(engine), media_type="text/plain; version=0.0.4")

    @app.get("/api/requests/{job_id}")
    async def job_record(job_id: str):
        return _job(engine, job_id).record()

    @app.get("/api/requests/{job_id}/alignment.png")
    async def job_alignment(job_id: str):
        job = _job(engine, job_id)
        if not job.sentences:
            raise ApiError(404, f"request {job_id}: no sentence was synthesised", "id", kind="not_found_error")
        png = await asyncio.to_thread(_alignment_png, job)
        return Response(png, media_type="image/png")

    @app.get("/")
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Gate, metrics=metrics, api_key=options.api_key)
    return app


def _job(engine: Engine, job_id: str) -> Job:
    job = engine.history.get(job_id)
    if job is None:
        raise ApiError(404, f"request {job_id[:40]!r}: unknown or no longer kept", "id", kind="not_found_error")
    return job


def _finish(engine: Engine, metrics: Metrics, job: Job, streamed: bool) -> None:
    engine.finish(job)
    seconds = job.samples / job.voice.sample_rate
    # a whole file's first audio reaches the client only once every sentence is done
    first = job.first_audio_s if streamed else (job.total_s if job.status == "done" else None)
    metrics.audio(seconds, first, streamed)


def _gap(job: Job) -> np.ndarray:
    pause = job.voice.prototypes[job.vocoder].pause
    return np.zeros(int(pause * job.voice.sample_rate), dtype=np.float32)


def _headers(job: Job) -> dict[str, str]:
    return {"X-Wavetron-Request-Id": job.id, "X-Wavetron-Sentences": str(len(job.texts)), "Cache-Control": "no-store"}


async def _whole(request: Request, engine: Engine, job: Job, speech: SpeechRequest) -> Response:
    """Synthesise every sentence, then answer with one file; stops early when the client has gone."""
    parts = []
    async for sentence in engine.sentences(job):
        parts.extend([_gap(job), sentence.audio] if parts else [sentence.audio])
        if len(job.sentences) < len(job.texts) and await request.is_disconnected():
            job.status = "cancelled"
            return Response(status_code=499)
    audio = np.concatenate(parts)
    rate = output_rate(speech.response_format, job.voice.sample_rate, speech.sample_rate)
    data = await asyncio.to_thread(lambda: encode(resample(audio, job.voice.sample_rate, rate), rate,
                                                  speech.response_format))
    headers = _headers(job) | {"X-Wavetron-Audio-Seconds": f"{len(audio) / job.voice.sample_rate:.3f}"}
    return Response(data, media_type=MEDIA_TYPES[speech.response_format], headers=headers)


async def _stream(engine: Engine, metrics: Metrics, job: Job, speech: SpeechRequest) -> Response:
    """Answer sentence by sentence: the first sentence is synthesised before the headers go out (so a
    failure there is still a JSON error), the others while the client plays the ones before."""
    sentences = engine.sentences(job)
    try:
        first = await sentences.__anext__()
    except BaseException:
        await sentences.aclose()
        _finish(engine, metrics, job, streamed=True)
        raise
    rate = output_rate(speech.response_format, job.voice.sample_rate, speech.sample_rate)

    async def body():
        resampler = StreamResampler(job.voice.sample_rate, rate)
        header = wav_stream_header(rate) if speech.response_format == "wav" else b""
        yield header + to_int16(resampler(first.audio))
        async for sentence in sentences:
            yield to_int16(resampler(np.concatenate([_gap(job), sentence.audio])))
        tail = resampler(np.zeros(0, dtype=np.float32), last=True)
        if tail.size:
            yield to_int16(tail)

    headers = _headers(job) | {"X-Wavetron-Sample-Rate": str(rate)}
    return JobResponse(body(), on_close=lambda: _finish(engine, metrics, job, streamed=True),
                       media_type=MEDIA_TYPES[speech.response_format], headers=headers)


def _alignment_png(job: Job) -> bytes:
    """The alignments of a request's sentences as one PNG (wavetron.synth.save_alignments)."""
    import tempfile

    from ..synth import Sentence, save_alignments

    sentences = [Sentence(text=s.text, mel=None, alignment=s.alignment, stopped=s.stopped) for s in job.sentences]
    with _PLOT_LOCK, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "alignment.png"
        save_alignments(path, sentences)
        return path.read_bytes()




__all__ = ["ServeOptions", "create_app"]
