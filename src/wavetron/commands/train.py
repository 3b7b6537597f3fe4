"""`wavetron train MODEL --data FEATURES --out RUN_DIR`: train a registered model.

One process: ``wavetron train wavenet --data feats --out runs/wn``.
Several processes or machines: the same arguments under torchrun, e.g.
``torchrun --standalone --nproc_per_node 4 -m wavetron train wavenet --data feats --out runs/wn``.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys

from . import add_config_arguments

HELP = "train a model (WaveNet, Tacotron, ...) on a features folder; resumable, DDP under torchrun"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a registered model name, e.g. wavenet or tacotron")
    parser.add_argument("--data", required=True, metavar="FEATURES", help="folder written by `wavetron preprocess`")
    parser.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder: config, logs, checkpoints")
    parser.add_argument("--resume", action="store_true", help="continue from the newest intact checkpoint in RUN_DIR")
    parser.add_argument("--init", metavar="CKPT", help="start from these weights (run folder, checkpoint or "
                        ".safetensors export of the same model); --resume's checkpoint takes precedence")
    parser.add_argument("--seed", type=int, help="random seed (same as --set train.seed=N)")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..signals import STOP, Interrupted

    quiet = os.environ.get("RANK", "0") != "0"  # under torchrun, rank 0 speaks for the job
    # First of all: a SIGINT/SIGTERM during the imports and the start-up below ends the command at once.
    with STOP.installed_for():
        try:
            result = _train(args)
        except Interrupted as stop:
            if not quiet:
                print(f"wavetron train: stopped by {stop.name} before the first training step; nothing was "
                      f"saved{' (the run is as it was)' if args.resume else ''}", file=sys.stderr)
            return 128 + stop.signum
    if result.stopped_by is not None:
        name = signal.Signals(result.stopped_by).name
        if not quiet:
            print(f"wavetron train: stopped by {name} at step {result.step}; continue with --resume",
                  file=sys.stderr)
        return 128 + int(result.stopped_by)  # what a shell reports for a signal, so job schedulers can requeue
    best = (f", best validation loss {result.best_loss:.5g} at step {result.best_step}"
            if result.best_loss is not None else "")
    if not quiet:
        from pathlib import Path

        model = Path(args.out) / "model.safetensors"
        print(f"wavetron train: finished at step {result.step}{best}; model in {model}", file=sys.stderr)
    return 0


def _train(args: argparse.Namespace):
    from pathlib import Path

    from ..config import load_config
    from ..errors import DataError
    from ..train import train

    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    config = load_config(args.config, overrides)
    if not Path(args.data).exists():
        raise DataError(f"{args.data}: features folder not found (run `wavetron preprocess` first)")
    return train(args.model, args.data, args.out, config, resume=args.resume, init=args.init)
