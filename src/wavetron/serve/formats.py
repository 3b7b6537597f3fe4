"""Audio response formats: whole files (wav, flac, mp3, opus) and streams (wav, pcm), resampled as asked.

``pcm`` is OpenAI's: raw 16-bit little-endian mono samples at 24 kHz. A streamed ``wav`` is a RIFF
header whose sizes say "unknown" (0xFFFFFFFF, as streaming encoders write) followed by the samples as
they are made. mp3 and opus are offered only where the installed libsndfile encodes them, which
:func:`available_formats` finds out by encoding a short silence once.
"""
from __future__ import annotations

import functools
import io
import struct

import numpy as np

OPENAI_PCM_RATE = 24_000
STREAMABLE = ("wav", "pcm")
MEDIA_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "opus": "audio/ogg",
               "pcm": "audio/pcm"}
# soundfile (format, subtype) of each whole-file format
_SOUNDFILE = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "mp3": ("MP3", "MPEG_LAYER_III"),
              "opus": ("OGG", "OPUS")}
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)  # the only rates an Opus stream can carry


@functools.lru_cache(maxsize=1)
def available_formats() -> tuple[str, ...]:
    """The response formats this installation can produce (wav, flac and pcm always)."""
    found = []
    for name in _SOUNDFILE:
        try:
            encode(np.zeros(1600, dtype=np.float32), 16000, name)
            found.append(name)
        except Exception:  # libsndfile built without that encoder  # noqa: BLE001
            continue
    return tuple(found) + ("pcm",)


def output_rate(response_format: str, voice_rate: int, asked: int | None) -> int:
    """The sample rate of the response: the one asked for, else 24 kHz for pcm, else the voice's own."""
    if asked is not None:
        return asked
    return OPENAI_PCM_RATE if response_format == "pcm" else voice_rate


def to_int16(audio: np.ndarray) -> bytes:
    """float audio in [-1, 1] -> 16-bit little-endian PCM bytes."""
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """``audio`` at ``rate`` resampled to ``target`` (soxr, high quality); unchanged when equal."""
    if rate == target:
        return audio.astype(np.float32)
    import soxr

    return soxr.resample(audio.astype(np.float32), rate, target, quality="HQ").astype(np.float32)


def encode(audio: np.ndarray, sample_rate: int, response_format: str) -> bytes:
    """A whole file (or raw pcm) of mono float ``audio`` ``(T,)`` at ``sample_rate``."""
    if response_format == "pcm":
        return to_int16(audio)
    import soundfile

    container, subtype = _SOUNDFILE[response_format]
    if response_format == "opus" and sample_rate not in _OPUS_RATES:
        audio, sample_rate = resample(audio, sample_rate, 48000), 48000
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(audio, -1.0, 1.0), sample_rate, format=container, subtype=subtype)
    return buffer.getvalue()


def wav_stream_header(sample_rate: int) -> bytes:
    """A 16-bit mono RIFF/WAVE header for a stream of unknown length (sizes 0xFFFFFFFF)."""
    unknown = 0xFFFFFFFF
    return (b"RIFF" + struct.pack("<I", unknown) + b"WAVE" + b"fmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16) +
            b"data" + struct.pack("<I", unknown))


class StreamResampler:
    """Resamples consecutive pieces of one signal without seams (soxr's streaming resampler)."""

    def __init__(self, rate: int, target: int) -> None:
        self.rate, self.target = rate, target
        self._stream = None
        if rate != target:
            import soxr

            self._stream = soxr.ResampleStream(rate, target, 1, dtype="float32", quality="HQ")

    def __call__(self, audio: np.ndarray, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return audio.astype(np.float32)
        return self._stream.resample_chunk(audio.astype(np.float32), last=last)


__all__ = ["MEDIA_TYPES", "OPENAI_PCM_RATE", "STREAMABLE", "StreamResampler", "available_formats", "encode",
           "output_rate", "resample", "to_int16", "wav_stream_header"]
