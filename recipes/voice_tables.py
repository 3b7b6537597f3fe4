"""Write the default voice's quality tables in README.md and docs/choosing.md from its evaluation data.

    python recipes/voice_tables.py            # rewrite the tables from src/wavetron/voices/default/evaluation.json
    python recipes/voice_tables.py --check    # exit 1, naming the table, when a committed table differs

``recipes/evaluate_voice.py --record`` writes ``evaluation.json`` (and merges a re-measurement of some systems
into it); this script turns it into the tables between the ``<!-- begin: voice_tables NAME -->`` and
``<!-- end: voice_tables NAME -->`` markers, so the figures in the documentation are the measured ones.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOICE = ROOT / "src" / "wavetron" / "voices" / "default"
DOCUMENTS = {"quality": ROOT / "README.md", "vocoders": ROOT / "docs" / "choosing.md"}

SYSTEM_LABELS = {
    "reference": "festival recordings (the recognisers' floor)",
    "tts-mel2linear": "text -> Tacotron -> mel2linear -> Griffin-Lim",
    "tts-griffinlim": "text -> Tacotron -> Griffin-Lim (pseudo-inverse)",
    "tts-wavenet": "text -> Tacotron -> WaveNet",
    "copy-mel2linear": "recording's mel -> mel2linear -> Griffin-Lim (copy synthesis)",
    "copy-griffinlim": "recording's mel -> Griffin-Lim (pseudo-inverse)",
    "copy-wavenet": "recording's mel -> WaveNet (copy synthesis)",
}
VOCODER_LABELS = {
    "mel2linear": ("mel2linear (CBHG, on the Tacotron's GTA mels) + Griffin-Lim, 60 iterations", "an hour"),
    "griffinlim": ("Griffin-Lim, 60 iterations (pseudo-inverse of the mel filterbank)", "none"),
    "wavenet": ("WaveNet (the voice's `vocoder.safetensors`)", "hours to days"),
}
# (key, column title, decimals)
QUALITY_COLUMNS = [("wer_whisper", "WER Whisper", 3), ("cer_whisper", "CER Whisper", 3),
                   ("wer", "WER PocketSphinx", 3), ("cer", "CER PocketSphinx", 3), ("mcd", "MCD-DTW (dB)", 2),
                   ("f0_rmse_cents", "F0 RMSE (cents)", 0), ("vuv_error", "V/UV error", 2), ("pesq", "PESQ-WB", 2),
                   ("stoi", "STOI", 3)]


def _cell(values: dict, key: str, decimals: int) -> str:
    value = values.get(key)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return ""
    return f"{value:.{decimals}f}"


def _sharpened(row: dict) -> str:
    """A row's settings as evaluate_voice.py notes them: the WaveNet's sharpened voiced frames, its refined mel,
    the mel match."""
    notes = [f"voiced frames sharpened {row['sharpen']:g}"] if row.get("sharpen") else []
    notes += ["on the mel -> linear network's refined mel"] if row.get("refine_mel") else []
    notes += [f"mel match {row['mel_match']}"] if row.get("mel_match") else []
    return "".join(f", {note}" for note in notes)


def default_system(card: dict) -> str:
    """The text-to-speech system the voice speaks with by default, from its voice.json."""
    if card.get("vocoder") == "wavenet":
        return "tts-wavenet"
    return "tts-mel2linear" if card.get("mel2linear") else "tts-griffinlim"


def quality_table(evaluation: dict, card: dict) -> str:
    """README's table: every system's means with both recognisers, the recordings' floor first."""
    systems, default = evaluation["systems"], default_system(card)
    header = "| system | " + " | ".join(title for _, title, _ in QUALITY_COLUMNS) + " | RTF |"
    lines = [header, "|---" * (len(QUALITY_COLUMNS) + 2) + "|"]
    for name, label in SYSTEM_LABELS.items():
        if name not in systems:
            continue
        row = systems[name]
        label += _sharpened(row)
        cells = [_cell(row["means"], key, decimals) for key, _, decimals in QUALITY_COLUMNS]
        if name == default:
            label += " (the default)"
            cells[0] = f"**{cells[0]}**" if cells[0] else cells[0]
        rtf = _cell(row, "rtf", 3)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {rtf} |")
    return "\n".join(lines)


