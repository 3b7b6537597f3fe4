"""The default voice shipped inside the package: a Tacotron and a WaveNet vocoder.

Both were trained by ``recipes/default_voice.sh`` on a corpus made with ``wavetron corpus --engine
festival`` (the cmu_us_slt_arctic_hts voice). They are single-file exports (safetensors whose metadata
holds the model name and its whole config), so they load offline with nothing else:

    >>> from wavetron import Synthesizer
    >>> audio, sample_rate = Synthesizer().synthesize("Hello there.")
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError

VOICE_DIR = Path(__file__).resolve().parent / "voices" / "default"
TACOTRON_FILE = "tacotron.safetensors"
VOCODER_FILE = "vocoder.safetensors"
CARD_FILE = "voice.json"  # {"vocoder": "wavenet" | "griffin-lim", "why": "..."}: the measured better one


@dataclass(frozen=True)
class Voice:
    """Paths of a voice's two models, and the vocoder it speaks with by default."""

    tacotron: Path
    vocoder: Path
    default_vocoder: str = "wavenet"  # or "griffin-lim", when the voice's WaveNet measures worse
    why: str = ""


def default_voice(folder: str | Path = VOICE_DIR) -> Voice:
    """The shipped voice (or the voice in ``folder``).

    Raises:
        DataError: a model file is missing from the installation.
    """
    folder = Path(folder)
    for path in (folder / TACOTRON_FILE, folder / VOCODER_FILE):
        if not path.is_file():
            raise DataError(f"{path}: the default voice's model file is missing; reinstall wavetron "
                            "or pass --tacotron/--vocoder")
    card = {}
    if (folder / CARD_FILE).is_file():
        try:
            card = json.loads((folder / CARD_FILE).read_text())
        except ValueError as err:
            raise DataError(f"{folder / CARD_FILE}: not valid JSON ({err})") from None
    vocoder = card.get("vocoder", "wavenet")
    if vocoder not in ("wavenet", "griffin-lim"):
        raise DataError(f"{folder / CARD_FILE}: vocoder: expected wavenet or griffin-lim, got {vocoder!r}")
    return Voice(folder / TACOTRON_FILE, folder / VOCODER_FILE, vocoder, str(card.get("why", "")))


def is_default(path: str | Path | None) -> bool:
    """True when ``path`` is one of the shipped voice's files."""
    if path is None or not isinstance(path, (str, Path)):
        return False
    return Path(path).resolve().parent == VOICE_DIR


__all__ = ["Voice", "VOICE_DIR", "default_voice", "is_default"]
