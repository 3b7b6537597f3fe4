"""Parsing and checking of speech requests: every bad field becomes an :class:`ApiError` that names it."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

from .engine import Engine, LoadedVoice
from .formats import STREAMABLE, available_formats

MIN_RATE, MAX_RATE = 8000, 48000


class ApiError(Exception):
    """An answer other than audio: HTTP ``status`` and OpenAI's error body, ``param`` naming the field."""

    def __init__(self, status: int, message: str, param: str | None = None, kind: str = "invalid_request_error",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.kind = status, message, param, kind
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": None}}


@dataclass(frozen=True)
class SpeechRequest:
    """A checked request: the sentences to speak and how to deliver them."""

    voice: LoadedVoice
    vocoder: str
    texts: list[str]
    response_format: str
    speed: float
    stream: bool
    sample_rate: int | None  # None: the format's own default (24 kHz pcm, else the voice's rate)


def parse_json(raw: bytes) -> dict:
    """The request body as a JSON object, else a 400 naming ``body``."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ApiError(400, f"request body: not valid JSON ({err})", "body") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"request body: expected a JSON object, got {type(body).__name__}", "body")
    return body


def _text(value, param: str, max_chars: int) -> list[str]:
    from ..errors import TextError
    from ..synth import split_sentences

    if not isinstance(value, str):
        raise ApiError(400, f"{param}: expected a string of text, got {type(value).__name__}", param)
    if not value.strip():
        raise ApiError(400, f"{param}: empty text", param)
    if len(value) > max_chars:
        raise ApiError(413, f"{param}: {len(value)} characters, more than this server's limit of {max_chars}", param)
    try:
        return split_sentences(value)
    except (TextError, ValueError) as err:
        raise ApiError(400, f"{param}: nothing speakable ({err})", param) from None


def _voice(value, engine: Engine) -> LoadedVoice:
    if value is None:
        return engine.voices[engine.default_voice]
    if isinstance(value, dict) and isinstance(value.get("id"), str):  # OpenAI's {"id": ...} form
        value = value["id"]
    if not isinstance(value, str) or value not in engine.voices:
        shown = value if isinstance(value, str) else type(value).__name__
        raise ApiError(400, f"voice: {str(shown)[:80]!r} is not a voice of this server; "
                            f"available: {', '.join(engine.voices)}", "voice")
    return engine.voices[value]


def _vocoder(value, voice: LoadedVoice) -> str:
    if value is None:
        return voice.default_vocoder
    if not isinstance(value, str) or value not in voice.prototypes:
        raise ApiError(400, f"vocoder: {str(value)[:40]!r} is not a vocoder of voice {voice.name!r}; "
                            f"available: {', '.join(sorted(voice.prototypes))}", "vocoder")
    return value


def _number(value, param: str, low: float, high: float, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, f"{param}: expected a number from {low} to {high}, got {str(value)[:40]!r}", param)
    if not low <= value <= high:
        raise ApiError(400, f"{param}: {value} is outside {low} to {high}", param)
    return float(value)


def default_format() -> str:
    """OpenAI's default, mp3, where it can be encoded; else wav."""
    return "mp3" if "mp3" in available_formats() else "wav"


def parse_speech(body: dict, engine: Engine, max_chars: int, text_field: str = "input") -> SpeechRequest:
    """Check an OpenAI speech body (``model``, ``input``, ``voice``, ``response_format``, ``speed``) and the
    extensions ``stream``, ``sample_rate`` and ``vocoder``; ``model`` may be any string."""
    if "model" in body and body["model"] is not None and not isinstance(body["model"], str):
        raise ApiError(400, "model: expected a string", "model")
    if text_field not in body:
        raise ApiError(400, f"{text_field}: missing (the text to speak)", text_field)
    texts = _text(body[text_field], text_field, max_chars)
    voice = _voice(body.get("voice"), engine)
    vocoder = _vocoder(body.get("vocoder"), voice)
    response_format = body.get("response_format") or default_format()
    formats = available_formats()
    if not isinstance(response_format, str) or response_format not in formats:
        raise ApiError(400, f"response_format: {str(response_format)[:40]!r} is not available here; "
                            f"available: {', '.join(formats)}", "response_format")
    speed = _number(body.get("speed"), "speed", 0.25, 4.0, 1.0)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "stream: expected true or false", "stream")
    stream_format = body.get("stream_format", "audio")
    if stream_format != "audio":
        raise ApiError(400, f"stream_format: only 'audio' is served, got {str(stream_format)[:40]!r}", "stream_format")
    if stream and response_format not in STREAMABLE:
        raise ApiError(400, f"stream: response_format {response_format} cannot be streamed; "
                            f"streamable: {', '.join(STREAMABLE)}", "stream")
    rate = body.get("sample_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE):
        raise ApiError(400, f"sample_rate: expected an integer from {MIN_RATE} to {MAX_RATE}, got {str(rate)[:40]!r}",
                       "sample_rate")
    return SpeechRequest(voice=voice, vocoder=vocoder, texts=texts, response_format=response_format, speed=speed,
                         stream=stream or response_format == "pcm", sample_rate=rate)


__all__ = ["ApiError", "SpeechRequest", "default_format", "parse_json", "parse_speech"]