def vocoder_table(evaluation: dict, card: dict) -> str:
    """docs/choosing.md's table: per vocoder, copy synthesis against text to speech, both recognisers."""
    systems = evaluation["systems"]
    floor = systems.get("reference", {}).get("means", {})
    lines = ["| vocoder | copy-synthesis PESQ-WB | STOI | MCD-DTW (dB) | text-to-speech WER, Whisper "
             "| text-to-speech WER, PocketSphinx | RTF (copy synthesis) | training |",
             "|---|---|---|---|---|---|---|---|"]
    for vocoder, (label, training) in VOCODER_LABELS.items():
        tts, copy = systems.get(f"tts-{vocoder}"), systems.get(f"copy-{vocoder}")
        if tts is None or copy is None:
            continue
        wers = []
        for key in ("wer_whisper", "wer"):
            said = _cell(tts["means"], key, 3)
            if f"tts-{vocoder}" == default_system(card) and said:
                said = f"**{said}**"
            beside = [f"{what}: {value}" for what, value in (("copy synthesis", _cell(copy["means"], key, 3)),
                                                               ("recordings", _cell(floor, key, 3))) if value]
            wers.append(f"{said} ({'; '.join(beside)})" if said and beside else said)
        cells = [_cell(copy["means"], "pesq", 2), _cell(copy["means"], "stoi", 3), _cell(copy["means"], "mcd", 2),
                 *wers, _cell(copy, "rtf", 3), training]
        said = _sharpened(tts)  # text to speech may sample and match otherwise than copy synthesis
        label += _sharpened(copy) + (f" (text to speech: {said[2:] or 'no mel match'})" if said != _sharpened(copy) else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


TABLES = {"quality": quality_table, "vocoders": vocoder_table}


def replace_table(text: str, name: str, table: str) -> str:
    """``text`` with the lines between the ``voice_tables NAME`` markers replaced by ``table``.

    Raises:
        ValueError: the markers are missing or out of order.
    """
    begin, end = f"<!-- begin: voice_tables {name} -->", f"<!-- end: voice_tables {name} -->"
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"no '{begin}' ... '{end}' markers")
    return text[:start + len(begin)] + "\n" + table + "\n" + text[stop:]


def load(voice: Path = VOICE) -> tuple[dict, dict]:
    """The voice's evaluation.json and voice.json."""
    return (json.loads((voice / "evaluation.json").read_text(encoding="utf-8")),
            json.loads((voice / "voice.json").read_text(encoding="utf-8")))


def stale_tables(voice: Path = VOICE, documents: dict[str, Path] = DOCUMENTS) -> list[str]:
    """The names of the tables whose committed text differs from the evaluation data (empty: all agree)."""
    evaluation, card = load(voice)
    stale = []
    for name, path in documents.items():
        text = path.read_text(encoding="utf-8")
        if replace_table(text, name, TABLES[name](evaluation, card)) != text:
            stale.append(f"{name} ({path.name})")
    return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the committed tables agree")
    parser.add_argument("--voice", type=Path, default=VOICE, help="the voice folder (default: the shipped voice)")
    args = parser.parse_args()
    if args.check:
        stale = stale_tables(args.voice)
        for name in stale:
            print(f"stale table: {name}; run python recipes/voice_tables.py", file=sys.stderr)
        return 1 if stale else 0
    evaluation, card = load(args.voice)
    for name, path in DOCUMENTS.items():
        text = path.read_text(encoding="utf-8")
        updated = replace_table(text, name, TABLES[name](evaluation, card))
        if updated != text:
            path.write_text(updated, encoding="utf-8")
            print(f"wrote the {name} table in {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
