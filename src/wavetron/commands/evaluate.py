"""`wavetron evaluate REF GEN`: how close generated audio is to real audio, and how intelligible."""
from __future__ import annotations

import argparse
import sys

HELP = "score generated audio against real audio (MCD-DTW, F0, LSD, MR-STFT, mel L1, PESQ, STOI, WER)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="reference audio file, or a folder of them")
    parser.add_argument("gen", metavar="GEN", help="generated audio file, or a folder paired with REF by file name")
    parser.add_argument("--text", metavar="CSV", help="LJSpeech metadata.csv with the text of each file (for WER); "
                                                     "else a sidecar NAME.txt beside REF or GEN is used")
    parser.add_argument("--metrics", metavar="LIST",
                        help="comma-separated subset of mcd,f0,lsd,mrstft,mel_l1,pesq,stoi,wer,wer_ref, or 'all' "
                             "(default: all but wer_ref)")
    parser.add_argument("--json", metavar="FILE", help="write per-file and mean values as JSON")
    parser.add_argument("--plot", metavar="DIR", help="write NAME.png with REF and GEN mel spectrograms side by side")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import DataError
    from ..evaluate import attach_texts, evaluate, format_table, load_pair, pair_files, parse_metrics, write_json

    metrics = parse_metrics(args.metrics)
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

    report = evaluate(pairing, metrics)
    for result in report.results:
        for note in result.notes:
            print(f"note: {result.name}: {note}", file=sys.stderr)
        for metric, error in result.errors.items():
            print(f"warning: {result.name}: {metric}: {error}", file=sys.stderr)
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
            plot_mel_pair(ref, gen, rate, Path(args.plot) / f"{result.name}.png", title=result.name)
        print(f"wrote {len(report.results)} plots to {args.plot}", file=sys.stderr)
    if not report.results:
        raise DataError(f"no pair could be evaluated ({len(report.skipped)} skipped)")
    return 0
