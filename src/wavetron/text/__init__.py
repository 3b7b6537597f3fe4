"""Text front end: English normalisation, then characters or IPA phonemes, then symbol ids."""
from __future__ import annotations

from .normalize import UnknownCharacterWarning, normalize_text

__all__ = ["UnknownCharacterWarning", "normalize_text"]
