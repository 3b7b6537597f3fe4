"""`wavetron corpus OUT_DIR --size N`: build a synthetic speech dataset offline."""
from __future__ import annotations

import argparse
import sys

HELP = "build an LJSpeech-format speech dataset offline from generated sentences (espeak-ng or festival)"

_EPILOG = """\
OUT_DIR gets metadata.csv (id|text|normalized_text, plus a speaker column when --speakers > 1),
wavs/<id>.wav (16-bit mono) and corpus.json (the settings). The same --seed gives the same
sentences and the same audio bytes.

Resuming: running the command again on a folder holding a corpus of the same --size, --seed,
--engine, --speakers and --sample-rate resumes it, keeping the wavs already written. A non-empty
folder that is not such a corpus is refused.

Engines: espeak (default; espeak-ng from the espeakng-loader package, many voices) and festival
(text2wave with the cmu_us_slt_arctic_hts voice, one speaker; apt-get install festival festvox-us-slt-hts).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    parser.add_argument("out_dir", metavar="OUT_DIR", help="dataset folder to create (or resume)")
    parser.add_argument("--size", type=int, required=True, metavar="N", help="number of sentences")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="sentence and voice seed (default 0)")
    parser.add_argument("--engine", default="espeak", metavar="NAME", help="espeak (default) or festival")
    parser.add_argument("--speakers", type=int, default=1, metavar="K",
                        help="distinct voices, assigned in turn (espeak only; default 1)")
    parser.add_argument("--workers", type=int, default=None, metavar="W",
                        help="parallel processes (default: CPU count)")
    parser.add_argument("--sample-rate", type=int, default=22050, metavar="HZ",
                        help="sample rate of the wavs (default 22050, espeak-ng's own)")
    parser.add_argument("--style", default="grammar", choices=("grammar", "everyday"),
                        help="grammar (default): the sentence grammar; everyday: pronouns, function words and "
                             "household words too, in everyday frames (ids WE...), to merge with a grammar corpus")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..corpus import build_corpus

    report = build_corpus(args.out_dir, size=args.size, seed=args.seed, engine=args.engine,
                          speakers=args.speakers, workers=args.workers, sample_rate=args.sample_rate,
                          progress=not args.quiet, style=args.style)
    for item_id, reason in report.failed:
        print(f"wavetron corpus: skipped {item_id}: {reason}", file=sys.stderr)
    print(f"{report.path}: {report.items} items ({report.written} written, {report.reused} kept), "
          f"{report.audio_seconds / 60:.1f} min of audio in {report.seconds:.1f} s")
    return 1 if report.failed else 0
