"""`wavetron serve`: text to speech as a local service.

HTTP (FastAPI + uvicorn): OpenAI's ``POST /v1/audio/speech`` (streamed sentence by sentence with
``stream: true`` or ``response_format: pcm``), Coqui/piper's ``GET|POST /api/tts``, ``GET /v1/voices``,
``GET /health``, ``GET /metrics`` (Prometheus) and a web page at ``/``; optionally the Wyoming protocol
for Home Assistant. Voices are loaded once; synthesis runs on a bounded pool (:mod:`.engine`).

    >>> from wavetron.serve import Engine, create_app, load_voice
    >>> app = create_app(Engine({"default": load_voice("default", None)}))
"""
from .app import ServeOptions, create_app
from .engine import Busy, Engine, load_voice, parse_voice_spec

__all__ = ["Busy", "Engine", "ServeOptions", "create_app", "load_voice", "parse_voice_spec"]
