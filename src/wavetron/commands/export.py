"""`wavetron export RUN --out model.safetensors [--dtype float16]`: one file holding a trained model."""
from __future__ import annotations

import argparse

HELP = "export a run's newest (or a given) checkpoint as one .safetensors file with its config"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CKPT", help="run folder (newest intact checkpoint) or step-N folder")
    parser.add_argument("--out", required=True, metavar="FILE", help="the .safetensors file to write")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"],
                        help="storage type of the weights (half types halve the file; default float32)")
    parser.add_argument("--no-ema", action="store_true", help="export the raw weights, not their EMA")


def run(args: argparse.Namespace) -> int:
    import sys

    from ..train.checkpoint import read_export_metadata
    from ..train.export import export_model

    path = export_model(args.checkpoint, args.out, use_ema=not args.no_ema, dtype=args.dtype)
    meta = read_export_metadata(path)
    size = path.stat().st_size / 2**20
    print(f"wavetron export: {meta['model_name']} step {meta['step']} "
          f"({meta['weights']} weights, {args.dtype}) -> {path} ({size:.1f} MiB)", file=sys.stderr)
    return 0
