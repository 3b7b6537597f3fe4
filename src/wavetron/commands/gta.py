"""`wavetron gta TACOTRON FEATURES OUT_DIR`: a features folder of a Tacotron's ground-truth-aligned mels."""
from __future__ import annotations

import argparse

HELP = "write a Tacotron's teacher-forced (ground-truth-aligned) mels of a features folder, to train a vocoder on"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tacotron", metavar="TACOTRON", help="Tacotron run folder, checkpoint folder or .safetensors export")
    parser.add_argument("features", metavar="FEATURES", help="features folder the Tacotron was trained on")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="features folder to write (items already there are kept)")
    parser.add_argument("--batch-size", type=int, default=16, help="items per teacher-forced pass (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the prenet dropout (default 0)")
    parser.add_argument("--with-recordings", action="store_true",
                        help="also keep every item with its recorded mel, as ID-rec, to train a vocoder on both")
    parser.add_argument("--refine", metavar="MEL2LINEAR",
                        help="write the mel -> linear network's refined mel of each Tacotron mel (run folder, "
                             "checkpoint or export), for a WaveNet that speaks refined mels")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..preprocess.gta import write_gta_features

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size: expected a positive integer, got {args.batch_size}")
    done = write_gta_features(args.tacotron, args.features, args.out_dir, batch_size=args.batch_size,
                              seed=args.seed, progress=not args.quiet,
                              with_recordings=args.with_recordings, refine=args.refine)
    print(f"{args.out_dir}: {done} ground-truth-aligned mels written")
    return 0
