"""The default voice shipped inside the package: a Tacotron, a WaveNet vocoder and a mel -> linear network.

The Tacotron and the WaveNet were trained by ``recipes/default_voice.sh`` on a corpus made with
``wavetron corpus --engine festival`` (the cmu_us_slt_arctic_hts voice); the mel -> linear network, which
Griffin-Lim inverts through, on that Tacotron's ground-truth-aligned mels. All are single-file exports
(safetensors whose metadata holds the model name and its whole config), so they load offline with nothing else:

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
MEL2LINEAR_FILE = "mel2linear.safetensors"  # optional: Griffin-Lim then inverts its spectra
# {"vocoder": "wavenet" | "griffin-lim", "mel2linear": true | false, "sharpen": X, "mel_match": N, "why": "..."}:
# what measured better; X in [0, 1) is how the WaveNet sharpens its voiced frames (generate(..., sharpen=); 0: plain
# sampling), N >= 0 how many steps pull the vocoder's output onto its mel (wavetron.audio.match_mel; 0: none).
# Either may be {"copy": ..., "tts": ...}: the first when vocoding a given mel (wavetron vocode), the second for
# the Tacotron's (synth, the server). "refine_mel": true | false (default false): in text to speech the WaveNet
# vocodes the mel of the mel -> linear network's spectrum (MelToLinear.refine) instead of the Tacotron's mel.
# "precision": "auto" | "fastest" (default auto): the WaveNet's fast-path weights (wavetron.generate.fast.pack_weights);
# fastest is bfloat16 where the CPU has AVX-512 BF16, for a voice measured not to suffer from it
CARD_FILE = "voice.json"


@dataclass(frozen=True)
class Voice:
    """Paths of a voice's models, and the vocoder it speaks with by default."""

    tacotron: Path
    vocoder: Path
    default_vocoder: str = "wavenet"  # or "griffin-lim", when the voice's WaveNet measures worse
    why: str = ""
    mel2linear: Path | None = None  # the mel -> linear network Griffin-Lim inverts through, if the voice has one
    sharpen: float = 0.0  # the WaveNet's sampling of voiced frames of a given mel (wavetron.generate.generate); 0: plain
    mel_match: int = 0  # steps of wavetron.audio.match_mel on a vocoder's output of a given mel; 0: none
    tts_mel_match: int = 0  # the same in text to speech, on the Tacotron's mels
    tts_sharpen: float = 0.0  # the sharpening in text to speech
    refine_mel: bool = False  # text to speech: the WaveNet vocodes MelToLinear.refine of the Tacotron's mel
    mel2linear_file: Path | None = None  # the voice's mel -> linear network, whether or not Griffin-Lim uses it
    precision: str = "auto"  # the WaveNet's fast-path weights: "auto" (lossless) or "fastest"


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
    mel2linear = folder / MEL2LINEAR_FILE
    use_mel2linear = card.get("mel2linear", True)
    if not isinstance(use_mel2linear, bool):
        raise DataError(f"{folder / CARD_FILE}: mel2linear: expected true or false, got {use_mel2linear!r}")
    sharpen = _split(card, "sharpen", 0.0, lambda x: isinstance(x, (int, float)) and 0.0 <= x < 1.0,
                     "a number in [0, 1)", folder)
    steps = _split(card, "mel_match", 0, lambda x: isinstance(x, int) and x >= 0, "a whole number >= 0", folder)
    refine = card.get("refine_mel", False)
    if not isinstance(refine, bool):
        raise DataError(f"{folder / CARD_FILE}: refine_mel: expected true or false, got {refine!r}")
    if refine and not mel2linear.is_file():
        raise DataError(f"{folder / CARD_FILE}: refine_mel: true needs {mel2linear}, which is missing")
    precision = card.get("precision", "auto")
    if precision not in ("auto", "fastest"):
        raise DataError(f"{folder / CARD_FILE}: precision: expected auto or fastest, got {precision!r}")
    return Voice(folder / TACOTRON_FILE, folder / VOCODER_FILE, vocoder, str(card.get("why", "")),
                 mel2linear if use_mel2linear and mel2linear.is_file() else None, float(sharpen["copy"]),
                 steps["copy"], steps["tts"], float(sharpen["tts"]), refine,
                 mel2linear if mel2linear.is_file() else None, precision)


def _split(card: dict, field: str, default, valid, expected: str, folder: Path) -> dict:
    """``card[field]`` as ``{"copy": ..., "tts": ...}``: one value stands for both; a missing one is ``default``.

    Raises:
        DataError: a value is not ``valid`` (bools never are), naming the field and what was expected.
    """
    value = card.get(field, default)
    split = dict(value) if isinstance(value, dict) and set(value) <= {"copy", "tts"} else {"copy": value, "tts": value}
    for kind in ("copy", "tts"):
        one = split.setdefault(kind, default)
        if isinstance(one, bool) or not valid(one):
            raise DataError(f"{folder / CARD_FILE}: {field}: expected {expected} or "
                            f'{{"copy": X, "tts": Y}} of them, got {value!r}')
    return split


def card_of(vocoder: str | Path) -> Voice | None:
    """The voice whose folder holds ``vocoder`` as its WaveNet (voice.json beside it), else None."""
    path = Path(vocoder)
    if path.name != VOCODER_FILE or not (path.parent / CARD_FILE).is_file():
        return None
    return default_voice(path.parent)


def is_default(path: str | Path | None) -> bool:
    """True when ``path`` is one of the shipped voice's files."""
    if path is None or not isinstance(path, (str, Path)):
        return False
    return Path(path).resolve().parent == VOICE_DIR


__all__ = ["MEL2LINEAR_FILE", "Voice", "VOICE_DIR", "card_of", "default_voice", "is_default"]
