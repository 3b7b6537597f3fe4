"""Offline speech corpora: generated sentences spoken by espeak-ng or festival, in LJSpeech format.

    >>> from wavetron.corpus import build_corpus
    >>> report = build_corpus("data/synth", size=200, seed=0, engine="espeak")  # doctest: +SKIP
    >>> report.items, report.audio_seconds  # doctest: +SKIP
"""
from __future__ import annotations

from .builder import ENGINES, METADATA, CorpusReport, build_corpus, plan_items
from .sentences import generate_sentences

__all__ = ["ENGINES", "METADATA", "CorpusReport", "build_corpus", "generate_sentences", "plan_items"]
