"""The Wyoming protocol (Home Assistant's voice services) over the same engine as the HTTP server.

``describe`` -> ``info`` listing the voices; ``synthesize`` -> ``audio-start``, one ``audio-chunk`` per
sentence (16-bit mono at the voice's rate) as each is ready, ``audio-stop``. Bad text, an unknown
voice or a full queue answer with an ``error`` event and leave the connection open.
"""
from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlparse

import numpy as np

from .. import __version__
from .engine import Busy, Engine, Job
from .formats import to_int16
from .metrics import Metrics
from .requests import ApiError, _text, _voice

log = logging.getLogger("wavetron.serve")


def info_event(engine: Engine):
    """The ``info`` event: one TTS program whose voices are the engine's."""
    from wyoming.info import Attribution, Info, TtsProgram, TtsVoice

    attribution = Attribution(name="wavetron", url="https://github.com/wavetron/wavetron")
    voices = [TtsVoice(name=voice.name, attribution=attribution, installed=True, version=__version__,
                       description=f"{voice.name}: {voice.sample_rate} Hz, vocoder {voice.default_vocoder}",
                       languages=["en"]) for voice in engine.voices.values()]
    program = TtsProgram(name="wavetron", attribution=attribution, installed=True, version=__version__,
                         description="wavetron text to speech (Tacotron + vocoder)", voices=voices)
    return Info(tts=[program]).event()


def handler_factory(engine: Engine, metrics: Metrics, max_chars: int):
    """A factory of Wyoming event handlers (one per connection)."""
    from wyoming.server import AsyncEventHandler

    class Handler(AsyncEventHandler):
        async def handle_event(self, event) -> bool:
            from wyoming.error import Error
            from wyoming.info import Describe
            from wyoming.tts import Synthesize

            if Describe.is_type(event.type):
                await self.write_event(info_event(engine))
            elif Synthesize.is_type(event.type):
                try:
                    await self._synthesize(Synthesize.from_event(event))
                except ApiError as error:
                    await self.write_event(Error(text=error.message, code=error.param or error.kind).event())
                except Busy as busy:
                    await self.write_event(Error(text=str(busy), code="busy").event())
                except Exception as error:  # one failing request leaves the connection and the server up
                    log.exception("wyoming synthesize failed")
                    await self.write_event(Error(text=f"internal error ({type(error).__name__})", code="server_error").event())
            return True

        async def _synthesize(self, request) -> None:
            from wyoming.audio import AudioChunk, AudioStart, AudioStop

            name = request.voice.name if request.voice is not None else None
            voice = _voice(name, engine)
            job = Job(voice=voice, vocoder=voice.default_vocoder, texts=_text(request.text, "text", max_chars))
            engine.admit(job)
            rate = voice.sample_rate
            gap = np.zeros(int(voice.prototypes[job.vocoder].pause * rate), dtype=np.float32)
            try:
                await self.write_event(AudioStart(rate=rate, width=2, channels=1).event())
                async for sentence in engine.sentences(job):
                    audio = sentence.audio if len(job.sentences) == 1 else np.concatenate([gap, sentence.audio])
                    await self.write_event(AudioChunk(rate=rate, width=2, channels=1, audio=to_int16(audio)).event())
                await self.write_event(AudioStop().event())
            finally:
                engine.finish(job)
                metrics.audio(job.samples / rate, job.first_audio_s, streamed=True)

    return Handler


async def start_wyoming(uri: str, engine: Engine, metrics: Metrics, max_chars: int) -> tuple[str, asyncio.Task]:
    """Start serving Wyoming at ``uri`` (``tcp://HOST:PORT``, port 0 for any free one, or ``unix://PATH``);
    returns the address it listens on and the serving task."""
    from wyoming.server import AsyncServer

    factory = handler_factory(engine, metrics, max_chars)
    parsed = urlparse(uri)
    if parsed.scheme == "tcp":
        if parsed.hostname is None or parsed.port is None:
            raise ValueError(f"--wyoming {uri}: expected tcp://HOST:PORT")

        async def connected(reader, writer) -> None:
            await factory(reader, writer).run()

        server = await asyncio.start_server(connected, host=parsed.hostname, port=parsed.port)
        host, port = server.sockets[0].getsockname()[:2]
        return f"tcp://{host}:{port}", asyncio.create_task(server.serve_forever())
    server = AsyncServer.from_uri(uri)  # unix:// or stdio://
    return uri, asyncio.create_task(server.run(factory))


__all__ = ["handler_factory", "info_event", "start_wyoming"]
