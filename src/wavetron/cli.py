"""`wavetron <command>`: the command-line entry point.

Errors caused by input (missing files, bad configs, non-audio files) print one line and exit 2;
``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from . import __version__
from .commands import COMMANDS
from .errors import WavetronError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wavetron", description="Neural audio generation with WaveNet and Tacotron.")
    parser.add_argument("--version", action="version", version=f"wavetron {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f".commands.{module_name}", __package__)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks of errors")
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    debug = getattr(args, "debug", False)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("wavetron: interrupted", file=sys.stderr)
        return 130
    except (WavetronError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as err:
        if debug:
            raise
        print(f"wavetron {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.filename}: {err.strerror or err}"
    return " ".join(str(err).split())
