"""espeak-ng speech, synthesised in-process through ctypes (no subprocess per sentence).

The shared library and its data come from the ``espeakng-loader`` wheel. espeak-ng keeps its
state in C globals, so there is one :class:`EspeakEngine` per process; a pool of worker
processes gives parallelism (see :mod:`wavetron.corpus.builder`).
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from ..errors import WavetronError

# Constants of speak_lib.h (espeak-ng 1.5x).
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000
_EE_OK = 0
_INITIALIZE_DONT_EXIT = 0x8000
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4

# int callback(short *wav, int numsamples, espeak_EVENT *events); returning 0 continues.
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

NATIVE_SAMPLE_RATE = 22050


@dataclass(frozen=True)
class EspeakVoice:
    """One speaker: an espeak-ng voice (``en-us``, ``en-gb+f3``) and prosody settings.

    ``rate`` is words per minute (espeak's default is 175); ``pitch`` and ``pitch_range``
    are 0-100 (default 50).
    """

    name: str = "en-us"
    rate: int = 165
    pitch: int = 50
    pitch_range: int = 50

    @property
    def label(self) -> str:
        """A speaker name for metadata.csv: voice, pitch and rate, e.g. ``en-gb+f3_p62_r170``."""
        return f"{self.name}_p{self.pitch}_r{self.rate}"


# Accents and voice variants, interleaved so that the first few speakers already differ in
# accent, sex and pitch (a 2-speaker corpus gets one male US and one female GB voice).
_ACCENTS = ("en-us", "en", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-us-nyc")
_VARIANTS = (("m3", 46), ("f3", 62), ("m1", 40), ("f2", 66), ("m7", 52), ("f4", 58),
             ("m2", 36), ("f1", 70), ("m5", 44), ("f5", 60), ("m4", 48), ("m6", 42))
_RATES = (165, 175, 155, 185, 160, 170)


def speaker_voices(count: int) -> list[EspeakVoice]:
    """``count`` distinct voices for a multi-speaker corpus; ``count == 1`` is plain ``en-us``.

    Raises:
        ValueError: ``count`` is below 1 or above the number of distinct voices.
    """
    if count == 1:
        return [EspeakVoice()]
    limit = len(_ACCENTS) * len(_VARIANTS)
    if not 1 <= count <= limit:
        raise ValueError(f"speakers must be between 1 and {limit} for espeak, got {count}")
    voices = []
    for index in range(count):
        variant, pitch = _VARIANTS[index % len(_VARIANTS)]
        # Step the accent every speaker and again every full round of variants, so that
        # (accent, variant) pairs never repeat within `limit` speakers.
        accent = _ACCENTS[(index + index // len(_VARIANTS)) % len(_ACCENTS)]
        rate = _RATES[(index // 2) % len(_RATES)]
        voices.append(EspeakVoice(name=f"{accent}+{variant}", rate=rate, pitch=pitch))
    return voices


class EspeakEngine:
    """espeak-ng loaded into this process; :meth:`synthesize` turns text into int16 samples."""

    sample_rate: int

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as err:  # pragma: no cover - it is a declared dependency
            raise WavetronError("the espeak engine needs the espeakng-loader package (pip install espeakng-loader)") from err
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._declare()
        data_path = espeakng_loader.get_data_path().encode()
        rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise WavetronError(f"espeak-ng failed to initialise with data at {data_path.decode()}")
        self.sample_rate = int(rate)
        self._chunks: list[bytes] = []
        # Keep a reference: ctypes frees the thunk when the Python object dies.
        self._callback = _SYNTH_CALLBACK(self._on_audio)
        self._lib.espeak_SetSynthCallback(self._callback)
        self._voice: EspeakVoice | None = None

    def _declare(self) -> None:
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None

    def _on_audio(self, wav, num_samples: int, events) -> int:
        if num_samples > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, num_samples * 2))
        return 0

    def set_voice(self, voice: EspeakVoice) -> None:
        """Select ``voice`` (a no-op when it is already selected)."""
        if voice == self._voice:
            return
        status = self._lib.espeak_SetVoiceByName(voice.name.encode())
        if status != _EE_OK:
            raise WavetronError(f"espeak-ng has no voice named {voice.name!r} (status {status})")
        for parameter, value in ((_PARAM_RATE, voice.rate), (_PARAM_PITCH, voice.pitch),
                                 (_PARAM_RANGE, voice.pitch_range), (_PARAM_VOLUME, 100)):
            self._lib.espeak_SetParameter(parameter, value, 0)
        self._voice = voice

    def synthesize(self, text: str, voice: EspeakVoice, seed: int = 0) -> np.ndarray:
        """Speak ``text`` with ``voice``.

        Args:
            text: plain text (UTF-8, no SSML).
            voice: the speaker.
            seed: seeds espeak-ng's noise generator (breathy variants use it), so the audio of
                a sentence does not depend on what this process synthesised before.

        Returns:
            int16 samples at :attr:`sample_rate`, shape (T,).
        """
        self.set_voice(voice)
        self._lib.espeak_ng_SetRandSeed(seed)
        self._chunks = []
        data = text.encode("utf-8") + b"\0"
        status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None)
        if status != _EE_OK:
            raise WavetronError(f"espeak-ng could not synthesise {text[:40]!r} (status {status})")
        samples = np.frombuffer(b"".join(self._chunks), dtype=np.int16).copy()
        self._chunks = []
        return samples


_ENGINE: EspeakEngine | None = None


def engine() -> EspeakEngine:
    """This process's espeak-ng engine, initialised on first use."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = EspeakEngine()
    return _ENGINE
