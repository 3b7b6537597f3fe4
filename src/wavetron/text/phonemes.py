"""IPA phonemes through phonemizer and the espeak-ng library shipped in the ``espeakng-loader`` wheel.

No system espeak-ng is needed: the wheel's shared library and voice data are handed to
phonemizer before the first backend is built. Backends are cached per language, since
building one loads the voice (tens of milliseconds), and a batch of sentences goes to
espeak-ng in one call.
"""
from __future__ import annotations

import functools
import os
from typing import Sequence

from ..errors import TextError

# Phones are not separated (IPA letters follow each other, "hˈɛloʊ"); words by one space.
# Punctuation is carried through by phonemizer; ' and - are read by espeak-ng as part of a word.
_SEPARATOR_WORD = " "


@functools.lru_cache(maxsize=1)
def _configure_espeak() -> None:
    """Point phonemizer at the espeak-ng library and data of the espeakng-loader wheel (once)."""
    try:
        import espeakng_loader
        from phonemizer.backend.espeak.wrapper import EspeakWrapper
    except ImportError as err:  # both are dependencies; say which one is missing
        raise TextError(f"phonemes need the packages phonemizer and espeakng-loader: {err}") from None
    # espeak-ng reads its voices from ESPEAK_DATA_PATH when the library is loaded.
    os.environ["ESPEAK_DATA_PATH"] = espeakng_loader.get_data_path()
    EspeakWrapper.set_library(espeakng_loader.get_library_path())
    if hasattr(EspeakWrapper, "set_data_path"):  # phonemizer >= 3.3
        EspeakWrapper.set_data_path(espeakng_loader.get_data_path())


@functools.lru_cache(maxsize=8)
def _backend(language: str):
    _configure_espeak()
    from phonemizer.backend import EspeakBackend

    try:
        return EspeakBackend(language, preserve_punctuation=True, with_stress=True,
                             language_switch="remove-flags")
    except RuntimeError as err:  # phonemizer: "language ... is not supported by the espeak backend"
        raise TextError(f"text.language: espeak-ng cannot phonemize {language!r} ({err})") from None


def espeak_version(language: str = "en-us") -> str:
    """The espeak-ng version phonemizer runs, e.g. ``"1.52.0"`` (phonemes can change between versions)."""
    return ".".join(str(part) for part in _backend(language).version())


def phonemize(texts: Sequence[str], language: str = "en-us") -> list[str]:
    """IPA for each text, with stress marks, words separated by spaces and punctuation kept.

    Args:
        texts: already normalised sentences, one line each (see ``normalize_text``).
        language: an espeak-ng voice such as ``"en-us"`` or ``"en-gb"``.
    Returns:
        one IPA string per text, e.g. ``"hello, world"`` -> ``"həlˈoʊ, wˈɜːld"``.
    """
    from phonemizer.separator import Separator

    if isinstance(texts, str):
        raise TypeError("phonemize expects a list of texts; wrap a single text in a list")
    if not texts:
        return []
    # A newline would split one text into two lines of phonemizer output and shift the rest.
    lines = [" ".join(text.split()) for text in texts]
    separator = Separator(phone="", syllable="", word=_SEPARATOR_WORD)
    out = _backend(language).phonemize(lines, separator=separator, strip=True, njobs=1)
    return [" ".join(line.split()) for line in out]
