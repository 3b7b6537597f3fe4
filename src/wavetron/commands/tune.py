"""`wavetron tune MODEL --data FEATURES --out STUDY_DIR --trials N`: search training settings with Optuna.

Every trial trains MODEL through the training engine with settings drawn from a search space
(``--space``, default ``configs/tune/MODEL.yaml``) for a budget of ``--steps`` or
``--budget-minutes``, and is pruned when its validation metric falls behind. ``--trials`` is the
study's total: run the same command again to resume, or in several shells (or on several machines
with ``--storage``) to share the work.
"""
from __future__ import annotations

import argparse
import sys

from . import add_config_arguments

HELP = "search optimiser and model settings with Optuna; writes the best config as a preset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a registered model name, e.g. tacotron or wavenet")
    parser.add_argument("--data", required=True, metavar="FEATURES", help="folder written by `wavetron preprocess`")
    parser.add_argument("--out", required=True, metavar="STUDY_DIR",
                        help="study folder: study.db, trials/NNNN, best.yaml, trials.csv, plots")
    parser.add_argument("--trials", required=True, type=int, metavar="N",
                        help="trials in the study in total (a resumed study runs only the missing ones)")
    parser.add_argument("--steps", type=int, metavar="N", help="training steps per trial")
    parser.add_argument("--budget-minutes", type=float, metavar="M",
                        help="minutes of training per trial (checked at each validation)")
    parser.add_argument("--report-every", type=int, metavar="N",
                        help="steps between validations (reports to the pruner); default: a fifth of --steps, else 25")
    parser.add_argument("--space", metavar="FILE", help="search space YAML (default: configs/tune/MODEL.yaml)")
    parser.add_argument("--metric", metavar="KEY",
                        help="validation metric to optimise: loss, mel/l1, align/focus, infer/focus ... "
                             "(default: mel/l1 for tacotron, loss for other models)")
    parser.add_argument("--direction", choices=("minimize", "maximize"),
                        help="default: maximize focus/diagonality/coverage/stopped scores, minimize the rest")
    parser.add_argument("--pruner", choices=("median", "hyperband", "none"), default="median",
                        help="stop trials that fall behind at a report (default: median)")
    parser.add_argument("--storage", metavar="URL",
                        help="Optuna storage shared by several workers, e.g. postgresql://user@host/db "
                             "(default: sqlite:///STUDY_DIR/study.db)")
    parser.add_argument("--study-name", default="wavetron", metavar="NAME", help="study name in the storage")
    parser.add_argument("--seed", type=int, help="seed of the sampler (trials train with train.seed)")
    parser.add_argument("--no-base-trial", action="store_true",
                        help="do not run the base config as the first trial of a new study")
    parser.add_argument("--keep-checkpoints", action="store_true", help="keep each trial's checkpoints")
    add_config_arguments(parser)


def default_space(model: str):
    """``configs/tune/MODEL.yaml`` (Tacotron 1 and 2 share ``tacotron.yaml``) of the wavetron checkout."""
    from pathlib import Path

    from ..errors import ConfigError

    name = "tacotron" if model.startswith("tacotron") else model
    path = Path(__file__).resolve().parents[3] / "configs" / "tune" / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"no default search space for '{model}' ({path}); pass --space FILE")
    return path


def run(args: argparse.Namespace) -> int:
    import signal

    from ..signals import STOP

    # First of all: a SIGINT/SIGTERM at any moment from here on ends the study cleanly.
    with STOP.installed_for():
        try:
            return _tune(args)
        except KeyboardInterrupt:
            signum = STOP.signum or signal.SIGINT
            print(f"wavetron tune: stopped by {signal.Signals(signum).name}; run the same command to resume",
                  file=sys.stderr)
            return 128 + signum


def _tune(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..config import apply_overrides, read_yaml
    from ..errors import DataError
    from ..models.registry import get_model
    from ..tune.study import DEFAULT_METRICS
    from ..tune import TuneSettings, load_space, open_study, run_study, summary, write_outputs

    get_model(args.model)  # an unknown name fails before anything is written
    base = apply_overrides(read_yaml(args.config) if args.config else {}, args.overrides)
    notes: list[str] = []
    space = load_space(args.space or default_space(args.model), base, notes)
    for note in notes:
        print(f"wavetron tune: {note}", file=sys.stderr)
    if not Path(args.data).exists():
        raise DataError(f"{args.data}: features folder not found (run `wavetron preprocess` first)")
    report_every = args.report_every or (max(args.steps // 5, 1) if args.steps else 25)
    settings = TuneSettings(model=args.model, features=Path(args.data), out=Path(args.out), trials=args.trials,
                            base=base, space=space, steps=args.steps, minutes=args.budget_minutes,
                            report_every=report_every, metric=args.metric or DEFAULT_METRICS.get(args.model, "loss"),
                            direction=args.direction, pruner=args.pruner, storage=args.storage,
                            study_name=args.study_name, seed=args.seed, base_trial=not args.no_base_trial,
                            keep_checkpoints=args.keep_checkpoints)
    study = open_study(settings)
    try:
        run_study(settings, study)
    finally:  # also after a signal: the table, the best preset and the plots of what has finished
        for note in write_outputs(study, settings):
            print(f"wavetron tune: {note}", file=sys.stderr)
    print(f"wavetron tune: {summary(study, settings)}; preset {Path(args.out) / 'best.yaml'}", file=sys.stderr)
    return 0
