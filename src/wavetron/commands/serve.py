"""`wavetron serve [--host 127.0.0.1] [--port 5002] [--voice NAME=PATH ...] [--wyoming tcp://HOST:PORT]`:
text to speech over HTTP (OpenAI's speech API, Coqui/piper's /api/tts, a web page) and Wyoming.
"""
from __future__ import annotations

import argparse
import os

HELP = "serve text to speech over HTTP (OpenAI-compatible, streaming, web page) and Wyoming (Home Assistant)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=5002, help="HTTP port (default 5002; 0: any free port)")
    parser.add_argument("--voice", metavar="NAME=PATH", action="append", default=[],
                        help="also load a voice: a folder like the shipped one (tacotron.safetensors, "
                             "vocoder.safetensors, voice.json) or a Tacotron checkpoint (Griffin-Lim); repeatable. "
                             "The shipped voice is always loaded, as 'default'")
    parser.add_argument("--workers", type=int, default=1, help="synthesis threads (default 1)")
    parser.add_argument("--queue", type=int, default=8,
                        help="requests admitted beyond --workers to wait; more get 503 (default 8)")
    parser.add_argument("--max-chars", type=int, default=4096,
                        help="longest text accepted, in characters; longer gets 413 (default 4096)")
    parser.add_argument("--api-key", default=os.environ.get("WAVETRON_API_KEY"),
                        help="require Authorization: Bearer KEY on every endpoint but /health and the page "
                             "(default: $WAVETRON_API_KEY, else none)")
    parser.add_argument("--wyoming", metavar="URI",
                        help="also serve the Wyoming protocol at tcp://HOST:PORT (or unix://PATH)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="skip synthesising a word with each voice's default vocoder before listening")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"],
                        help="uvicorn's log level (default warning)")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..errors import ConfigError
    from ..serve.engine import DEFAULT_VOICE, Engine, load_voice, parse_voice_spec

    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
        if args.wyoming:
            import wyoming  # noqa: F401
    except ImportError as err:
        raise ConfigError(f"wavetron serve needs {err.name}: pip install 'wavetron[serve]'") from None
    if args.workers < 1 or args.queue < 0 or args.max_chars < 1:
        raise ConfigError("--workers and --max-chars must be >= 1, --queue >= 0")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port}: expected 0 to 65535")
    specs = [parse_voice_spec(spec) for spec in args.voice]
    names = [name for name, _ in specs]
    if DEFAULT_VOICE in names or len(set(names)) != len(names):
        raise ConfigError(f"--voice: each name must be new (and not {DEFAULT_VOICE!r}): {', '.join(names)}")
    if args.workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // args.workers))
    voices = {DEFAULT_VOICE: load_voice(DEFAULT_VOICE, None, args.device)}
    voices.update({name: load_voice(name, path, args.device) for name, path in specs})
    engine = Engine(voices, workers=args.workers, queue=args.queue)
    if not args.no_warm_up:
        engine.warm_up()
    from ..serve.app import ServeOptions
    from ..serve.server import serve

    try:
        asyncio.run(serve(engine, ServeOptions(max_chars=args.max_chars, api_key=args.api_key or None),
                          args.host, args.port, args.wyoming, args.log_level))
    except OSError as err:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}") from None
    return 0
