"""One module per CLI command. Each defines ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.

Command modules import only argparse-level code at the top, so ``wavetron --help`` is fast;
heavy imports (torch, librosa) happen inside ``run``.
"""
import argparse

# Command name -> module name in this package, in the order `wavetron --help` lists them.
COMMANDS: dict[str, str] = {
    "corpus": "corpus",
    "preprocess": "preprocess",
    "train": "train",
    "gta": "gta",
    "evaluate": "evaluate",
    "synth": "synth",
    "serve": "serve",
    "vocode": "vocode",
    "tune": "tune",
    "export": "export",
}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The shared ``--config FILE`` and ``--set section.key=value`` options."""
    parser.add_argument("--config", metavar="FILE", help="YAML config (see configs/)")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                        help="override one setting, e.g. --set audio.n_mels=100 (repeatable)")
