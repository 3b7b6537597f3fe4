"""`wavetron preprocess DATA_DIR OUT_DIR`: an LJSpeech-format dataset -> mels, audio and a manifest."""
from __future__ import annotations

import argparse

from . import add_config_arguments

HELP = "compute features (log-mels, processed audio, token ids) of an LJSpeech-format dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR", help="folder with metadata.csv and wavs/<id>.wav")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="features folder to write (new or empty)")
    add_config_arguments(parser)
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in OUT_DIR: items already written are kept")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="worker processes (default: one per CPU core, at most one per 32 items)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..errors import ConfigError
    from ..preprocess import preprocess

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers: expected a positive integer, got {args.workers}")
    config = load_config(args.config, args.overrides)
    result = preprocess(args.data_dir, args.out_dir, config, resume=args.resume, workers=args.workers,
                        progress=not args.quiet)
    splits = {"train": 0, "val": 0}
    for item in result.items:
        splits[item["split"]] += 1
    print(f"{result.out_dir}: {splits['train']} train + {splits['val']} val items "
          f"({len(result.computed)} computed, {len(result.reused)} reused, {len(result.bad)} skipped)")
    return 0
