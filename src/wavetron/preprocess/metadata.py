"""LJSpeech-format metadata: ``metadata.csv`` lines of ``id|text[|normalized_text[|speaker]]``.

The file is split on ``|`` only, never parsed as CSV: LJSpeech texts hold unbalanced quotes
that a CSV reader would join across lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError

DEFAULT_SPEAKER = "default"  # the speaker of lines without a 4th column


@dataclass(frozen=True)
class MetadataEntry:
    """One usable metadata line."""

    id: str
    text: str
    normalized_text: str  # the 3rd column, or the text when there is none
    speaker: str
    line: int  # 1-based line number in metadata.csv, for messages


@dataclass(frozen=True)
class BadItem:
    """An item (or metadata line) that was skipped, and why."""

    where: str  # the item id, or "metadata.csv:LINE" when no id could be read
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def find_metadata(data_dir: str | Path) -> Path:
    """The ``metadata.csv`` of an LJSpeech-format folder; a one-line DataError when it is missing."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise DataError(f"{data_dir}: dataset folder not found")
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: expected a dataset folder (metadata.csv + wavs/), got a file")
    path = data_dir / "metadata.csv"
    if not path.is_file():
        raise DataError(f"{path}: metadata file not found (expected id|text|normalized_text lines)")
    return path


def read_metadata(path: str | Path) -> tuple[list[MetadataEntry], list[BadItem]]:
    """Parse ``metadata.csv``; malformed lines are returned as bad items, not raised.

    Accepted forms: ``id|text``, ``id|text|normalized_text`` and ``id|text|normalized_text|speaker``
    (an empty normalized_text falls back to the text). Blank lines are ignored.

    Returns:
        (entries in file order, bad lines)
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    try:
        lines = raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        bad = raw[err.start:err.end].hex(" ")
        raise DataError(f"{path}: line {line}, column {column}: not UTF-8 text (byte 0x{bad} at offset {err.start}); "
                        "save the file as UTF-8") from None

    entries: list[MetadataEntry] = []
    bad: list[BadItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = [part.strip() for part in line.split("|")]
        item_id = fields[0]
        problem = _check_fields(fields, item_id)
        if problem is None and item_id in seen:
            problem = "duplicate id"
        if problem is not None:
            if _plain_name(item_id):
                bad.append(BadItem(item_id, f"{path.name} line {number}: {problem}"))
            else:  # no usable id to name the item by
                bad.append(BadItem(f"{path.name}:{number}", problem))
            continue
        seen.add(item_id)
        text = fields[1]
        normalized = fields[2] if len(fields) > 2 and fields[2] else text
        speaker = fields[3] if len(fields) > 3 else DEFAULT_SPEAKER
        entries.append(MetadataEntry(item_id, text, normalized, speaker, number))
    return entries, bad


def _check_fields(fields: list[str], item_id: str) -> str | None:
    """Why a split line is unusable, or None."""
    if len(fields) < 2:
        return "missing field: expected id|text[|normalized_text[|speaker]], got 1 field"
    if len(fields) > 4:
        return f"expected at most 4 fields id|text|normalized_text|speaker, got {len(fields)}"
    if not item_id:
        return "missing field: empty id"
    if not _plain_name(item_id):
        return f"id {item_id!r} must be a plain file name (no '/', '\\' or leading '.')"
    if not fields[1] and not (len(fields) > 2 and fields[2]):
        return "missing field: empty text"
    if len(fields) == 4 and not fields[3]:
        return "missing field: empty speaker"
    return None


def _plain_name(item_id: str) -> bool:
    """Ids become file names under mels/ and audio/, so they must not leave those folders."""
    return bool(item_id) and "/" not in item_id and "\\" not in item_id and not item_id.startswith(".")
