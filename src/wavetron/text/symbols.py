"""Symbol sets and the text <-> id encoding.

Two fixed, ordered symbol sets: characters (lowercase letters after normalisation) and IPA
phonemes (what espeak-ng produces for English, plus the common IPA letters of other
languages). In both, id 0 is the pad symbol and id 1 the end-of-sentence symbol, so padded
batches and the stop target need no extra bookkeeping. The order never changes: a trained
model's embedding rows are indexed by these ids.
"""
from __future__ import annotations

import functools
from typing import Iterable, Sequence

from ..config import TextConfig
from ..errors import TextError
from .normalize import KEPT_PUNCTUATION, normalize_text, warn_unknown
from .phonemes import phonemize

PAD = "_"
EOS = "~"
PAD_ID = 0
EOS_ID = 1

_PUNCTUATION = " " + KEPT_PUNCTUATION
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# IPA letters and marks. The first line is everything espeak-ng 1.52 writes for en-us and en-gb
# (checked over 6,000 CMU dictionary words); the rest covers other voices. U+0329 is the
# syllabic mark ("bˈʌʔn̩"), U+1D7B the barred i of unstressed "-ed" ("kwˈoʊɾᵻd").
_IPA = (
    "æðŋɐɑɒɔəɚɛɜɡɪɹɾʃʊʌʒʔˈˌːθᵻ\u0329"
    "ɓʙβɕçɗɖʤɘɝɞɟʄɠɢʛɦɧħɥʜɨʝɭɬɫɮʟɱɯɰɳɲɴøɵɸœɶʘɺɻʀʁɽʂʈʧʉʋⱱɣɤʍχʎʏʑʐʡʕʢǀǁǂǃ"
    "ˑʼʴʰʱʲʷˠˤ˞↓↑→↗↘\u0303\u0361\u032f\u0325\u030d"
)
_CHARACTERS = [PAD, EOS, *_PUNCTUATION, *_LETTERS]
_PHONEMES = [PAD, EOS, *_PUNCTUATION, *_LETTERS, *_IPA]
assert len(set(_PHONEMES)) == len(_PHONEMES), "duplicate phoneme symbol"


def symbols(config: TextConfig) -> list[str]:
    """The ordered symbol list for ``config`` (characters, or IPA when ``config.phonemes``)."""
    return list(_PHONEMES if config.phonemes else _CHARACTERS)


def vocab_size(config: TextConfig) -> int:
    """Number of symbols, i.e. the rows of a model's text embedding."""
    return len(_PHONEMES if config.phonemes else _CHARACTERS)


@functools.lru_cache(maxsize=2)
def _symbol_to_id(phonemes: bool) -> dict[str, int]:
    return {s: i for i, s in enumerate(_PHONEMES if phonemes else _CHARACTERS)}


def symbols_to_ids(text: str, config: TextConfig, where: str = "text", add_eos: bool = True) -> list[int]:
    """Ids of an already cleaned (normalised or phonemized) string; unknown symbols are dropped with a warning."""
    table = _symbol_to_id(config.phonemes)
    ids = []
    for char in text:
        index = table.get(char)
        if index is None or index <= EOS_ID:  # "_" and "~" in text are not pad or end of sentence
            warn_unknown(char, where)
        else:
            ids.append(index)
    if not ids:
        raise TextError(f"{where} is empty after cleaning (no known symbols left)")
    if add_eos:
        ids.append(EOS_ID)
    return ids


def _describe(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def texts_to_ids(texts: Sequence[str], config: TextConfig, add_eos: bool = True) -> list[list[int]]:
    """Encode many texts; with phonemes, espeak-ng is called once for the whole batch.

    Args:
        texts: raw sentences; each is normalised first.
        config: ``config.phonemes`` picks IPA or characters, ``config.language`` the espeak-ng voice.
        add_eos: end each sequence with the end-of-sentence id (1).
    Returns:
        one list of ids per text, each in ``[1, vocab_size(config))``.
    Raises:
        TextError: a text is empty after cleaning (the message names it).
    """
    if isinstance(texts, str):
        raise TypeError("texts_to_ids expects a list of texts; use text_to_ids for one")
    cleaned = [normalize_text(text) for text in texts]
    if config.phonemes:
        cleaned = phonemize(cleaned, config.language)
    return [symbols_to_ids(clean, config, _describe(text), add_eos) for clean, text in zip(cleaned, texts)]


def text_to_ids(text: str, config: TextConfig, add_eos: bool = True) -> list[int]:
    """Normalise ``text`` and encode it as symbol ids, ending with the end-of-sentence id.

    ``text_to_ids("Hi!", TextConfig())`` -> ids of ``"hi!"`` then ``EOS_ID``.
    """
    return texts_to_ids([text], config, add_eos)[0]


def ids_to_text(ids: Iterable[int], config: TextConfig) -> str:
    """The string of symbols that ``ids`` encode; pad and end-of-sentence ids are left out.

    For characters, ``ids_to_text(text_to_ids(t, c), c) == normalize_text(t)``.
    """
    table = _PHONEMES if config.phonemes else _CHARACTERS
    out = []
    for index in ids:
        index = int(index)  # accepts numpy and torch integers too
        if not 0 <= index < len(table):
            raise TextError(f"symbol id {index} is out of range: expected 0..{len(table) - 1} "
                            f"for {'phonemes' if config.phonemes else 'characters'}")
        if index > EOS_ID:
            out.append(table[index])
    return "".join(out)
