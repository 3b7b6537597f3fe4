"""Where a Tacotron loses words: its recogniser errors by kind, beside the recordings' and its teacher-forced mels'.

    python recipes/tacotron_errors.py WORK [--sentences FILE ...] [--voice DIR] [--tacotron CKPT] [--name NAME]
                                      [--asr whisper|pocketsphinx|both] [--limit N]

WORK either holds ``features/`` already (``recipes/default_voice.sh``'s WORK_DIR: its validation items are
the sentences, or all its items when it has no validation split), or is made here from ``--sentences`` files of one sentence a line (``recipes/sentences/``):
festival, the voice's teacher, speaks each into ``WORK/corpus`` and the voice's feature settings
(``--features-config``) preprocess it into ``WORK/features``, every item then a test sentence.

Four systems, each a folder of wavs in ``WORK/errors/NAME``, the last three through the same vocoder, the
voice's mel -> linear network and Griffin-Lim (what the shipped voice speaks through):

- ``reference``: the recordings as the models see them (trimmed, peak-normalised);
- ``copy``: the recordings' own mels: what the vocoder alone loses;
- ``gta``: the Tacotron's teacher-forced mels (``wavetron gta``): what the model loses when fed the truth;
- ``tts``: its free-running mels, as ``wavetron synth`` speaks. ``tts`` against ``gta`` is exposure bias;
  ``gta`` against ``copy`` is the model's capacity or its loss.

Every system is scored by ``wavetron evaluate`` (MCD-DTW, F0 and the recogniser's transcripts), and
``errors.md`` tabulates, per 100 words of text, the words each system loses (deletions), adds (insertions)
and changes (substitutions, split by their phonemes into consonant-only, vowel-only, homophones and other),
the errors the recordings do not make, WER by sentence length, the duration against the recordings', and
every sentence with an attention failure: the decoder's stop never fired, two or more words in a row
skipped, or a word repeated, where the recordings' transcript has them right. Wavs and reports already
written are kept, so an interrupted run resumes.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import soundfile

from evaluate_voice import copy_synthesize, score, synthesize, write_references
from wavetron.config import load_config
from wavetron.corpus import festival
from wavetron.corpus.worker import Item, run_group
from wavetron.data import FeatureSet
from wavetron.io import atomic_write_text
from wavetron.preprocess.gta import write_gta_features
from wavetron.preprocess.run import preprocess
from wavetron.synth import Synthesizer
from wavetron.text.normalize import normalize_text
from wavetron.text.phonemes import phonemize
from wavetron.voice import MEL2LINEAR_FILE, default_voice

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("copy", "gta", "tts")
METRICS = {"copy": "mcd,wer", "gta": "mcd,f0,wer", "tts": "mcd,f0,wer,wer_ref"}
BUCKETS = ((1, 10), (11, 20), (21, 10 ** 6))  # sentence lengths in words
VOWELS = set("aeiouyæɑɒɔəɘɛɜɞɪʊʌɐɚɝøœɤɯɨʉᵻ")
MARKS = set("ˈˌːˑ-_ ")
SUBSTITUTIONS = ("consonant", "vowel", "homophone", "other")


def build_corpus(work: Path, sentence_files: list[Path], features_config: Path) -> None:
    """``work/corpus`` (festival's recordings of the sentences) and ``work/features``, unless already there."""
    corpus = work / "corpus"
    (corpus / "wavs").mkdir(parents=True, exist_ok=True)
    festival.check_voice()
    config = load_config(features_config, ["data.validation_size=0"])
    texts = [(path.stem, text.strip()) for path in sentence_files for text in path.read_text().splitlines()
             if text.strip()]
    items = [Item(id=f"{stem}-{index:03d}", text=text, normalized=normalize_text(text), speaker=festival.VOICE,
                  voice={}, seed=0) for index, (stem, text) in enumerate(texts, 1)]
    # The corpus builder's own worker: wavs already there are kept, silence is refused.
    results = run_group((items, "festival", str(corpus / "wavs"), config.audio.sample_rate))
    failed = {result.id: result.error for result in results if result.error}
    for item_id, error in failed.items():
        print(f"skipped {item_id}: {error}", file=sys.stderr)
    atomic_write_text(corpus / "metadata.csv",
                      "".join(item.metadata_line(False) for item in items if item.id not in failed))
    if not (work / "features" / "manifest.json").exists():
        preprocess(corpus, work / "features", config, workers=1, progress=False)


def word_chunks(reference: str, hypothesis: str) -> list:
    """jiwer's alignment of the two normalised transcripts (chunks of equal/substitute/delete/insert)."""
    import jiwer

    if not hypothesis.strip():  # nothing heard: every word lost
        return [SimpleNamespace(type="delete", ref_start_idx=0, ref_end_idx=len(reference.split()),
                                hyp_start_idx=0, hyp_end_idx=0)]
    return jiwer.process_words(reference, hypothesis).alignments[0]


def _skeletons(ipa: str) -> tuple[str, str]:
    letters = [c for c in ipa if c not in MARKS]
    return ("".join(c for c in letters if c not in VOWELS), "".join(c for c in letters if c in VOWELS))


def substitution_kind(ipa_ref: str, ipa_hyp: str) -> str:
    """``homophone`` (the same phonemes, another spelling), ``vowel`` (the consonants agree), ``consonant``
    (the vowels agree) or ``other``."""
    consonants_ref, vowels_ref = _skeletons(ipa_ref)
    consonants_hyp, vowels_hyp = _skeletons(ipa_hyp)
    if (consonants_ref, vowels_ref) == (consonants_hyp, vowels_hyp):
        return "homophone"
    if consonants_ref == consonants_hyp:
        return "vowel"
    if vowels_ref == vowels_hyp:
        return "consonant"
    return "other"


class Phonemes:
    """IPA of single words through the voice's own front end (espeak-ng), cached."""

    def __init__(self, language: str) -> None:
        self.language, self.cache = language, {}

    def __call__(self, words: list[str]) -> list[str]:
        missing = sorted({w for w in words if w not in self.cache})
        if missing:
            self.cache.update(zip(missing, phonemize(missing, self.language)))
        return [self.cache[w] for w in words]


def sentence_errors(text: str, hypothesis: str, reference_hypothesis: str, phonemes: Phonemes) -> dict:
    """Counts of one sentence's errors by kind, and its attention failures, against what the recogniser made
    of the recording (``reference_hypothesis``)."""
    ref_words, hyp_words = text.split(), hypothesis.split()
    heard_in_recording = _heard(text, reference_hypothesis)
    counts = {"words": len(ref_words), "deletions": 0, "insertions": 0, "not_in_recording": 0,
              "skips": 0, "repeats": 0} | {kind: 0 for kind in SUBSTITUTIONS}
    chunks = word_chunks(text, hypothesis)
    for chunk in chunks:
        refs = ref_words[chunk.ref_start_idx:chunk.ref_end_idx]
        if chunk.type == "equal":
            continue
        if chunk.type == "delete":
            counts["deletions"] += len(refs)
            heard = sum(heard_in_recording[chunk.ref_start_idx:chunk.ref_end_idx])
            counts["skips"] += int(len(refs) >= 2 and heard >= 2)
        elif chunk.type == "insert":
            added = hyp_words[chunk.hyp_start_idx:chunk.hyp_end_idx]
            counts["insertions"] += len(added)
            before = hyp_words[max(0, chunk.hyp_start_idx - len(added)):chunk.hyp_start_idx]
            after = hyp_words[chunk.hyp_end_idx:chunk.hyp_end_idx + len(added)]
            counts["repeats"] += int(added in (before, after))
        else:
            hyps = hyp_words[chunk.hyp_start_idx:chunk.hyp_end_idx]
            for ipa_ref, ipa_hyp in zip(phonemes(refs), phonemes(hyps)):
                counts[substitution_kind(ipa_ref, ipa_hyp)] += 1
    heard = _heard(text, hypothesis, chunks)
    counts["not_in_recording"] = sum(h and not w for w, h in zip(heard, heard_in_recording))
    return counts


def _heard(text: str, hypothesis: str, chunks: list | None = None) -> list[bool]:
    """For each word of ``text``, whether the recogniser's ``hypothesis`` has it right."""
    heard = [False] * len(text.split())
    for chunk in chunks or word_chunks(text, hypothesis):
        if chunk.type == "equal":
            heard[chunk.ref_start_idx:chunk.ref_end_idx] = [True] * (chunk.ref_end_idx - chunk.ref_start_idx)
    return heard


def tabulate(out: Path, asr_key: str, language: str, stopped: dict, systems=SYSTEMS) -> dict:
    """Per system: error counts per 100 words, WER by sentence length, duration ratio, MCD/F0 and the
    sentences with an attention failure, from the systems' ``wavetron evaluate`` reports."""
    phonemes = Phonemes(language)
    # What the recogniser made of each recording: the tts report's wer_ref transcripts.
    recordings = {pair["name"]: pair.get("transcripts", {}).get("ref" + asr_key, "")
                  for pair in json.loads((out / "tts.json").read_text())["pairs"]}
    table = {}
    for system in systems:
        report = json.loads((out / f"{system}.json").read_text())
        totals, buckets, ratios, failures = {}, {b: [0, 0.0] for b in BUCKETS}, [], []
        for pair in report["pairs"]:
            transcripts = pair.get("transcripts", {})
            hyp_key = "gen" + asr_key
            if hyp_key not in transcripts:
                continue
            counts = sentence_errors(transcripts["text"], transcripts[hyp_key], recordings.get(pair["name"], ""),
                                     phonemes)
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            errors = counts["deletions"] + counts["insertions"] + sum(counts[k] for k in SUBSTITUTIONS)
            for low, high in BUCKETS:
                if low <= counts["words"] <= high:
                    buckets[(low, high)][0] += counts["words"]
                    buckets[(low, high)][1] += errors
            ratios.append(soundfile.info(pair["gen"]).duration / soundfile.info(pair["ref"]).duration)
            not_stopped = system == "tts" and not stopped.get(pair["name"], 1.0)
            if counts["skips"] or counts["repeats"] or not_stopped:
                failures.append({"id": pair["name"], "skips": counts["skips"], "repeats": counts["repeats"],
                                 "stopped": not not_stopped, "heard": transcripts[hyp_key]})
        words = totals.get("words", 0)
        table[system] = {
            "sentences": len(ratios), "words": words,
            "per_100_words": {k: 100 * v / words for k, v in totals.items() if k != "words"} if words else {},
            "wer_by_length": {f"{low}-{high}" if high < 10 ** 6 else f"{low}+": (e / n if n else None)
                              for (low, high), (n, e) in buckets.items()},
            "duration_ratio": {"median": statistics.median(ratios), "p10": float(np.percentile(ratios, 10)),
                               "p90": float(np.percentile(ratios, 90))} if ratios else {},
            "means": report["mean"], "failures": failures}
    return table


def markdown(table: dict, asr_name: str, asr_key: str, name: str) -> str:
    systems = [s for s in SYSTEMS if s in table]
    rows = ["deletions", "insertions", *SUBSTITUTIONS, "not_in_recording", "skips", "repeats"]
    tts = table["tts"]
    recordings = tts["means"].get("wer_ref" + asr_key)
    lines = [f"Tacotron {name}: {tts['sentences']} sentences, {tts['words']} words; recogniser {asr_name}.", "",
             "| per 100 words | " + " | ".join(systems) + " |", "|---" * (len(systems) + 1) + "|",
             "| WER | " + " | ".join(f"{100 * table[s]['means'].get('wer' + asr_key, float('nan')):.1f}"
                                    for s in systems) + " |"]
    for row in rows:
        lines.append(f"| {row.replace('_', ' ')} | " + " | ".join(
            f"{table[s]['per_100_words'].get(row, 0.0):.1f}" for s in systems) + " |")
    for bucket in tts["wer_by_length"]:
        lines.append(f"| WER, {bucket} words | " + " | ".join(
            "" if table[s]["wer_by_length"][bucket] is None else f"{100 * table[s]['wer_by_length'][bucket]:.1f}"
            for s in systems) + " |")
    lines.append("| duration / recording (median) | " + " | ".join(
        f"{table[s]['duration_ratio'].get('median', float('nan')):.3f}" for s in systems) + " |")
    for key, label in (("mcd", "MCD-DTW dB"), ("f0_rmse_cents", "F0 RMSE cents")):
        lines.append(f"| {label} | " + " | ".join(
            f"{table[s]['means'][key]:.2f}" if key in table[s]["means"] else "" for s in systems) + " |")
    lines += ["", f"The recordings' own WER: {100 * recordings:.1f}." if recordings is not None else "",
              "'not in recording': words the system gets wrong that the recogniser gets right in the recording.",
              "", f"Attention failures (free-running): {len(tts['failures'])}"]
    for failure in tts["failures"]:
        lines.append(f"- {failure['id']}: stop {'fired' if failure['stopped'] else 'never fired'}, "
                     f"{failure['skips']} skip(s), {failure['repeats']} repeat(s); heard: {failure['heard']!r}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="folder with features/, or to build from --sentences")
    parser.add_argument("--sentences", type=Path, nargs="+", help="text files, one sentence a line")
    parser.add_argument("--features-config", type=Path, default=ROOT / "configs" / "voice-features.yaml",
                        help="audio and text settings of the features built from --sentences")
    parser.add_argument("--voice", type=Path, help="voice folder (default: the shipped voice)")
    parser.add_argument("--tacotron", type=Path, help="a Tacotron run, checkpoint or export in place of the voice's")
    parser.add_argument("--name", default="shipped", help="results go to WORK/errors/NAME (default shipped)")
    parser.add_argument("--asr", choices=("pocketsphinx", "whisper", "both"), default="whisper")
    parser.add_argument("--asr-model", type=Path, help="Whisper's CTranslate2 model folder (default tiny.en)")
    parser.add_argument("--limit", type=int, help="only the first N sentences")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="comma-separated, of copy, gta, tts (default all; tts is always measured)")
    args = parser.parse_args()
    voice = default_voice(args.voice) if args.voice else default_voice()
    tacotron = args.tacotron or voice.tacotron
    mel2linear = voice.tacotron.parent / MEL2LINEAR_FILE
    if not mel2linear.is_file():
        parser.error(f"{mel2linear}: the voice has no mel -> linear network")
    if args.sentences:
        build_corpus(args.work, args.sentences, args.features_config)
    elif not (args.work / "features" / "manifest.json").is_file():
        parser.error(f"{args.work / 'features'}: no features folder; pass --sentences to build one")
    features = FeatureSet(args.work / "features")
    # A folder made from --sentences has no validation split: all of it is the test set.
    items = (features.items("val") or features.items())[: args.limit]
    out = args.work / "errors" / args.name
    write_references(features, items, out / "reference")

    systems = [s for s in SYSTEMS if s in args.systems.split(",") or s == "tts"]
    synthesizer = Synthesizer(tacotron=tacotron, vocoder=None, mel2linear=mel2linear)
    synthesize(synthesizer, items, out / "tts")
    stopped = {k: v["stopped"] for k, v in json.loads((out / "tts" / "timing.json").read_text())["alignment"].items()}
    if "copy" in systems:
        copy_synthesize(features, items, out / "copy", None, 1, synthesizer.mel2linear)
    if "gta" in systems:
        write_gta_features(tacotron, features.root, out / "gta-features", progress=False)
        gta = FeatureSet(out / "gta-features")
        gta_items = {item.id: item for item in gta.items()}
        copy_synthesize(gta, [gta_items[item.id] for item in items], out / "gta", None, 1, synthesizer.mel2linear)
    for system in sorted(systems, reverse=True):  # tts first: it also scores the recordings (wer_ref)
        score(out, system, METRICS[system], args.asr, args.asr_model, None)

    text, tables = [], {}
    for asr, described in json.loads((out / "tts.json").read_text())["asr"].items():  # as wavetron evaluate keys them
        suffix = described["keys_suffix"]
        tables[asr] = tabulate(out, suffix, synthesizer.text_config.language, stopped, systems)
        text.append(markdown(tables[asr], asr, suffix, args.name))
    atomic_write_text(out / "errors.json", json.dumps(tables, indent=1) + "\n")
    atomic_write_text(out / "errors.md", "\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    sys.exit(main())
